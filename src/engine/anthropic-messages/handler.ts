import type { IncomingMessage } from 'node:http';
import { checkCacheControls } from '../cache/cache.js';
import { cachedEntry, hitOutcome, planCache } from '../cache/request.js';
import type { EngineContext } from '../context.js';
import type { Deployment } from '../deployment.js';
import { readJsonBody } from '../http/body.js';
import { applyControlHeaders } from '../http/litellm-headers.js';
import { sendJson } from '../http/respond.js';
import type { ResponseWriter, StreamFraming } from '../http/response-writer.js';
import { badUpstreamAnswer } from '../providers/errors.js';
import { providersWith } from '../providers/registry.js';
import type { NativeMessages } from '../providers/types.js';
import type { RoutedOutcome } from '../router/dispatch.js';
import { dispatch } from '../router/dispatch.js';
import { countWith, loadedEncoder } from '../router/pre-call.js';
import { resolveModel, substitute, unknownModel } from '../router/resolve.js';
import { estimateChatPromptTokens } from '../tokens.js';
import { messagesCall } from '../upstream/body.js';
import { failureOf, type WholeResponse } from '../upstream/client.js';
import { type JsonObject, type OpenAIChunk, RAW_TEXT } from '../wire.js';
import { translateForRouting } from './request.js';
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

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return typeof v === 'string' && v !== '' ? v : Array.isArray(v) ? v.join(',') : undefined;
};

/**
 * POST /v1/messages and /v1/messages/count_tokens. A deployment that speaks Anthropic's API itself
 * (Anthropic, Claude on Bedrock or Vertex AI) gets the client's request as written and its answer goes back
 * as the upstream wrote it; every other one gets an OpenAI chat request from the same router the chat
 * endpoint uses, and its answer (or stream) is translated back. The writer sends every error, auth
 * included, in Anthropic's shape (ANTHROPIC_FORMAT).
 */
