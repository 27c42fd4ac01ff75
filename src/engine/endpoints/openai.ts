import type { IncomingMessage } from 'node:http';
import { checkCacheControls } from '../cache/cache.js';
import { cachedEntry, hitOutcome, planCache } from '../cache/request.js';
import type { EngineContext } from '../context.js';
import { badRequest, toGatewayError } from '../errors.js';
import { readJsonBody } from '../http/body.js';
import { applyControlHeaders } from '../http/litellm-headers.js';
import { sendJson } from '../http/respond.js';
import type { ResponseWriter, StreamFraming } from '../http/response-writer.js';
import { redactError } from '../observability/logger.js';
import { dispatch } from '../router/dispatch.js';
import type { RouteTable } from '../router/table.js';
import { contentText, estimateTokens } from '../tokens.js';
import type { JsonObject, OpenAIChunk } from '../wire.js';

/** The field each endpoint cannot do without. */
const REQUIRED: Record<'chat' | 'completion' | 'embedding', string> = {
  chat: 'messages',
  completion: 'prompt',
  embedding: 'input',
};

/**
 * POST /v1/chat/completions, /v1/completions, /v1/embeddings: parse once, validate the few fields
 * routing needs, dispatch, then write JSON or SSE. Everything else is forwarded as the client sent it.
 */
export async function handleOpenAI(
  kind: 'chat' | 'completion' | 'embedding',
  ctx: EngineContext,
  req: IncomingMessage,
  w: ResponseWriter,
  /** the model named by the path (Azure's /openai/deployments/{model}/..., /engines/{model}/...): it wins */
  pathModel?: string,
): Promise<void> {
  const body = (w.body = await readJsonBody(req, ctx.maxRequestBytes));
  if (pathModel !== undefined) body.model = pathModel;
  const model = body.model;
  // several models at once (`"model": "a,b"`, or LiteLLM's older list form): one completion per model
  const batch = kind === 'chat' && pathModel === undefined ? batchModels(ctx.table, model) : undefined;
  if (!batch && (typeof model !== 'string' || model === '')) {
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
  if (batch) return sendBatch(ctx, req, w, body, batch, stream);
  // a key's allowed_cache_controls hold whether or not a cache is configured (as in LiteLLM)
  if (body.cache !== undefined) checkCacheControls(w.principal, body.cache);
  // checked above: without a batch, the model is a non-empty string
  const admitted = w.admit(model as string, body, req.headers);
  if (admitted) await admitted;
  const so = body.stream_options as JsonObject | undefined;
  const includeUsage = !!so && so.include_usage === true;
  // the response cache (only when configured: otherwise nothing is hashed or looked up)
  const call = ctx.cache && planCache(ctx, w, kind, kind, body, model as string);
  const got = cachedEntry(ctx, call);
  const entry = got instanceof Promise ? await got : got;
  if (entry) {
    const hit = hitOutcome(ctx, w, call!, entry, stream);
    if (hit.type === 'json') return w.sendAnswer(hit, entry.body);
    return w.sendStream(hit, new OpenAIFraming(includeUsage));
  }
  const outcome = await dispatch(ctx, w.route(kind, body, model as string, stream));
  if (outcome.type === 'json') {
    const text = outcome.raw ?? JSON.stringify(outcome.response);
    w.sendAnswer(outcome, text);
    // stored after the answer went out, and only when the client got it
    if (call?.write && !w.link.gone) ctx.cache!.storeAnswer(call, text, outcome.response);
    return;
  }
  const chunks = call?.write ? ctx.cache!.tee(call, outcome.chunks) : undefined;
  return w.sendStream(chunks ? { ...outcome, chunks } : outcome, new OpenAIFraming(includeUsage));
}

/** At most this many models in one batch request: each is a full call (retries, fallbacks) of its own. */
const MAX_BATCH_MODELS = 10;

/**
 * The models of a batch request: `"a,b"` (LiteLLM's comma-separated form) or `["a", "b"]`; undefined for one
 * model. A configured name that really holds a comma (a model group or alias) is one model, served normally.
 */
function batchModels(table: RouteTable, model: unknown): string[] | undefined {
  let list: unknown[];
  if (typeof model === 'string') {
    if (!model.includes(',') || table.groups.has(model) || table.aliases.has(model)) return undefined;
    list = model.split(',').map((m) => m.trim());
  } else if (Array.isArray(model) && model.length > 0) list = model;
  else return undefined;
  if (list.some((m) => typeof m !== 'string' || m === ''))
    throw badRequest(
      'Invalid "model": several models are given as "a,b" (or a list of names), none of them empty.',
      'model',
      'invalid_value',
    );
  if (list.length > MAX_BATCH_MODELS)
    throw badRequest(
      `Invalid "model": at most ${MAX_BATCH_MODELS} models in one request, got ${list.length}.`,
      'model',
      'invalid_value',
    );
  return list as string[];
}

/**
 * A batch request, as LiteLLM's batch completion: the same body sent to each model at once, each call going
 * through the normal dispatch (retries, fallbacks) and admission, and settling its own event (call id
 * `<request id>.<n>`); the answer is a JSON list with one completion per model, in the order asked, or that
 * model's error object (`{"error": {...}}`) in its place. Streams cannot be listed, so `stream: true` is a 400.
 */
async function sendBatch(
  ctx: EngineContext,
  req: IncomingMessage,
  w: ResponseWriter,
  body: JsonObject,
  models: string[],
  stream: boolean,
): Promise<void> {
  if (stream)
    throw badRequest(
      'Streaming is not supported with several models ("model": "a,b"): send one request per model, ' +
        'or leave out "stream".',
      'stream',
      'invalid_value',
    );
  if (body.fastest_response === true)
    throw badRequest(
      '"fastest_response" is not supported: several models return every answer, as a list.',
      'fastest_response',
      'unsupported_parameter',
    );
  const parts = await Promise.all(
    models.map(async (model, i) => {
      const sub = w.subCall(i + 1);
      const one = { ...body, model };
      try {
        await sub.admit(model, one, req.headers);
        const outcome = await dispatch(ctx, sub.route(one, model));
        if (outcome.type !== 'json') throw new Error('a streamed answer to a request that asked for none');
        const text = outcome.raw ? outcome.raw.toString('utf8') : JSON.stringify(outcome.response);
        sub.answered(outcome);
        return text;
      } catch (e) {
        const err = redactError(toGatewayError(e), ctx.secretValues);
        if (err.errorClass === 'internal')
          ctx.logger.error(w.logFields({ callId: sub.requestId, error: err.message }), 'internal error');
        sub.failed(err);
        return JSON.stringify(err.toJSON());
      }
    }),
  );
  w.settledBySubCalls();
  if (!w.res.destroyed) sendJson(w.res, 200, `[${parts.join(',')}]`, w.headers);
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
