import { maskText } from '../../config/litellm/secrets.js';
import { endUserOf, forEndUser, type Principal } from '../auth/principal.js';
import { callCost, priceOf } from '../cost/cost.js';
import type { Deployment } from '../deployment.js';
import type { GatewayError } from '../errors.js';
import type { RoutedOutcome } from '../router/dispatch.js';
import { type AttemptResult, type TokenUsage, tokenUsage } from '../upstream/result.js';
import type { JsonObject } from '../wire.js';
import type { SettledAttemptDetail, SettledEndpoint, SettledEvent } from './settled.js';

/** What the response writer knows about one request when it settles (the writer itself, read-only). */
export interface SettledSource {
  readonly requestId: string;
  readonly principal: Principal;
  readonly endpoint?: SettledEndpoint;
  /** the client's body as parsed (undefined when the request failed before it was read) */
  readonly body?: JsonObject;
  /** undefined until the request was routed */
  readonly stream?: boolean;
  /** performance.now() when the request arrived */
  readonly t0: number;
  /** the attempts' results, in order (the last one answered or failed last) */
  readonly attempts?: readonly AttemptResult[];
  readonly outcome?: RoutedOutcome;
  /** performance.now() when the first content went to the client (the whole answer, for JSON) */
  readonly firstTokenAt?: number;
  /** the last usage a stream carried (before attempts report usage themselves) */
  readonly streamUsage?: unknown;
  /** a stream's text so far, assembled only while a sink wants content */
  readonly streamText?: string;
  /** the request's `traceparent`, kept only while a tracing sink wants it */
  readonly traceparent?: string;
  /** the `x-litellm-tags` and `x-litellm-spend-logs-metadata` headers as received (only when present) */
  readonly headerTags?: string;
  readonly spendLogsHeader?: string;
  /** `x-litellm-enable-message-redaction: true`: no prompt or answer for this request in any sink */
  readonly redact?: boolean;
  /** the response cache's key when the cache was consulted, and whether it answered */
  readonly cacheKey?: string;
  readonly cacheHit?: boolean;
  /** a pass-through call: the path as called */
  readonly passThrough?: string;
}

/** What the bus adds to every event (`SettledBus` is one): content and trace wishes, the config's metadata. */
export interface SettledOptions {
  readonly content: boolean;
  readonly trace: boolean;
  readonly metadata?: JsonObject;
}

/** What `mask_input` / `mask_output` put in place of a prompt or an answer (LiteLLM's marker). */
export const REDACTED = 'redacted-by-litellm';

const NO_TAGS: readonly string[] = Object.freeze([]);
const NO_USAGE: TokenUsage = Object.freeze({
  prompt: 0,
  completion: 0,
  total: 0,
  cached: 0,
  cacheCreation: 0,
  reasoning: 0,
});
// api_base with any secret it embeds masked, once per deployment
const publicBases = new WeakMap<Deployment, string>();

const NO_OPTIONS: SettledOptions = { content: false, trace: false };

/**
 * Build the one event of a request. `err` is already masked; `secrets` mask what a deployment's api_base may
 * carry; `opts.content` adds the request body and the answer (a sink asked for them), `opts.trace` the
 * traceparent and parameters, `opts.metadata` the config's metadata under the request's.
 */
