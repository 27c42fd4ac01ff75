import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { VERSION } from '../../version.js';
import { ANONYMOUS, endUserOf, forEndUser, type Principal, principalFields } from '../auth/principal.js';
import type { DeadlineCut, EngineContext } from '../context.js';
import { callCost, priceOf } from '../cost/cost.js';
import { rawUsage } from '../cost/usage.js';
import { type GatewayError, toGatewayError } from '../errors.js';
import type { AdmitTicket } from '../governance/types.js';
import { isMediaKind, mediaUsage } from '../media/units.js';
import { redactError } from '../observability/logger.js';
import type { SettledEndpoint, SettledEvent } from '../observability/settled.js';
import { publicBase, type SettledSource, settledEvent } from '../observability/settled-event.js';
import type { RouteRequest } from '../router/attempt.js';
import type { RoutedOutcome } from '../router/dispatch.js';
import { type AttemptResult, tokenUsage } from '../upstream/result.js';
import type { EndpointKind, JsonObject, OpenAIChunk } from '../wire.js';
import { ClientLink } from './client-link.js';
import { drained, sendError, sendJson } from './respond.js';

export type Headers = Record<string, string | number>;

/** What differs between the APIs the engine speaks (OpenAI, Anthropic): the request-id headers and error shapes. */
export interface ApiFormat {
  /** the headers every response starts with */
  headers(requestId: string): Headers;
  /** the JSON body of an error sent before the response started */
  errorBody(err: GatewayError, requestId: string): string;
  /** the SSE text that ends a stream which failed after it started */
  streamError(err: GatewayError): string;
  /** the HTTP status of an error in this API, when it differs from the engine's (Anthropic: 529 overloaded) */
  errorStatus?(err: GatewayError): number;
}

/** One stream's framing (one per request: it may keep state, such as open blocks or usage seen). */
export interface StreamFraming {
  /** written right after the headers; '' sends the headers alone */
  start(): string;
  /** the SSE text for a batch of chunks (may be '') */
  push(batch: OpenAIChunk[]): string;
  /** the SSE text that ends a stream that finished */
  finish(): string;
}

/** The OpenAI shape: `{"error":{...}}`, and an error event then `[DONE]` in a stream. Also the server's own errors. */
export const OPENAI_FORMAT: ApiFormat = {
  headers: (requestId) => ({ 'x-request-id': requestId }),
  errorBody: (err) => JSON.stringify(err.toJSON()),
  streamError: (err) => `data: ${JSON.stringify(err.toJSON())}\n\ndata: [DONE]\n\n`, // clients never hang
};

/**
 * The one writer of every response: headers (`x-request-id`, `x-litellm-*`, `connection: close` while
 * draining), JSON answers, the SSE loop with backpressure, errors with their logging, and, for the
 * inference endpoints, the request's one settled event. One per request, made by the server.
 */
export class ResponseWriter implements SettledSource, DeadlineCut {
  principal: Principal = ANONYMOUS;
  /** DeadlineCut: its slot among the engine's open requests (LiveSet) */
  liveSlot = -1;
  /** the client's parsed body, set by the endpoint as soon as it is read */
  body?: JsonObject;
  /** known once routed (before that, the event reads the body's `stream`) */
  stream?: boolean;
  outcome?: RoutedOutcome;
  /** collected only while someone subscribes to settled events (else nothing is built) */
  attempts?: AttemptResult[];
  firstTokenAt?: number;
  streamUsage?: unknown;
  /** a stream's text, assembled only while a sink wants content (`SettledBus.content`) */
  streamText?: string;
  /** the request's W3C `traceparent`, kept only while a tracing sink wants it (`SettledBus.trace`) */
  traceparent?: string;
  /** `x-litellm-tags`, `x-litellm-spend-logs-metadata`, `x-litellm-enable-message-redaction`: kept only when sent */
  headerTags?: string;
  spendLogsHeader?: string;
  redact?: boolean;
  /** the response cache's key for this request (`x-litellm-cache-key`), and whether the answer came from it */
  cacheKey?: string;
  cacheHit?: boolean;
  readonly headers: Headers;
  readonly link: ClientLink;
  private settled = false;
  /** the answer is a binary stream (sendBytes) */
  private binary = false;
  /** set when the drain deadline answered this request (`cutAtDeadline`): nothing else is written */
  private cut?: GatewayError;
  /** what admission (virtual keys: budgets, limits) holds for this request until it settles */
  private ticket?: AdmitTicket;

