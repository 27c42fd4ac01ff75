import type { IncomingMessage } from 'node:http';
import { checkCacheControls } from '../cache/cache.js';
import { cachedEntry, hitOutcome, planCache } from '../cache/request.js';
import type { EngineContext } from '../context.js';
import { readJsonBody } from '../http/body.js';
import { applyControlHeaders } from '../http/litellm-headers.js';
import { sendJson } from '../http/respond.js';
import type { ResponseWriter } from '../http/response-writer.js';
import { providersWith } from '../providers/registry.js';
import { dispatch } from '../router/dispatch.js';
import { resolveModel, unknownModel } from '../router/resolve.js';
import { estimateChatPromptTokens } from '../tokens.js';
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
 * stream) is translated back. The writer sends every error, auth included, in Anthropic's shape
 * (ANTHROPIC_FORMAT).
 */
export async function handleMessages(
  route: string,
  ctx: EngineContext,
  req: IncomingMessage,
  w: ResponseWriter,
): Promise<void> {
  const raw = (w.body = await readJsonBody(req, ctx.maxRequestBytes));
  if (route === '/messages/count_tokens') {
    const t = toOpenAIRequest(raw, { requireMaxTokens: false });
    if (!resolveModel(ctx.table, t.model)) throw unknownModel(ctx.table, t.model);
    sendJson(w.res, 200, JSON.stringify({ input_tokens: estimateChatPromptTokens(t.body) }), w.headers);
    return;
  }
  const t = toOpenAIRequest(raw, { requireMaxTokens: true, acceptsTopK: (m) => acceptsTopK(ctx, m) });
  // admission sees the translated (OpenAI) body: one shape for budgets' token estimates
  applyControlHeaders(t.body, req.headers);
  if (t.body.cache !== undefined) checkCacheControls(w.principal, t.body.cache);
  const admitted = w.admit(t.model, t.body, req.headers);
  if (admitted) await admitted;
  // the response cache keeps the OpenAI-shaped answer: a hit is translated back like a routed answer
  const call = ctx.cache && planCache(ctx, w, 'messages', 'chat', t.body, t.model);
  const got = cachedEntry(ctx, call);
  const entry = got instanceof Promise ? await got : got;
  const outcome = entry
    ? hitOutcome(ctx, w, call!, entry, t.stream)
    : await dispatch(ctx, w.route('chat', t.body, t.model, t.stream));
  // `model` echoes the requested name, unless a fallback group answered: then it names that group
  const model = outcome.attemptedFallbacks ? outcome.deployment.modelName : t.model;
  const store = call?.write && !entry ? call : undefined;
  if (outcome.type === 'json') {
    w.sendAnswer(outcome, JSON.stringify(toAnthropicMessage(outcome.response, model, t.stopSequences)));
    if (store && !w.link.gone) ctx.cache!.storeAnswer(store, JSON.stringify(outcome.response), outcome.response);
    return;
  }
  return w.sendStream(
    store ? { ...outcome, chunks: ctx.cache!.tee(store, outcome.chunks) } : outcome,
    new AnthropicStreamTranslator(model, t.stopSequences, estimateChatPromptTokens(t.body)),
  );
}
