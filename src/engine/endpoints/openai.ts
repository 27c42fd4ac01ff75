import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EngineContext } from '../context.js';
import { badRequest, GatewayError, toGatewayError } from '../errors.js';
import { readJsonBody } from '../http/body.js';
import { ANONYMOUS } from '../auth/principal.js';
import { ClientLink } from '../http/client-link.js';
import { drained, sendJson } from '../http/respond.js';
import { redactError } from '../observability/logger.js';
import type { EndpointKind, JsonObject, OpenAIChunk } from '../wire.js';
import type { Outcome } from '../router/attempt.js';
import { dispatch } from '../router/dispatch.js';
import { contentText, estimateTokens } from '../tokens.js';

/** The field each endpoint cannot do without. */
const REQUIRED: Record<EndpointKind, string> = { chat: 'messages', completion: 'prompt', embedding: 'input' };

/**
 * POST /v1/chat/completions, /v1/completions, /v1/embeddings: parse once, validate the few fields
 * routing needs, dispatch, then write JSON or SSE. Everything else is forwarded as the client sent it.
 */
export async function handleOpenAI(kind: EndpointKind, ctx: EngineContext, req: IncomingMessage, res: ServerResponse, requestId: string, t0: number): Promise<void> {
  const body = await readJsonBody(req, ctx.maxRequestBytes);
  const model = body.model;
  if (typeof model !== 'string' || model === '') {
    const missing = model === undefined || model === null || model === '';
    throw badRequest(missing ? 'Missing required parameter: "model".' : 'Invalid "model": expected a model name (a string).', 'model', missing ? 'missing_required_parameter' : 'invalid_type');
  }
  const need = REQUIRED[kind];
  const v = body[need];
  if (v === undefined || v === null || (kind === 'chat' && !Array.isArray(v))) {
    throw badRequest(
      v === undefined || v === null ? `Missing required parameter: "${need}".` : `Invalid "${need}": expected a list of messages.`,
      need,
      v === undefined || v === null ? 'missing_required_parameter' : 'invalid_type',
    );
  }
  if (kind === 'chat' && (v as unknown[]).length === 0) throw badRequest('Invalid "messages": expected at least one message, got an empty list.', 'messages', 'invalid_value');
  const st = body.stream;
  if (st !== undefined && st !== null && typeof st !== 'boolean') throw badRequest(`Invalid "stream": expected true or false, got ${JSON.stringify(st)}.`, 'stream', 'invalid_type');
  const stream = st === true && kind !== 'embedding';
  const outcome = await dispatch(ctx, { kind, body, model, stream, requestId, client: ClientLink.of(res), principal: ANONYMOUS });
  const headers: Record<string, string | number> = {
    'x-request-id': requestId,
    'x-litellm-model-id': outcome.deployment.id,
    'x-litellm-model-group': outcome.deployment.modelName,
    'x-litellm-overhead-duration-ms': (performance.now() - t0 - outcome.upstreamMs).toFixed(3),
    'x-litellm-attempted-retries': outcome.attemptedRetries ?? 0,
    'x-litellm-attempted-fallbacks': outcome.attemptedFallbacks ?? 0,
  };
  if (ctx.draining) headers.connection = 'close';
  if (outcome.type === 'json') {
    sendJson(res, 200, outcome.raw ?? JSON.stringify(outcome.response), headers);
    return;
  }
  const so = body.stream_options as JsonObject | undefined;
  await writeStream(res, outcome, !!so && so.include_usage === true, headers, ctx);
}

/** SSE out: `data: {chunk}` per chunk, backpressure respected, `data: [DONE]` at the end, errors as an error event. */
async function writeStream(res: ServerResponse, outcome: Extract<Outcome, { type: 'stream' }>, includeUsage: boolean, headers: Record<string, string | number>, ctx: EngineContext): Promise<void> {
  headers['content-type'] = 'text/event-stream';
  headers['cache-control'] = 'no-cache';
  headers['x-accel-buffering'] = 'no';
  res.writeHead(200, headers);
  res.flushHeaders();
  let sawUsage = false;
  let completion = 0;
  let last: OpenAIChunk | undefined;
  try {
    for await (const batch of outcome.chunks) {
      let out = '';
      for (const c of batch) {
        if (c.usage !== undefined && c.usage !== null) {
          if (!includeUsage) {
            if (!Array.isArray(c.choices) || c.choices.length === 0) continue;
            delete c.usage;
          } else sawUsage = true;
        }
        if (includeUsage && !sawUsage) {
          last = c;
          for (const ch of (c.choices ?? []) as JsonObject[]) {
            const d = ch.delta as JsonObject | undefined;
            const t = d ? d.content : ch.text;
            if (typeof t === 'string' && t !== '') completion += estimateTokens(contentText(t));
          }
        }
        out += `data: ${JSON.stringify(c)}\n\n`;
      }
      if (res.destroyed) return; // the client left: returning ends the upstream read (finally in the decoder)
      if (out !== '' && !res.write(out)) await drained(res);
      if (res.destroyed) return;
    }
    if (includeUsage && !sawUsage && last) {
      // the upstream ignored stream_options: give the client the usage chunk it asked for, estimated
      const usage = { prompt_tokens: 0, completion_tokens: completion, total_tokens: completion };
      res.write(`data: ${JSON.stringify({ id: last.id, object: last.object, created: last.created, model: last.model, choices: [], usage })}\n\n`);
    }
    res.end('data: [DONE]\n\n');
  } catch (e) {
    if (res.destroyed) return;
    const err = redactError(e instanceof GatewayError ? e : toGatewayError(e), ctx.secretValues);
    if (ctx.debug || err.errorClass === 'internal') ctx.logger.warn({ requestId: headers['x-request-id'], status: err.status, error: err.message }, 'stream failed');
    res.end(`data: ${JSON.stringify(err.toJSON())}\n\ndata: [DONE]\n\n`); // an error event, then the usual end: clients never hang
  }
}
