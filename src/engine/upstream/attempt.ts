import { rawUsage } from '../cost/usage.js';
import type { Deployment, ModelGroup } from '../deployment.js';
import { badRequest, type ErrorClass, GatewayError, toGatewayError } from '../errors.js';
import type { ClientLink, ClientWatcher } from '../http/client-link.js';
import { BytesDecoder, isMediaKind, mediaUsage, plainTextAnswer } from '../media/units.js';
import { mockChunks, mockResponse } from '../mock.js';
import { badUpstreamAnswer } from '../providers/errors.js';
import type { CallContext } from '../providers/types.js';
import type { Outcome, RouteRequest, UpstreamHeaders } from '../router/attempt.js';
import type { RouterDeps } from '../router/dispatch.js';
import { substitute } from '../router/resolve.js';
import type { SettledAttempt } from '../state/router-state.js';
import type { EndpointKind, JsonObject, OpenAIResponse } from '../wire.js';
import { messagesCall, upstreamBody } from './body.js';
import { type Exchange, failureOf, type WholeResponse } from './client.js';
import type { Deadline } from './deadlines.js';
import { type AttemptResult, type AttemptStatus, type AttemptTimings, type TokenUsage, tokenUsage } from './result.js';
import { AttemptStream, type StreamOwner } from './stream.js';

const ERROR_BODY_LIMIT = 64 * 1024;
/** a non-stream answer larger than this is cut off (and reported as broken) */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

// what the attempt is waiting for: the deadline and the error a failure becomes depend on it
const PREPARE = 0;
const ANSWER = 1;
const FIRST_TOKEN = 2;
const STREAMING = 3;

/** The router's default runner: one real upstream call (or a mock_response). */
export function runAttempt(
  deps: RouterDeps,
  dep: Deployment,
  group: ModelGroup,
  req: RouteRequest,
  captures: string[] | undefined,
): Promise<Outcome> {
  return new Attempt(deps, dep, group, req, captures).run();
}

/**
 * One upstream call, from dispatch to settle: build the request, send it through the origin's pool,
 * map errors, hand back the parsed answer or the stream (once its first token arrived). It is its own
 * deadline (the whole answer; for streams the headers, then the first token) and its own client
 * watcher, and it settles exactly once, whatever happens (answer, failure, timeout, client gone, a
 * stream's end or abandonment): RouterState bookkeeping in one call, then onto `req.attempts`.
 */
export class Attempt implements AttemptResult, AttemptTimings, SettledAttempt, Deadline, ClientWatcher, StreamOwner {
  status: AttemptStatus = 'ok';
  error?: GatewayError;
  errorClass?: ErrorClass;
  readonly stream: boolean;
  // AttemptTimings (performance.now()), kept on the attempt itself: one object less per call
  readonly start = performance.now();
  firstByte?: number = undefined;
  firstToken?: number = undefined;
  end = 0;
  readonly groupSize: number;
  windowTokens = 0;
  latencyMs = -1;
  /** Deadline: its slot among the client's pending deadlines (LiveSet) */
  liveSlot = -1;
  fault?: GatewayError;
  /** the current deadline (epoch ms) */
  at = 0;
  private phase = PREPARE;
  /** while the upstream request is being built: a failure then is the engine's, unless the network's */
  private building = false;
  private timedOut = false;
  private settled = false;
  private readonly counted: boolean;
  private ex?: Exchange;
  private label = '';
  private timeoutMs = 0;
  private firstTokenMs = 0;
  /** where usage is read from: the whole answer, or what the stream reported */
  private answer?: { response: OpenAIResponse; raw?: Buffer };
  private reported?: JsonObject;
  private parsedUsage?: TokenUsage | null;

  constructor(
    private readonly deps: RouterDeps,
    readonly deployment: Deployment,
    group: ModelGroup,
    private readonly req: RouteRequest,
    private readonly captures?: string[],
  ) {
    this.stream = req.stream;
    this.groupSize = group.deployments.length;
    // the usage window counts only where limits or usage-based routing read it
    const d = deployment;
    this.counted = d.rpm !== undefined || d.tpm !== undefined || deps.table.settings.strategy.readsUsage === true;
  }

