import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EngineContext } from '../context.js';
import { toGatewayError } from '../errors.js';
import { providersWith } from '../providers/registry.js';
import { readJsonBody } from '../http/body.js';
import { ANONYMOUS } from '../auth/principal.js';
import { ClientLink } from '../http/client-link.js';
import { drained, sendJson } from '../http/respond.js';
import type { Outcome } from '../router/attempt.js';
import { dispatch } from '../router/dispatch.js';
import { resolveModel, unknownModel } from '../router/resolve.js';
import { estimateChatPromptTokens } from '../tokens.js';
import { errorEvent, sendAnthropicError } from './errors.js';
import { redactError } from '../observability/logger.js';
import { toOpenAIRequest } from './request.js';
import { toAnthropicMessage } from './response.js';
import { AnthropicStreamTranslator } from './stream.js';

/** Routes this module serves (after the server strips `/v1`). */
export const MESSAGES_ROUTES = new Set(['/messages', '/messages/count_tokens']);

/** Providers whose facts say they take `top_k`; OpenAI and most compatible APIs reject it, so it is dropped there. */
const TOP_K_PROVIDERS = providersWith('topK');

function acceptsTopK(ctx: EngineContext, model: string): boolean {
  const deps = resolveModel(ctx.table, model)?.group.deployments;
  return !!deps && deps.length > 0 && deps.every((d) => d.provider !== undefined && TOP_K_PROVIDERS.has(d.provider));
}

/**
 * POST /v1/messages and /v1/messages/count_tokens: Anthropic Messages in, any provider out. The
 * request becomes an OpenAI chat request for the same router the chat endpoint uses; the answer (or
 * stream) is translated back. Every error, auth included, is sent in Anthropic's error shape.
 */
export async function handleMessages(route: string, ctx: EngineContext, req: IncomingMessage, res: ServerResponse, requestId: string, t0: number): Promise<void> {
  const headers: Record<string, string | number> = { 'x-request-id': requestId, 'request-id': requestId };
  try {
    ctx.auth.check(req.headers);
    const raw = await readJsonBody(req, ctx.maxRequestBytes);
    if (route === '/messages/count_tokens') {
      const t = toOpenAIRequest(raw, { requireMaxTokens: false });
      if (!resolveModel(ctx.table, t.model)) throw unknownModel(ctx.table, t.model);
      sendJson(res, 200, JSON.stringify({ input_tokens: estimateChatPromptTokens(t.body) }), headers);
      return;
    }
    const t = toOpenAIRequest(raw, { requireMaxTokens: true, acceptsTopK: (m) => acceptsTopK(ctx, m) });
    const outcome = await dispatch(ctx, { kind: 'chat', body: t.body, model: t.model, stream: t.stream, requestId, client: ClientLink.of(res), principal: ANONYMOUS });
    headers['x-litellm-model-id'] = outcome.deployment.id;
    headers['x-litellm-model-group'] = outcome.deployment.modelName;
    headers['x-litellm-overhead-duration-ms'] = (performance.now() - t0 - outcome.upstreamMs).toFixed(3);
    const tries = outcome as { attemptedRetries?: number; attemptedFallbacks?: number }; // set by routers that retry
    headers['x-litellm-attempted-retries'] = tries.attemptedRetries ?? 0;
    headers['x-litellm-attempted-fallbacks'] = tries.attemptedFallbacks ?? 0;
    if (ctx.draining) headers.connection = 'close';
    // `model` echoes the requested name, unless a fallback group answered: then it names that group
    const model = tries.attemptedFallbacks ? outcome.deployment.modelName : t.model;
    if (outcome.type === 'json') {
      sendJson(res, 200, JSON.stringify(toAnthropicMessage(outcome.response, model, t.stopSequences)), headers);
      return;
    }
    const translator = new AnthropicStreamTranslator(model, t.stopSequences, estimateChatPromptTokens(t.body));
    await writeStream(res, outcome, translator, headers, ctx);
  } catch (e) {
    const err = redactError(toGatewayError(e), ctx.secretValues);
    if (err.errorClass === 'internal') ctx.logger.error({ requestId, error: e instanceof Error ? e.stack : String(e) }, 'internal error');
    else if (ctx.debug) ctx.logger.debug({ requestId, status: err.status, error: err.message }, 'request failed');
    if (!res.destroyed) sendAnthropicError(res, err, headers, requestId);
  }
}

/** Anthropic SSE out, chunk by chunk with backpressure; a failure after the start is an `error` event. */
async function writeStream(res: ServerResponse, outcome: Extract<Outcome, { type: 'stream' }>, tr: AnthropicStreamTranslator, headers: Record<string, string | number>, ctx: EngineContext): Promise<void> {
  headers['content-type'] = 'text/event-stream';
  headers['cache-control'] = 'no-cache';
  headers['x-accel-buffering'] = 'no';
  res.writeHead(200, headers);
  res.write(tr.start());
  try {
    for await (const batch of outcome.chunks) {
      const out = tr.push(batch);
      if (res.destroyed) return; // the client left: returning ends the upstream read
      if (out !== '' && !res.write(out)) await drained(res);
      if (res.destroyed) return;
    }
    res.end(tr.finish());
  } catch (e) {
    if (res.destroyed) return;
    const err = redactError(toGatewayError(e), ctx.secretValues);
    if (ctx.debug || err.errorClass === 'internal') ctx.logger.warn({ requestId: headers['x-request-id'], status: err.status, error: err.message }, 'stream failed');
    res.end(errorEvent(err));
  }
}