export function settledEvent(
  src: SettledSource,
  status: SettledEvent['status'],
  httpStatus: number,
  err: GatewayError | undefined,
  secrets: readonly string[],
  opts: SettledOptions = NO_OPTIONS,
): SettledEvent {
  const now = performance.now();
  const attempts = src.attempts ?? [];
  const last = attempts.length > 0 ? attempts[attempts.length - 1] : undefined;
  const out = src.outcome;
  const dep = out?.deployment ?? last?.deployment;
  const body = src.body;
  const usage = last?.usage ?? tokenUsage(out?.type === 'json' ? out.response.usage : src.streamUsage);
  const tries = out
    ? { retries: out.attemptedRetries ?? 0, fallbacks: out.attemptedFallbacks ?? 0 }
    : triesOf(attempts);
  let own = body && isObject(body.metadata) ? body.metadata : undefined;
  // per-request Langfuse keys: kept apart, never in the metadata the sinks send or the spend log stores
  let langfuseKeys: SettledEvent['langfuseKeys'];
  const split = own !== undefined && hasLangfuseKeys(own);
  if (split) ({ own, langfuseKeys } = splitLangfuseKeys(own!));
  const base = opts.metadata;
  // a copy only when both exist: the config's keys first, the request's over them
  const meta = base === undefined ? own : own === undefined ? base : { ...base, ...own };
  const firstToken = last?.timings.firstToken ?? src.firstTokenAt;
  let upstreamMs = 0;
  for (const a of attempts) upstreamMs += a.timings.end - a.timings.start;
  // a cached answer: no deployment was called and it costs nothing (the model group says whose answer it was)
  const hit = src.cacheHit === true;
  const price = hit ? undefined : dep && priceOf(dep, body?.model);
  const event: SettledEvent = {
    callId: src.requestId,
    principal: forEndUser(src.principal, endUserOf(body)),
    endpoint: src.endpoint ?? 'chat',
    requestedModel: typeof body?.model === 'string' ? body.model : '',
    modelGroup: dep?.modelName,
    deploymentId: hit ? undefined : dep?.id,
    litellmModel: hit ? undefined : dep?.litellmModel,
    provider: hit ? undefined : dep?.provider,
    apiBase: hit || dep?.apiBase === undefined ? undefined : publicBase(dep, secrets),
    stream: src.stream ?? body?.stream === true,
    status,
    httpStatus,
    errorClass: status === 'failure' ? err?.errorClass : undefined,
    errorMessage: status === 'failure' ? err?.message : undefined,
    usage: usage ?? NO_USAGE,
    usageReported: usage !== undefined,
    // the answering call's cost; a deployment without a price is unpriced, not free
    responseCost: hit
      ? 0
      : price
        ? callCost(price, usage ?? NO_USAGE, last ? last.timings.end - last.timings.start : (out?.upstreamMs ?? 0))
        : undefined,
    unpriced: price === null ? true : undefined,
    startTime: performance.timeOrigin + src.t0,
    endTime: performance.timeOrigin + now,
    timeToFirstTokenMs: firstToken === undefined ? undefined : firstToken - src.t0,
    durationMs: now - src.t0,
    upstreamMs: attempts.length > 0 ? upstreamMs : (out?.upstreamMs ?? 0),
    attemptedRetries: tries.retries,
    attemptedFallbacks: tries.fallbacks,
    // without attempt results: the fewest calls the router's counts imply
    attempts: attempts.length > 0 ? attempts.length : out && !hit ? tries.retries + 1 + tries.fallbacks : 0,
    cacheHit: hit,
    metadata: meta,
    tags: tagsOf(body, own, src.headerTags),
    spendLogsMetadata: spendLogsOf(own, src.spendLogsHeader),
  };
  if (src.cacheKey !== undefined) event.cacheKey = src.cacheKey;
  if (src.passThrough !== undefined) event.passThrough = src.passThrough;
  if (langfuseKeys !== undefined) event.langfuseKeys = langfuseKeys;
  if (attempts.length > 0) event.attemptDetails = attemptDetails(attempts, secrets);
  if (opts.trace) {
    if (src.traceparent !== undefined) event.traceparent = src.traceparent;
    if (body) event.params = paramsOf(body);
  }
  if (opts.content && body && src.redact !== true) {
    const req = split ? { ...body, metadata: own } : body; // the body without the Langfuse keys
    event.request = meta?.mask_input === true ? maskedRequest(req) : req;
    if (meta?.mask_output === true) {
      if (status === 'success' && event.endpoint !== 'embedding') event.response = REDACTED;
    } else if (out?.type === 'json' && event.endpoint !== 'embedding' && status === 'success') {
      // the response went out already: reading a whole answer's parsed view here costs the client nothing
      const answer = out.response;
      const first = Array.isArray(answer.choices) && isObject(answer.choices[0]) ? answer.choices[0] : undefined;
      // an Anthropic answer passed through as is carries `content` blocks instead of choices
      event.response = first
        ? (first.message ?? first.text)
        : Array.isArray(answer.content)
          ? { role: 'assistant', content: answer.content }
          : Array.isArray(answer.output) // a Responses API answer from an OpenAI-family upstream
            ? answer.output
            : // a transcription's text, rerank or moderation results (never image bytes)
              typeof answer.text === 'string'
              ? answer.text
              : Array.isArray(answer.results)
                ? answer.results
                : undefined;
    } else if (src.streamText !== undefined) event.response = src.streamText;
  }
  return event;
}

const LANGFUSE_KEYS = ['langfuse_public_key', 'langfuse_secret_key', 'langfuse_secret', 'langfuse_host'] as const;

function hasLangfuseKeys(meta: JsonObject): boolean {
  for (const k of LANGFUSE_KEYS) if (meta[k] !== undefined) return true;
  return false;
}