  constructor(
    private readonly ctx: EngineContext,
    readonly res: ServerResponse,
    readonly requestId: string,
    readonly t0: number,
    readonly format: ApiFormat,
    /** set for the inference endpoints: they settle with one event */
    readonly endpoint?: SettledEndpoint,
  ) {
    this.headers = format.headers(requestId);
    this.link = ClientLink.attach(res);
    if (endpoint) {
      ctx.settling++;
      ctx.open.add(this);
    }
  }

  /** Authenticate the request; a promise only when the authenticator is async. */
  authenticate(headers: IncomingHttpHeaders): Promise<void> | undefined {
    if (this.endpoint) takeCallHeaders(this, headers, this.ctx.settled.trace);
    const p = this.ctx.auth.authenticate(headers);
    if (!(p instanceof Promise)) {
      this.principal = p;
      return undefined;
    }
    return p.then((principal) => {
      this.principal = principal;
    });
  }

  /**
   * Admission, once the body is read and before routing (virtual keys: model access, budgets, rate limits).
   * Throws the refusal; a promise only when admission is async. Nothing happens without governance.
   */
  admit(model: string, body: JsonObject, headers: IncomingHttpHeaders): Promise<void> | undefined {
    if (!this.endpoint) return undefined;
    const t = admitTicket(this.ctx, this.principal, this.endpoint, model, body, headers);
    if (!(t instanceof Promise)) {
      this.hold(t);
      return undefined;
    }
    return t.then((ticket) => this.hold(ticket));
  }

  /** Keep the ticket; its headers (the key's `x-ratelimit-*`) go out with the answer, before upstream ones. */
  private hold(ticket: AdmitTicket | undefined): void {
    this.ticket = ticket;
    if (ticket?.headers) Object.assign(this.headers, ticket.headers);
  }

  /** The router's view of this request (the client's parsed body is `body`, or its translation). */
  route(kind: EndpointKind, body: JsonObject, model: string, stream: boolean): RouteRequest {
    this.stream = stream;
    if (this.endpoint && (this.ctx.settled.active || this.ticket)) this.attempts = [];
    const { requestId, link: client, principal, attempts } = this;
    return { kind, body, model, stream, requestId, client, principal, attempts };
  }

  /** A whole answer: 200, the routing headers, `body` as is (JSON unless `contentType` says otherwise). */
  sendAnswer(outcome: RoutedOutcome, body: string | Buffer, contentType?: string): void {
    if (this.cut) return;
    const headers = this.answerHeaders(outcome);
    if (contentType === undefined) sendJson(this.res, 200, body, headers);
    else {
      headers['content-type'] = contentType;
      headers['content-length'] = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
      this.res.writeHead(200, headers);
      this.res.end(body);
    }
    if (this.attempts) this.firstTokenAt = performance.now();
    this.settle(this.link.gone ? 'client_abort' : 'success', 200);
  }

