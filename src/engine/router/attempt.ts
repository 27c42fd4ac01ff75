import { badRequest, GatewayError } from '../errors.js';
import { mockChunks, mockResponse } from '../mock.js';
import { badUpstreamAnswer } from '../providers/errors.js';
import type { EndpointKind, JsonObject, OpenAIChunk, OpenAIResponse, StreamDecoder } from '../wire.js';
import type { CallContext, ProviderAdapter } from '../providers/types.js';
import type { ClientLink, ClientWatcher } from '../http/client-link.js';
import type { Deadline, Deadlines } from '../upstream/deadlines.js';
import { failureOf, type Exchange, type UpstreamClient, type WholeResponse } from '../upstream/client.js';
import { substitute } from './resolve.js';
import type { Principal } from '../auth/principal.js';
import type { AttemptResult } from '../upstream/result.js';
import type { Deployment } from '../deployment.js';

/** A request as the router sees it (the client's body is parsed once, never copied on the way in). */
export interface RouteRequest {
  kind: EndpointKind;
  /** the client's body, as parsed */
  body: JsonObject;
  /** the model name the client asked for */
  model: string;
  stream: boolean;
  requestId: string;
  /** the client: `gone` (and its lazy `signal` aborted) when it went away, or when the router gave up on this try */
  client: ClientLink;
  /** who is calling (authentication's answer) */
  principal: Principal;
  /** every attempt made for this request pushes its result here when it settles (read by the settled event) */
  attempts?: AttemptResult[];
}

/** What a successful attempt gives back: a whole answer, or a stream whose headers arrived fine. */
export type Outcome =
  /** `raw`, when set, is exactly what the client gets; `response` is then its parsed view, made on first read */
  | { type: 'json'; deployment: Deployment; response: OpenAIResponse; raw?: Buffer; upstreamMs: number }
  | { type: 'stream'; deployment: Deployment; chunks: AsyncIterable<OpenAIChunk[]> | Iterable<OpenAIChunk[]>; upstreamMs: number };

/** Request keys that steer LiteLLM itself and are never sent upstream. */
const LITELLM_ONLY = new Set([
  'mock_response', 'mock_testing_fallbacks', 'mock_testing_rate_limit_error', 'mock_timeout', 'mock_delay',
  'fallbacks', 'context_window_fallbacks', 'content_policy_fallbacks', 'num_retries', 'max_retries', 'caching', 'cache',
  'ttl', 'drop_params', 'additional_drop_params', 'metadata', 'litellm_metadata', 'tags', 'timeout', 'stream_timeout',
  'api_key', 'api_base', 'base_url', 'api_version', 'custom_llm_provider', 'extra_body', 'disable_fallbacks',
  'input_cost_per_token', 'output_cost_per_token', 'litellm_call_id', 'proxy_server_request', 'guardrails',
  'litellm_logging_obj', 'model_list', 'user_api_key', 'user_api_key_alias', 'user_api_key_team_id',
]);

const ERROR_BODY_LIMIT = 64 * 1024;
/** a non-stream answer larger than this is cut off (and reported as broken) */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/** The body the adapter receives: config defaults, then the request (it wins), then extra_body; params dropped. */
export function upstreamBody(dep: Deployment, adapter: ProviderAdapter, body: JsonObject, model: string, stream: boolean): JsonObject {
  const out: JsonObject = dep.defaults ? { ...dep.defaults } : {};
  let drop = dep.dropParams;
  let extra: unknown;
  for (const k in body) {
    if (LITELLM_ONLY.has(k)) {
      if (k === 'extra_body') extra = body[k];
      else if (k === 'drop_params' && typeof body[k] === 'boolean') drop = body[k] as boolean;
      continue;
    }
    out[k] = body[k];
  }
  out.model = model;
  if (!stream) delete out.stream_options;
  if (dep.extraBody) Object.assign(out, dep.extraBody);
  if (extra && typeof extra === 'object') Object.assign(out, extra);
  const unsupported = adapter.unsupportedParams;
  if (unsupported) {
    for (const p of unsupported) {
      const v = out[p];
      if (v === undefined || v === null || (p === 'n' && v === 1)) continue;
      if (!drop) {
        throw badRequest(
          `${adapter.label} does not support the parameter "${p}". To drop parameters a provider does not take, set drop_params: true (litellm_settings, litellm_params or the request).`,
          p,
          'unsupported_params',
        );
      }
      delete out[p];
    }
  }
  for (const p of dep.additionalDropParams) delete out[p];
  return out;
}

/**
 * One try against one deployment: mock, or build the request, send it through the origin's pool,
 * map errors, and hand back either the parsed answer or the stream (once its headers are good).
 * The deployment's timeout aborts the upstream request (504); the client going away aborts it too.
 */
