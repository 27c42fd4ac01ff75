import type { IncomingMessage } from 'node:http';
import type { EngineContext } from '../context.js';
import { badRequest } from '../errors.js';
import { readJsonBody } from '../http/body.js';
import { applyControlHeaders } from '../http/litellm-headers.js';
import type { ResponseWriter, StreamFraming } from '../http/response-writer.js';
import { dispatch } from '../router/dispatch.js';
import { contentText, estimateTokens } from '../tokens.js';
import type { EndpointKind, JsonObject, OpenAIChunk } from '../wire.js';

/** The field each endpoint cannot do without. */
const REQUIRED: Record<EndpointKind, string> = { chat: 'messages', completion: 'prompt', embedding: 'input' };

/**
 * POST /v1/chat/completions, /v1/completions, /v1/embeddings: parse once, validate the few fields
 * routing needs, dispatch, then write JSON or SSE. Everything else is forwarded as the client sent it.
 */
export async function handleOpenAI(
  kind: EndpointKind,
  ctx: EngineContext,
  req: IncomingMessage,
  w: ResponseWriter,
  /** the model named by the path (Azure's /openai/deployments/{model}/..., /engines/{model}/...): it wins */
  pathModel?: string,
): Promise<void> {
  const body = (w.body = await readJsonBody(req, ctx.maxRequestBytes));
  if (pathModel !== undefined) body.model = pathModel;
  const model = body.model;
  if (typeof model !== 'string' || model === '') {
    const missing = model === undefined || model === null || model === '';
    throw badRequest(
      missing ? 'Missing required parameter: "model".' : 'Invalid "model": expected a model name (a string).',
      'model',
      missing ? 'missing_required_parameter' : 'invalid_type',
    );
  }
  const need = REQUIRED[kind];
  const v = body[need];
  if (v === undefined || v === null || (kind === 'chat' && !Array.isArray(v))) {
    throw badRequest(
      v === undefined || v === null
        ? `Missing required parameter: "${need}".`
        : `Invalid "${need}": expected a list of messages.`,
      need,
      v === undefined || v === null ? 'missing_required_parameter' : 'invalid_type',
    );
  }
  if (kind === 'chat' && (v as unknown[]).length === 0)
    throw badRequest(
      'Invalid "messages": expected at least one message, got an empty list.',
      'messages',
      'invalid_value',
    );
  const st = body.stream;
  if (st !== undefined && st !== null && typeof st !== 'boolean')
    throw badRequest(`Invalid "stream": expected true or false, got ${JSON.stringify(st)}.`, 'stream', 'invalid_type');
  const stream = st === true && kind !== 'embedding';
  applyControlHeaders(body, req.headers);
  const admitted = w.admit(model, body, req.headers);
  if (admitted) await admitted;
  const outcome = await dispatch(ctx, w.route(kind, body, model, stream));
  if (outcome.type === 'json') return w.sendAnswer(outcome, outcome.raw ?? JSON.stringify(outcome.response));
  const so = body.stream_options as JsonObject | undefined;
  return w.sendStream(outcome, new OpenAIFraming(!!so && so.include_usage === true));
}

/**
 * OpenAI SSE: `data: {chunk}` per chunk, `data: [DONE]` at the end. Usage chunks reach only clients that
 * asked (`stream_options.include_usage`); when the upstream ignored that option, an estimated one is added.
 */
class OpenAIFraming implements StreamFraming {
  private sawUsage = false;
  private completion = 0;
  private last?: OpenAIChunk;

  constructor(private readonly includeUsage: boolean) {}

  start(): string {
    return '';
  }

  push(batch: OpenAIChunk[]): string {
    const includeUsage = this.includeUsage;
    let out = '';
    for (const c of batch) {
      if (c.usage !== undefined && c.usage !== null) {
        if (!includeUsage) {
          if (!Array.isArray(c.choices) || c.choices.length === 0) continue;
          delete c.usage;
        } else this.sawUsage = true;
      }
      if (includeUsage && !this.sawUsage) {
        this.last = c;
        for (const ch of (c.choices ?? []) as JsonObject[]) {
          const d = ch.delta as JsonObject | undefined;
          const t = d ? d.content : ch.text;
          if (typeof t === 'string' && t !== '') this.completion += estimateTokens(contentText(t));
        }
      }
      out += `data: ${JSON.stringify(c)}\n\n`;
    }
    return out;
  }

  finish(): string {
    const last = this.last;
    if (!this.includeUsage || this.sawUsage || !last) return 'data: [DONE]\n\n';
    // the upstream ignored stream_options: give the client the usage chunk it asked for, estimated
    const usage = { prompt_tokens: 0, completion_tokens: this.completion, total_tokens: this.completion };
    const chunk = { id: last.id, object: last.object, created: last.created, model: last.model, choices: [], usage };
    return `data: ${JSON.stringify(chunk)}\n\ndata: [DONE]\n\n`;
  }
}