  /** SSE out, batch by batch with backpressure; a failure after the start ends with the format's error event. */
  async sendStream(outcome: RoutedOutcome & { type: 'stream' }, framing: StreamFraming): Promise<void> {
    if (this.cut) return;
    const res = this.res;
    const headers = this.answerHeaders(outcome);
    headers['content-type'] = 'text/event-stream';
    headers['cache-control'] = 'no-cache';
    headers['x-accel-buffering'] = 'no';
    res.writeHead(200, headers);
    const head = framing.start();
    if (head === '') res.flushHeaders();
    else res.write(head);
    const record = this.attempts !== undefined;
    let gone = false;
    try {
      for await (const batch of outcome.chunks) {
        if (record) this.see(batch);
        const out = framing.push(batch);
        // the client left: leaving the loop returns the iterator, which ends the upstream read
        if ((gone = res.destroyed) || this.cut) break;
        if (out !== '') {
          if (record && this.firstTokenAt === undefined) this.firstTokenAt = performance.now();
          if (!res.write(out)) await drained(res);
        }
        if ((gone = res.destroyed) || this.cut) break;
      }
      if (this.cut) return this.settle('failure', 200, this.cut);
      if (!gone) res.end(framing.finish());
    } catch (e) {
      if (this.cut) return this.settle('failure', 200, this.cut); // the read ended because the deadline cut it
      if (res.destroyed) return this.settle('client_abort', 200);
      const err = redactError(toGatewayError(e), this.ctx.secretValues);
      if (this.ctx.debug || err.errorClass === 'internal') {
        this.ctx.logger.warn(this.logFields({ status: err.status, error: err.message }), 'stream failed');
      }
      res.end(this.format.streamError(err));
      return this.settle('failure', 200, err);
    }
    this.settle(gone ? 'client_abort' : 'success', 200);
  }

  /**
   * A binary stream out as it comes (`/v1/audio/speech`): each chunk's `bytes`, with backpressure, under
   * `contentType`. A failure after the start can only cut the response (binary has no error event).
   */
  async sendBytes(outcome: RoutedOutcome & { type: 'stream' }, contentType: string): Promise<void> {
    if (this.cut) return;
    const res = this.res;
    const headers = this.answerHeaders(outcome);
    headers['content-type'] = contentType;
    this.binary = true;
    res.writeHead(200, headers);
    res.flushHeaders();
    let gone = false;
    try {
      for await (const batch of outcome.chunks) {
        if ((gone = res.destroyed) || this.cut) break;
        for (const c of batch) {
          const b = c.bytes as Uint8Array | undefined;
          if (b === undefined || b.length === 0) continue;
          if (this.attempts && this.firstTokenAt === undefined) this.firstTokenAt = performance.now();
          if (!res.write(b)) await drained(res);
        }
        if ((gone = res.destroyed) || this.cut) break;
      }
      if (this.cut) return this.settle('failure', 200, this.cut);
      if (!gone) res.end();
    } catch (e) {
      if (this.cut) return this.settle('failure', 200, this.cut);
      if (res.destroyed) return this.settle('client_abort', 200);
      const err = redactError(toGatewayError(e), this.ctx.secretValues);
      if (this.ctx.debug || err.errorClass === 'internal')
        this.ctx.logger.warn(this.logFields({ status: err.status, error: err.message }), 'stream failed');
      res.destroy();
      return this.settle('failure', 200, err);
    }
    this.settle(gone ? 'client_abort' : 'success', 200);
  }

  /**
   * The drain deadline passed with this request open: answer it in its API's words, so the client knows it was
   * cut (a stream under way: the error event, then `[DONE]` for OpenAI, `event: error` for Anthropic; one not
   * answered yet, a stream waiting for its first token included: the error as a 503, Anthropic's 529), and end
   * the upstream call (firing the link aborts the attempt). It settles as a failure with `err`; whatever the
   * handler would still write is dropped.
   */
  cutAtDeadline(err: GatewayError): Promise<void> {
    const res = this.res;
    if (this.cut || res.destroyed || res.writableEnded) return Promise.resolve();
    this.cut = err;
    const flushed = new Promise<void>((resolve) => {
      res.once('finish', resolve);
      res.once('close', resolve);
    });
    if (res.headersSent) {
      // sendStream / sendBytes settle when their loop sees `cut`; a binary stream has no error event to end with
      if (this.binary) res.destroy();
      else res.end(this.format.streamError(err));
    } else {
      const status = this.format.errorStatus?.(err) ?? err.status;
      const headers = { ...this.headers, connection: 'close' };
      sendError(res, err, headers, this.format.errorBody(err, this.requestId), status);
      this.settle('failure', status, err);
    }
    this.link.fire();
    return flushed;
  }