export async function attempt(client: UpstreamClient, dep: Deployment, req: RouteRequest, captures?: string[]): Promise<Outcome> {
  const model = substitute(dep.model, captures);
  const mock = req.body.mock_response ?? dep.mockResponse;
  if (mock !== undefined && mock !== null) {
    if (typeof mock !== 'string' && typeof mock !== 'object') throw badRequest('mock_response: expected a string or an object', 'mock_response');
    const m = mock as string | JsonObject;
    if (!req.stream) return { type: 'json', deployment: dep, response: mockResponse(req.kind, req.body, m, model), upstreamMs: 0 };
    const chunks = mockChunks(req.kind, req.body, m, model);
    return { type: 'stream', deployment: dep, chunks: [chunks], upstreamMs: 0 };
  }
  const adapter = dep.adapter!;
  if (!adapter.endpoints.includes(req.kind)) {
    throw badRequest(`${adapter.label} (${dep.litellmModel}) does not serve ${req.kind} requests`, 'model');
  }
  const body = upstreamBody(dep, adapter, req.body, model, req.stream);
  const override = typeof req.body.timeout === 'number' && req.body.timeout > 0 ? req.body.timeout * 1000 : undefined;
  const timeoutMs = override ?? (req.stream ? dep.streamTimeoutMs : dep.timeoutMs);

  // one deadline for the whole answer (non-stream) or until the headers (stream; then bodyTimeout guards gaps)
  const guard = new Guard(client.deadlines, req.client, timeoutMs);
  const done = () => guard.release();
  const link = req.client;
  const call = new Call(req.kind, body, model, req.stream, req.requestId, link);
  const label = adapter.label;
  let ex: Exchange;
  const t0 = performance.now();
  try {
    const built = adapter.buildRequest(dep.state, call);
    const upstreamReq = built instanceof Promise ? await built : built;
    if (link.gone) throw new Error('the client went away');
    // the guard's deadline covers the whole answer (streams: until the headers), so undici needs no
    // timers of its own (each one lives ~0.5 s in its timer wheel and gets promoted to the old
    // generation); a stream keeps bodyTimeout for silent gaps once it is going
    ex = guard.ex = client.send(upstreamReq, { headersTimeout: 0, bodyTimeout: req.stream ? timeoutMs : 0, mode: req.stream ? 'stream' : 'whole', limit: req.stream ? ERROR_BODY_LIMIT : MAX_ANSWER_BYTES });
    const answer = req.stream ? await ex.head! : await ex.whole!;
    if (answer.status >= 400) {
      const whole = answer as WholeResponse;
      throw adapter.mapError(dep.state, { status: whole.status, headers: whole.headers, body: whole.body.toString('utf8', 0, ERROR_BODY_LIMIT) });
    }
    if (!req.stream) {
      const upstreamMs = performance.now() - t0;
      done();
      const raw = (answer as WholeResponse).body;
      if (adapter.passthrough?.(dep.state, call, raw)) return new RawAnswer(dep, raw, upstreamMs);
      const text = raw.toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw badUpstreamAnswer(label, `an answer that is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
      }
      return { type: 'json', deployment: dep, response: adapter.parseResponse(dep.state, call, json), upstreamMs };
    }
  } catch (e) {
    done();
    throw failureOf(e, label, guard.timedOut, timeoutMs);
  }
  client.deadlines.remove(guard);
  const upstreamMs = performance.now() - t0;
  const decoder = adapter.streamDecoder(dep.state, call);
  return { type: 'stream', deployment: dep, chunks: decode(ex, decoder, label, timeoutMs, done), upstreamMs };
}

/** Stops an attempt when its deadline passes or its client goes away; one object instead of closures. */
class Guard implements Deadline, ClientWatcher {
  readonly at: number;
  timedOut = false;
  ex?: Exchange;

  constructor(private readonly deadlines: Deadlines, private readonly link: ClientLink, ms: number) {
    this.at = Date.now() + ms;
    deadlines.add(this);
    link.watch(this);
  }

  onExpire(): void {
    this.timedOut = true;
    this.ex?.abort(new Error('deadline passed'));
  }

  clientGone(): void {
    this.ex?.abort(new Error('the client went away'));
  }

  release(): void {
    this.deadlines.remove(this);
    this.link.unwatch(this);
  }
}

/** The CallContext adapters see; `signal` is made only if an adapter asks for it. */
class Call implements CallContext {
  constructor(
    readonly kind: EndpointKind,
    readonly body: JsonObject,
    readonly model: string,
    readonly stream: boolean,
    readonly requestId: string,
    private readonly link: ClientLink,
  ) {}

  get signal(): AbortSignal {
    return this.link.signal;
  }
}

/** A passthrough answer: `raw` goes to the client as is; `response` parses it on first read. */
class RawAnswer {
  readonly type = 'json' as const;
  private parsed?: OpenAIResponse;

  constructor(readonly deployment: Deployment, readonly raw: Buffer, readonly upstreamMs: number) {}

  get response(): OpenAIResponse {
    return (this.parsed ??= JSON.parse(this.raw.toString('utf8')) as OpenAIResponse);
  }
}

/** Pull the upstream body chunk by chunk through the decoder; ends (or is returned early) with cleanup. */
async function* decode(ex: Exchange, decoder: StreamDecoder, label: string, timeoutMs: number, done: () => void): AsyncGenerator<OpenAIChunk[]> {
  let finished = false;
  try {
    for await (const batch of ex.chunks()) {
      const out: OpenAIChunk[] = [];
      for (const buf of batch) for (const c of decoder.push(buf)) out.push(c);
      if (out.length > 0) yield out;
    }
    finished = true;
    const last = decoder.end();
    if (last.length > 0) yield last;
  } catch (e) {
    throw e instanceof GatewayError ? e : failureOf(e, label, false, timeoutMs);
  } finally {
    done();
    if (!finished) ex.abort(new Error('stream abandoned'));
  }
}