  get timings(): AttemptTimings {
    return this;
  }

  /** Tokens as the upstream reported them (read on demand: a passed-through answer is parsed only if asked). */
  get usage(): TokenUsage | undefined {
    if (this.parsedUsage === undefined && this.settled) {
      // a passed-through answer: only its usage object is parsed, never the whole body
      const a = this.answer;
      const fromAnswer = a && ((a.raw && rawUsage(a.raw)) || a.response.usage);
      const u = tokenUsage(this.reported ?? fromAnswer);
      const kind = this.req.kind;
      // media endpoints bill units too (images, queries, characters, seconds), read from the answer or request
      this.parsedUsage = (isMediaKind(kind) ? mediaUsage(kind, this.req.body, a?.response, u) : u) ?? null;
    }
    return this.parsedUsage ?? undefined;
  }

  /** Make the call. Resolves with the answer, rejects with the failure (a GatewayError); settles either way. */
  async run(): Promise<Outcome> {
    const dep = this.deployment;
    const req = this.req;
    const client = this.deps.client;
    const now = Date.now();
    const w = this.deps.state.begin(dep, this.counted, now);
    if (w) detach(w);
    try {
      const model = substitute(dep.model, this.captures);
      const mock = req.body.mock_response ?? dep.mockResponse;
      if (mock !== undefined && mock !== null) return this.mock(mock, model);
      const adapter = dep.adapter!;
      // the Responses API: natively where the adapter serves it, else the chat translation in `req.body`
      const native = req.native && adapter.responses ? req.native : undefined;
      if (!native && req.native?.error) throw req.native.error;
      // an Anthropic Messages request goes untranslated to a deployment that speaks that API
      const messages = req.nativeMessages;
      const nm = messages && adapter.messages?.accepts(dep.state, model) ? adapter.messages : undefined;
      if (!native && nm === undefined) {
        const u = messages?.untranslatable;
        if (u) {
          throw badRequest(
            `${u.message}: ${dep.modelName} is served by ${adapter.label} (${dep.litellmModel}), which gets ` +
              'requests translated to its own API; server tools and the like need an Anthropic, Bedrock or ' +
              'Vertex AI Claude deployment',
            u.param ?? 'tools',
          );
        }
        if (!adapter.endpoints.includes(req.kind)) {
          throw badRequest(`${adapter.label} (${dep.litellmModel}) does not serve ${req.kind} requests`, 'model');
        }
      }
      const body = nm
        ? req.body
        : upstreamBody(dep, adapter, native ? native.body : req.body, model, req.stream, !isMediaKind(req.kind));
      if (native?.adjust) native.adjust(body);
      const t = req.body.timeout;
      const timeoutMs = typeof t === 'number' && t > 0 ? t * 1000 : req.stream ? dep.streamTimeoutMs : dep.timeoutMs;
      this.timeoutMs = timeoutMs;
      this.label = adapter.label;
      // one deadline for the whole answer (non-stream) or until the headers (stream; then bodyTimeout guards gaps)
      this.phase = ANSWER;
      this.at = now + timeoutMs;
      client.deadlines.add(this);
      req.client.watch(this);
      const call = new Call(req.kind, body, model, req.stream, req.requestId, req.client);
      this.building = true;
      const built = nm
        ? nm.request(dep.state, messagesCall(messages!, model, req.stream))
        : native
          ? adapter.responses!.buildRequest(dep.state, call)
          : adapter.buildRequest(dep.state, call);
      const upstreamReq = built instanceof Promise ? await built : built;
      this.building = false;
      if (req.client.gone) throw new Error('the client went away');
      if (this.timedOut) throw new Error('deadline passed');
      // the deadline covers the whole answer (streams: until the headers), so undici needs no timers of
      // its own (each lives ~0.5 s in its timer wheel); a stream keeps bodyTimeout for silent gaps
      const ex = (this.ex = client.send(upstreamReq, {
        headersTimeout: 0,
        bodyTimeout: req.stream ? timeoutMs : 0,
        mode: req.stream ? 'stream' : 'whole',
        limit: req.stream ? ERROR_BODY_LIMIT : MAX_ANSWER_BYTES,
      }));
      const answer = req.stream ? await ex.head! : await ex.whole!;
      this.firstByte = ex.headersAt || undefined;
      if (answer.status >= 400) {
        const { status, headers, body: b } = answer as WholeResponse;
        throw adapter.mapError(dep.state, { status, headers, body: b.toString('utf8', 0, ERROR_BODY_LIMIT) });
      }
      client.deadlines.remove(this);
      if (!req.stream) {
        const upstreamMs = (this.latencyMs = performance.now() - this.start);
        const raw = (answer as WholeResponse).body;
        let out: Outcome;
        const plain = plainTextAnswer(req.kind, body);
        if (nm) out = new NativeAnswer(dep, raw, upstreamMs, ex.headers, (json) => nm.view(dep.state, model, json));
        else if (plain !== undefined) {
          // a transcription as text / srt / vtt: the client gets the text as it came
          out = new RawAnswer(dep, raw, upstreamMs, ex.headers, plain, { text: raw.toString('utf8') });
        } else if (!native && adapter.passthrough?.(dep.state, call, raw))
          out = new RawAnswer(dep, raw, upstreamMs, ex.headers);
        else {
          const text = raw.toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            throw badUpstreamAnswer(adapter.label, `an answer that is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
          }
          const response = native ? native.parse(adapter.label, json) : adapter.parseResponse(dep.state, call, json);
          out = { type: 'json', deployment: dep, response, upstreamMs, headers: ex.headers };
          if (native) out.native = true;
        }
        this.answer = out;
        this.settle(undefined, false);
        return out;
      }
      // the headers are good: now the deadline bounds the wait for the first token (stream_timeout)
      this.phase = FIRST_TOKEN;
      this.firstTokenMs = firstTokenMs(dep, req.body);
      this.at = now + this.firstTokenMs;
      client.deadlines.add(this);
      // speech is audio bytes: passed on as they come, whatever the provider
      const decoder =
        req.kind === 'audio_speech'
          ? new BytesDecoder()
          : nm
            ? nm.decoder(dep.state, model)
            : native
              ? native.decoder(adapter.label)
              : adapter.streamDecoder(dep.state, call);
      const stream = new AttemptStream(this, ex, decoder);
      await stream.start();
      client.deadlines.remove(this);
      this.phase = STREAMING;
      const t1 = (this.firstToken = performance.now());
      const upstreamMs = (this.latencyMs = t1 - this.start);
      const out: Outcome = { type: 'stream', deployment: dep, chunks: stream, upstreamMs, headers: ex.headers };
      if (native || nm) out.native = true;
      return out;
    } catch (e) {
      const err = this.errorOf(e);
      this.settle(err, false);
      throw err;
    }
  }

  /** A mock_response answer: no upstream; a mock stream settles when it has been read. */
  private mock(mock: unknown, model: string): Outcome {
    const req = this.req;
    const dep = this.deployment;
    if (typeof mock !== 'string' && typeof mock !== 'object') {
      throw badRequest('mock_response: expected a string or an object', 'mock_response');
    }
    const m = mock as string | JsonObject;
    if (!req.stream) {
      const response = mockResponse(req.kind, req.body, m, model);
      const out: Outcome = { type: 'json', deployment: dep, response, upstreamMs: 0 };
      this.answer = out;
      this.settle(undefined, false);
      return out;
    }
    const chunks = new AttemptStream(this, undefined, undefined, mockChunks(req.kind, req.body, m, model));
    const t1 = (this.firstToken = performance.now());
    this.latencyMs = t1 - this.start;
    return { type: 'stream', deployment: dep, chunks, upstreamMs: 0 };
  }

  /** The error a failure becomes, by what the attempt was waiting for. */
  errorOf(e: unknown): GatewayError {
    const phase = this.phase;
    // the engine's own failure (not a socket's: those carry a code) is never the deployment's fault
    if (phase === PREPARE || (this.building && !this.timedOut && !(e as { code?: unknown })?.code))
      return toGatewayError(e);
    if (phase === FIRST_TOKEN && this.timedOut) {
      const label = this.label;
      return new GatewayError(408, {
        message: `${label} sent no first token within the stream timeout (${this.firstTokenMs / 1000}s)`,
        code: 'timeout',
        errorClass: 'timeout',
        provider: label,
      });
    }
    return failureOf(e, this.label, this.timedOut, this.timeoutMs);
  }

  /** StreamOwner: the stream of this attempt ended. */
  ended(err: GatewayError | undefined, abandoned: boolean, usage: JsonObject | undefined): void {
    this.reported = usage;
    this.settle(err, abandoned);
  }

  /** Deadline: the answer (or first token) is late. */
  onExpire(): void {
    this.timedOut = true;
    this.ex?.abort(new Error('deadline passed'));
  }

  /** ClientWatcher: nobody is waiting for the answer any more. */
  clientGone(): void {
    this.ex?.abort(new Error('the client went away'));
  }

  /**
   * Settle, once: the outcome (a failure while the client is gone is the client's abort, never the
   * deployment's fault), timings, the RouterState write, and the result onto `req.attempts`.
   */
  private settle(err: GatewayError | undefined, abandoned: boolean): void {
    if (this.settled) return;
    this.settled = true;
    const req = this.req;
    const deps = this.deps;
    if (this.phase !== PREPARE) {
      deps.client.deadlines.remove(this);
      req.client.unwatch(this);
    }
    const end = (this.end = performance.now());
    if (err !== undefined) {
      this.errorClass = err.errorClass;
      if (req.client.gone) this.status = 'client_abort';
      else {
        this.status = 'error';
        this.error = this.fault = err;
      }
      // a timeout says how slow the deployment is; other failures say nothing about its speed
      if (this.latencyMs < 0 && err.errorClass === 'timeout') this.latencyMs = end - this.start;
    } else if (abandoned) this.status = 'client_abort';
    else if (this.latencyMs < 0) this.latencyMs = end - this.start;
    if (this.status !== 'ok') this.ex?.abort(new Error('stream abandoned'));
    if (this.counted) this.windowTokens = this.usage?.total ?? 0;
    const w = deps.state.settle(this, deps.table.settings, Date.now());
    if (w) detach(w);
    req.attempts?.push(this);
  }
}

/** The first-token deadline of a stream: the request's stream_timeout / timeout, else the deployment's. */
function firstTokenMs(dep: Deployment, body: JsonObject): number {
  const v = typeof body.stream_timeout === 'number' ? body.stream_timeout : body.timeout;
  return typeof v === 'number' && v > 0 ? v * 1000 : dep.streamTimeoutMs;
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

  constructor(
    readonly deployment: Deployment,
    readonly raw: Buffer,
    readonly upstreamMs: number,
    readonly headers: UpstreamHeaders,
    /** set when the answer is not JSON (then `parsed` is its view, given) */
    readonly contentType?: string,
    private parsed?: OpenAIResponse,
  ) {}

  get response(): OpenAIResponse {
    return (this.parsed ??= JSON.parse(this.raw.toString('utf8')) as OpenAIResponse);
  }
}

/**
 * A Messages answer from a native deployment: `raw` goes to the client as the upstream wrote it; `response`
 * is its OpenAI view (usage, logs), made on first read. Not JSON: the client still gets the bytes.
 */
class NativeAnswer {
  readonly type = 'json' as const;
  readonly native = true as const;
  private parsed?: OpenAIResponse;

  constructor(
    readonly deployment: Deployment,
    readonly raw: Buffer,
    readonly upstreamMs: number,
    readonly headers: UpstreamHeaders,
    private readonly view: (json: unknown) => OpenAIResponse,
  ) {}

  get response(): OpenAIResponse {
    if (this.parsed) return this.parsed;
    try {
      this.parsed = this.view(JSON.parse(this.raw.toString('utf8')));
    } catch {
      this.parsed = { object: 'chat.completion', choices: [] };
    }
    return this.parsed;
  }
}

/** A state write the attempt does not wait for (a store's writes never reject; this only keeps a bug quiet). */
function detach(p: Promise<void>): void {
  p.then(undefined, ignore);
}

function ignore(): void {}