  /** Anything thrown before the answer started: masked, logged, sent in the API's shape (or the response cut). */
  fail(e: unknown): void {
    if (this.cut) return; // answered at the drain deadline: what failed since is that cut
    const res = this.res;
    const gone = res.destroyed;
    const started = res.headersSent;
    const err = redactError(toGatewayError(e), this.ctx.secretValues);
    const log = this.ctx.logger;
    // a client that left (mid-upload included: the body read fails with "aborted") is no engine error, and
    // logging each at error level with a stack would let anyone flood the logs
    if (gone || this.link.gone) {
      if (this.ctx.debug) log.debug(this.logFields({ error: err.message }), 'client went away');
    } else if (err.errorClass === 'internal') {
      log.error(this.logFields({ error: e instanceof Error ? e.stack : String(e) }), 'internal error');
    } else if (this.ctx.debug) log.debug(this.logFields({ status: err.status, error: err.message }), 'request failed');
    // after a failed answer (a header it cannot send): the error goes out with the first headers only
    const headers = this.outcome ? this.format.headers(this.requestId) : this.headers;
    const status = this.format.errorStatus?.(err) ?? err.status;
    if (!gone) sendError(res, err, headers, this.format.errorBody(err, this.requestId), status);
    if (gone) this.settle('client_abort', started ? res.statusCode : 499);
    else this.settle('failure', started ? res.statusCode : status, err);
  }

  /** `requestId`, the principal's fields (end user included) and `extra`, for a log line of this request. */
  logFields(extra: Record<string, unknown>): Record<string, unknown> {
    const principal = forEndUser(this.principal, endUserOf(this.body));
    const cache = this.cacheKey === undefined ? undefined : { cache: this.cacheHit ? 'hit' : 'miss' };
    return { requestId: this.requestId, ...principalFields(principal), ...cache, ...extra };
  }

  private answerHeaders(outcome: RoutedOutcome): Headers {
    this.outcome = outcome;
    const h = this.headers;
    const dep = outcome.deployment;
    const ms = performance.now() - this.t0;
    h['x-litellm-call-id'] = this.requestId;
    if (this.cacheKey !== undefined) h['x-litellm-cache-key'] = this.cacheKey;
    if (this.cacheHit) return this.cachedHeaders(h, dep.modelName, ms);
    h['x-litellm-model-id'] = dep.id;
    h['x-litellm-model-group'] = dep.modelName;
    if (dep.apiBase !== undefined) h['x-litellm-model-api-base'] = publicBase(dep, this.ctx.secretValues);
    // a whole answer's cost (a stream's is known at its end: the settled event carries it)
    if (outcome.type === 'json') {
      const price = priceOf(dep, this.body?.model);
      // the answering attempt already read the usage (once, cached); without attempts, read it here
      const answered = this.attempts?.[this.attempts.length - 1];
      let usage = !price
        ? undefined
        : (answered?.usage ?? tokenUsage((outcome.raw && rawUsage(outcome.raw)) || outcome.response.usage));
      const kind = this.endpoint;
      if (price && !answered && kind !== 'messages' && kind !== 'responses' && kind !== undefined && isMediaKind(kind))
        usage = mediaUsage(kind, this.body, outcome.response, usage);
      if (usage) h['x-litellm-response-cost'] = String(callCost(price!, usage, outcome.upstreamMs));
    }
    h['x-litellm-response-duration-ms'] = ms.toFixed(3);
    h['x-litellm-overhead-duration-ms'] = (ms - outcome.upstreamMs).toFixed(3);
    h['x-litellm-attempted-retries'] = outcome.attemptedRetries ?? 0;
    h['x-litellm-attempted-fallbacks'] = outcome.attemptedFallbacks ?? 0;
    h['x-litellm-version'] = VERSION;
    const up = outcome.headers;
    if (up !== undefined) {
      for (const k in up) {
        const v = up[k];
        // the key's own limits (set at admission) win over the provider's, as in LiteLLM
        if (v !== undefined && k.startsWith('x-ratelimit-') && !(k in h)) h[k] = Array.isArray(v) ? v.join(', ') : v;
      }
    }
    if (this.ctx.draining) h.connection = 'close';
    return h;
  }