export async function handleMessages(
  route: string,
  ctx: EngineContext,
  req: IncomingMessage,
  w: ResponseWriter,
): Promise<void> {
  const raw = (w.body = await readJsonBody(req, ctx.maxRequestBytes));
  if (route === '/messages/count_tokens') return countTokens(ctx, raw, req, w);
  const t = translateForRouting(raw, { requireMaxTokens: true, acceptsTopK: (m) => acceptsTopK(ctx, m) });
  // admission sees the translated (OpenAI) body: one shape for budgets' token estimates
  applyControlHeaders(t.body, req.headers);
  if (t.body.cache !== undefined) checkCacheControls(w.principal, t.body.cache);
  const admitted = w.admit(t.model, t.body, req.headers);
  if (admitted) await admitted;
  // the response cache keeps the OpenAI-shaped answer: a hit is translated back like a routed answer
  const call = ctx.cache && planCache(ctx, w, 'messages', 'chat', t.body, t.model);
  const got = cachedEntry(ctx, call);
  const entry = got instanceof Promise ? await got : got;
  let outcome: RoutedOutcome;
  if (entry) outcome = hitOutcome(ctx, w, call!, entry, t.stream);
  else {
    const routed = w.route('chat', t.body, t.model, t.stream);
    routed.nativeMessages = {
      body: raw,
      beta: header(req, 'anthropic-beta'),
      version: header(req, 'anthropic-version'),
      untranslatable: t.untranslatable,
    };
    outcome = await dispatch(ctx, routed);
  }
  if (outcome.native) {
    // the upstream's own bytes: the body as it came, the stream event by event as it came (not cached: the
    // cache keeps OpenAI-shaped answers)
    if (outcome.type === 'json') return w.sendAnswer(outcome, outcome.raw!);
    return w.sendStream(outcome, new RawFraming());
  }
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

/** A native stream's framing: the SSE text each batch carries, untouched. */
class RawFraming implements StreamFraming {
  start(): string {
    return '';
  }

  push(batch: OpenAIChunk[]): string {
    let out = '';
    for (const c of batch) {
      const text = (c as Record<symbol, unknown>)[RAW_TEXT];
      if (typeof text === 'string') out += text;
    }
    return out;
  }

  finish(): string {
    return '';
  }
}

/** The fields Anthropic's count_tokens takes (it refuses others, such as max_tokens or stream). */
const COUNT_FIELDS = ['model', 'messages', 'system', 'tools', 'tool_choice', 'thinking', 'mcp_servers'];
/** Anthropic's figure for an image at the size it scales images down to (~1.15 megapixels / 750). */
const IMAGE_TOKENS = 1600;
const COUNT_TIMEOUT_MS = 30_000;

/**
 * POST /v1/messages/count_tokens: the upstream's own count from the first Anthropic-native deployment of the
 * group (Anthropic's count_tokens, Bedrock's CountTokens, Vertex AI's count-tokens), exact; otherwise an
 * estimate with a BPE tokenizer (cl100k_base, loaded in the background by the first count, which
 * gets the engine's rule-of-thumb estimate) over the translated request, plus a fixed
 * figure per image. Answers `{"input_tokens": n}`; settles no event (nothing is generated).
 */
async function countTokens(ctx: EngineContext, raw: JsonObject, req: IncomingMessage, w: ResponseWriter) {
  const t = translateForRouting(raw, { requireMaxTokens: false });
  const resolved = resolveModel(ctx.table, t.model);
  if (!resolved) throw unknownModel(ctx.table, t.model);
  const deps = resolved.group.deployments;
  for (const d of deps) {
    const nm = d.adapter?.messages;
    const model = substitute(d.model, resolved.captures);
    if (d.mockResponse === undefined && nm?.countTokens && nm.accepts(d.state, model)) {
      const body: JsonObject = {};
      for (const k of COUNT_FIELDS) if (raw[k] !== undefined) body[k] = raw[k];
      const native = { body, beta: header(req, 'anthropic-beta'), version: header(req, 'anthropic-version') };
      try {
        const n = await upstreamCount(ctx, d, nm, messagesCall(native, model, false));
        return sendJson(w.res, 200, JSON.stringify({ input_tokens: n }), w.headers);
      } catch (e) {
        // a model the upstream cannot count for ("The provided model doesn't support counting tokens", or no
        // count endpoint at all): the estimate below; other failures (a bad request, auth, rate limits, the
        // upstream down) are the client's to see
        const c = (e as { errorClass?: string }).errorClass;
        const unsupported = c === 'not_found' || (c === 'bad_request' && /support.*count/i.test((e as Error).message));
        if (!unsupported) throw e;
        if (ctx.debug) ctx.logger.debug(w.logFields({ error: (e as Error).message }), 'count_tokens: estimating');
        break;
      }
    }
  }
  // cl100k_base: the smaller of the two vocabularies (loads in half the time), and no model's exact count anyway.
  // Until it has loaded (a second or more of CPU, in the background) the engine's quick estimate answers.
  const enc = loadedEncoder('cl100k_base');
  let n = enc ? countWith(enc, 'chat', t.body) : estimateChatPromptTokens(t.body);
  n += IMAGE_TOKENS * countImages(raw.messages);
  return sendJson(w.res, 200, JSON.stringify({ input_tokens: Math.max(n, 1) }), w.headers);
}

async function upstreamCount(
  ctx: EngineContext,
  d: Deployment,
  nm: NativeMessages,
  call: ReturnType<typeof messagesCall>,
): Promise<number> {
  const adapter = d.adapter!;
  const built = nm.countTokens!(d.state, call);
  const upstream = built instanceof Promise ? await built : built;
  const ms = Math.min(d.timeoutMs, COUNT_TIMEOUT_MS);
  const ex = ctx.client.send(upstream, { headersTimeout: ms, bodyTimeout: ms, mode: 'whole', limit: 1 << 20 });
  let answer: WholeResponse;
  try {
    answer = await ex.whole!;
  } catch (e) {
    throw failureOf(e, adapter.label, false, ms);
  }
  const text = answer.body.toString('utf8');
  if (answer.status >= 400) {
    throw adapter.mapError(d.state, { status: answer.status, headers: answer.headers, body: text.slice(0, 65536) });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const n = nm.readCount?.(json);
  if (n === undefined)
    throw badUpstreamAnswer(adapter.label, `a token count without input_tokens: ${text.slice(0, 80)}`);
  return n;
}

/** Image blocks in the messages, tool results included. */
function countImages(messages: unknown): number {
  let n = 0;
  const walk = (blocks: unknown) => {
    if (!Array.isArray(blocks)) return;
    for (const b of blocks) {
      if (!b || typeof b !== 'object') continue;
      const o = b as JsonObject;
      if (o.type === 'image') n++;
      else if (o.type === 'tool_result') walk(o.content);
    }
  };
  if (Array.isArray(messages))
    for (const m of messages) if (m && typeof m === 'object') walk((m as JsonObject).content);
  return n;
}