/** The metadata without the Langfuse keys, and the keys when both the public and the secret one are strings. */
function splitLangfuseKeys(meta: JsonObject): { own: JsonObject; langfuseKeys: SettledEvent['langfuseKeys'] } {
  const own: JsonObject = { ...meta };
  for (const k of LANGFUSE_KEYS) delete own[k];
  const publicKey = meta.langfuse_public_key;
  const secretKey = meta.langfuse_secret_key ?? meta.langfuse_secret;
  const host = typeof meta.langfuse_host === 'string' && meta.langfuse_host !== '' ? meta.langfuse_host : undefined;
  const ok = typeof publicKey === 'string' && publicKey !== '' && typeof secretKey === 'string' && secretKey !== '';
  return { own, langfuseKeys: ok ? { publicKey, secretKey, host } : undefined };
}

/**
 * The body with its prompt fields replaced by the marker (`system` and Gemini's `systemInstruction` dropped: the
 * marker stands for all of it). Gemini's `contents` is a prompt field too (a Vertex AI pass-through call).
 */
function maskedRequest(body: JsonObject): JsonObject {
  const out: JsonObject = { ...body };
  for (const k of ['messages', 'prompt', 'input', 'contents'] as const) if (out[k] !== undefined) out[k] = REDACTED;
  delete out.system;
  delete out.systemInstruction;
  return out;
}

/** `metadata.spend_logs_metadata` with the header's JSON object over it; undefined when neither holds one. */
function spendLogsOf(own: JsonObject | undefined, header: string | undefined): JsonObject | undefined {
  const fromBody = own && isObject(own.spend_logs_metadata) ? own.spend_logs_metadata : undefined;
  if (header === undefined) return fromBody;
  let fromHeader: unknown;
  try {
    fromHeader = JSON.parse(header);
  } catch {
    return fromBody; // as LiteLLM: a header that is not JSON is ignored, the call goes on
  }
  if (!isObject(fromHeader)) return fromBody;
  return fromBody ? { ...fromBody, ...fromHeader } : fromHeader;
}

// the sampling parameters a tracing sink reports (gen_ai.request.*), numbers only
const TRACE_PARAMS = ['temperature', 'top_p', 'max_tokens', 'max_completion_tokens'] as const;

function paramsOf(body: JsonObject): Record<string, number> | undefined {
  let out: Record<string, number> | undefined;
  for (const k of TRACE_PARAMS) {
    const v = body[k];
    if (typeof v === 'number' && Number.isFinite(v)) (out ??= {})[k] = v;
  }
  return out;
}

/** Each attempt as plain data for sinks (no Deployment reference, so no secret travels with the event). */
function attemptDetails(attempts: readonly AttemptResult[], secrets: readonly string[]): SettledAttemptDetail[] {
  return attempts.map((a) => {
    const d = a.deployment;
    const t = a.timings;
    return {
      deploymentId: d.id,
      modelGroup: d.modelName,
      litellmModel: d.litellmModel,
      provider: d.provider,
      apiBase: d.apiBase === undefined ? undefined : publicBase(d, secrets),
      status: a.status,
      errorClass: a.status === 'error' ? (a.errorClass ?? a.error?.errorClass) : undefined,
      errorStatus: a.status === 'error' ? a.error?.status : undefined,
      durationMs: t.end - t.start,
      timeToFirstTokenMs: t.firstToken === undefined ? undefined : t.firstToken - t.start,
    };
  });
}

/** Retries and fallbacks of a failed request, from its attempts: groups after the first, tries in the last one. */
function triesOf(attempts: readonly AttemptResult[]): { retries: number; fallbacks: number } {
  if (attempts.length === 0) return { retries: 0, fallbacks: 0 };
  const group = attempts[attempts.length - 1].deployment.modelName;
  const groups = new Set<string>();
  let retries = -1;
  for (const a of attempts) {
    groups.add(a.deployment.modelName);
    if (a.deployment.modelName === group) retries++;
  }
  return { retries, fallbacks: groups.size - 1 };
}

/**
 * Body `tags`, else `metadata.tags` (strings only), as the router's tag filtering reads them, then the
 * `x-litellm-tags` header's comma-separated tags; each tag once.
 */
function tagsOf(
  body: JsonObject | undefined,
  meta: JsonObject | undefined,
  header: string | undefined,
): readonly string[] {
  const t = Array.isArray(body?.tags) ? body.tags : Array.isArray(meta?.tags) ? meta.tags : undefined;
  const own = t ? t.filter((x): x is string => typeof x === 'string') : NO_TAGS;
  if (header === undefined) return own;
  const out = [...own];
  for (const part of header.split(',')) {
    const tag = part.trim();
    if (tag !== '' && !out.includes(tag)) out.push(tag);
  }
  return out;
}

/** A deployment's api_base with the engine's secrets masked (computed once per deployment). */
export function publicBase(dep: Deployment, secrets: readonly string[]): string {
  let b = publicBases.get(dep);
  if (b === undefined) publicBases.set(dep, (b = maskText(dep.apiBase!, secrets)));
  return b;
}

const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);