  /** A cached answer's headers: its model group, no deployment, no upstream time, a cost of 0. */
  private cachedHeaders(h: Headers, group: string, ms: number): Headers {
    h['x-litellm-model-group'] = group;
    h['x-litellm-response-cost'] = '0';
    h['x-litellm-response-duration-ms'] = ms.toFixed(3);
    h['x-litellm-overhead-duration-ms'] = ms.toFixed(3);
    h['x-litellm-attempted-retries'] = 0;
    h['x-litellm-attempted-fallbacks'] = 0;
    h['x-litellm-version'] = VERSION;
    if (this.ctx.draining) h.connection = 'close';
    return h;
  }

  /** Keep the usage a stream reports (the settled event's fallback until attempts report it). */
  private see(batch: OpenAIChunk[]): void {
    const text = this.ctx.settled.content && this.redact !== true;
    for (const c of batch) {
      if (c.usage !== undefined && c.usage !== null) this.streamUsage = c.usage;
      if (text) this.streamText = (this.streamText ?? '') + chunkText(c);
    }
  }

  /** Exactly once per inference request: emit its settled event (built only when someone listens). */
  private settle(status: SettledEvent['status'], httpStatus: number, err?: GatewayError): void {
    if (!this.endpoint || this.settled) return;
    this.settled = true;
    this.ctx.settling--;
    this.ctx.open.delete(this);
    emitSettled(this.ctx, this, this.ticket, status, httpStatus, err, (x) => this.logFields(x));
  }

  /**
   * A batch request (`"model": "a,b"`) is accounted by its sub-calls, each settling its own event
   * (`SubCall`): the request itself settles none. Called once they all settled.
   */
  settledBySubCalls(): void {
    if (!this.endpoint || this.settled) return;
    this.settled = true;
    this.ctx.settling--;
  }

  /** One sub-call of a batch request, for `model`: its own call id (`<request id>.<n>`), attempts and event. */
  subCall(n: number): SubCall {
    return new SubCall(this.ctx, this, `${this.requestId}.${n}`);
  }
}

/**
 * One model's call within a batch request (`"model": "a,b"`): admitted, routed and settled on its own (its own
 * call id, attempts, usage, cost and admission ticket), sharing the request's principal, client and headers.
 */
export class SubCall implements SettledSource {
  readonly principal: Principal;
  readonly endpoint?: SettledEndpoint;
  readonly t0: number;
  readonly traceparent?: string;
  readonly headerTags?: string;
  readonly spendLogsHeader?: string;
  readonly redact?: boolean;
  body?: JsonObject;
  outcome?: RoutedOutcome;
  attempts?: AttemptResult[];
  firstTokenAt?: number;
  readonly stream = false;
  private ticket?: AdmitTicket;
  private settled = false;

  constructor(
    private readonly ctx: EngineContext,
    private readonly parent: ResponseWriter,
    readonly requestId: string,
  ) {
    this.principal = parent.principal;
    this.endpoint = parent.endpoint;
    this.t0 = parent.t0;
    this.traceparent = parent.traceparent;
    this.headerTags = parent.headerTags;
    this.spendLogsHeader = parent.spendLogsHeader;
    this.redact = parent.redact;
  }

  /** Admission for this model (access, budgets, limits), as a request of its own. */
  async admit(model: string, body: JsonObject, headers: IncomingHttpHeaders): Promise<void> {
    this.body = body;
    if (this.endpoint) this.ticket = await admitTicket(this.ctx, this.principal, this.endpoint, model, body, headers);
  }

  route(body: JsonObject, model: string): RouteRequest {
    this.body = body;
    if (this.endpoint && (this.ctx.settled.active || this.ticket)) this.attempts = [];
    const { requestId, principal, attempts } = this;
    return { kind: 'chat', body, model, stream: false, requestId, client: this.parent.link, principal, attempts };
  }

  /** The sub-call answered (its answer goes into the request's list). */
  answered(outcome: RoutedOutcome): void {
    this.outcome = outcome;
    this.firstTokenAt = performance.now();
    this.settle(this.parent.link.gone ? 'client_abort' : 'success', 200);
  }

  /** The sub-call failed with `err` (already masked): its slot in the list holds the error. */
  failed(err: GatewayError): void {
    if (this.parent.link.gone) this.settle('client_abort', 499);
    else this.settle('failure', err.status, err);
  }

  private settle(status: SettledEvent['status'], httpStatus: number, err?: GatewayError): void {
    if (this.settled) return;
    this.settled = true;
    emitSettled(this.ctx, this, this.ticket, status, httpStatus, err, (x) =>
      this.parent.logFields({ ...x, requestId: this.requestId }),
    );
  }
}

/** Admission's ticket for one call (virtual keys: model access, budgets, rate limits); none without governance. */
export function admitTicket(
  ctx: EngineContext,
  principal: Principal,
  endpoint: SettledEndpoint,
  model: string,
  body: JsonObject,
  headers: IncomingHttpHeaders,
): AdmitTicket | undefined | Promise<AdmitTicket | undefined> {
  const adm = ctx.admission;
  if (!adm) return undefined;
  const endUserId = customerOf(headers) ?? endUserOf(body);
  return adm.admit(principal, { endpoint, model, body, headers, endUserId });
}

/**
 * Build and emit one call's settled event, and give it to its admission ticket (only when someone listens).
 * `amend` corrects what the source could not say (a pass-through target's own reported cost).
 */
export function emitSettled(
  ctx: EngineContext,
  src: SettledSource,
  ticket: AdmitTicket | undefined,
  status: SettledEvent['status'],
  httpStatus: number,
  err: GatewayError | undefined,
  logFields: (extra: Record<string, unknown>) => Record<string, unknown>,
  amend?: (e: SettledEvent) => void,
): void {
  const bus = ctx.settled;
  if (!bus.active && !ticket) return;
  const event = settledEvent(src, status, httpStatus, err, ctx.secretValues, bus);
  amend?.(event);
  if (ticket) {
    try {
      ticket.settle(event);
    } catch (e) {
      ctx.logger.warn(logFields({ error: (e as Error).message }), 'admission settle failed');
    }
  }
  bus.emit(event);
}

/** What a call's settled event takes from its request headers (each kept only when sent). */
export interface CallHeaders {
  traceparent?: string;
  headerTags?: string;
  spendLogsHeader?: string;
  redact?: boolean;
}

/**
 * Keep a call's `traceparent` (only while a tracing sink wants it: `trace`), `x-litellm-tags`,
 * `x-litellm-spend-logs-metadata` and `x-litellm-enable-message-redaction` on `into`: a lookup each, parsed
 * only when the call settles.
 */
export function takeCallHeaders(into: CallHeaders, headers: IncomingHttpHeaders, trace: boolean): void {
  if (trace && typeof headers.traceparent === 'string') into.traceparent = headers.traceparent;
  const tags = headers['x-litellm-tags'];
  if (typeof tags === 'string') into.headerTags = tags;
  const spend = headers['x-litellm-spend-logs-metadata'];
  if (typeof spend === 'string') into.spendLogsHeader = spend;
  const redaction = headers['x-litellm-enable-message-redaction'];
  if (typeof redaction === 'string') into.redact = redaction.trim().toLowerCase() === 'true';
}

/** The end user a request names in LiteLLM's headers (`x-litellm-customer-id`, `x-litellm-end-user-id`). */
function customerOf(h: IncomingHttpHeaders): string | undefined {
  const v = h['x-litellm-customer-id'] ?? h['x-litellm-end-user-id'];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The text a chunk adds (chat `delta.content`, or a completion's `text`); '' when none. */
function chunkText(c: OpenAIChunk): string {
  const choices = c.choices;
  if (!Array.isArray(choices) || choices.length === 0) return '';
  const ch = choices[0] as { delta?: { content?: unknown }; text?: unknown } | null;
  const t = ch?.delta?.content ?? ch?.text;
  return typeof t === 'string' ? t : '';
}
