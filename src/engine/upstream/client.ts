import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type { Dispatcher, Pool as PoolType } from 'undici';
import { GatewayError } from '../errors.js';
import type { UpstreamRequest } from '../wire.js';
import { Deadlines } from './deadlines.js';

// Only the Pool class, not undici's index (fetch, websocket, mocks, caches): a quarter of the import
// time. Loaded with the first pool (an engine whose models all answer `mock_response` never loads it: ~25 ms
// of a cold start). Falls back to the package entry if undici moves it.
const require = createRequire(import.meta.url);
let Pool: typeof PoolType | undefined;
function poolClass(): typeof PoolType {
  if (Pool) return Pool;
  try {
    Pool = require('undici/lib/dispatcher/pool.js') as typeof PoolType;
  } catch {
    Pool = (require('undici') as { Pool: typeof PoolType }).Pool;
  }
  return Pool;
}

export interface SendOptions {
  /** ms to wait for response headers */
  headersTimeout: number;
  /** ms of silence allowed between body chunks */
  bodyTimeout: number;
  /**
   * `whole`: buffer the answer and resolve `whole` once (non-stream, health); `stream`: resolve `head`
   * at the headers and hand the body out through `chunks()`, pausing the upstream when the reader lags.
   */
  mode: 'whole' | 'stream';
  /** whole mode: stop reading (and abort) past this many bytes */
  limit?: number;
}

type Headers = Record<string, string | string[] | undefined>;

/** A whole upstream answer. */
export interface WholeResponse {
  status: number;
  headers: Headers;
  body: Buffer;
}

const STREAM_HIGH_WATER = 16;

/**
 * One upstream exchange, driven by undici's dispatch handler API: no Readable stream, no AbortSignal,
 * just callbacks and one promise per phase (the hot non-stream path allocates a single promise).
 */
export class Exchange implements Dispatcher.DispatchHandler {
  status = 0;
  headers: Headers = {};
  /** when the response headers arrived (performance.now()); 0 until then */
  headersAt = 0;
  private controller?: Dispatcher.DispatchController;
  private abortReason?: Error;
  private parts: Buffer[] = [];
  private size = 0;
  private ended = false;
  private error?: Error;
  private wake?: () => void;
  private resolve?: (v: never) => void;
  private reject?: (e: Error) => void;
  private readonly streaming: boolean;
  private readonly limit: number;
  /** whole mode: the answer, once complete */
  readonly whole?: Promise<WholeResponse>;
  /** stream mode: this exchange at the response headers, or the whole answer when its status is an error */
  readonly head?: Promise<Exchange | WholeResponse>;

  constructor(opts: SendOptions) {
    this.streaming = opts.mode === 'stream';
    this.limit = opts.limit ?? Infinity;
    const p = new Promise<never>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (this.streaming) this.head = p as Promise<Exchange | WholeResponse>;
    else this.whole = p as Promise<WholeResponse>;
  }

  /** Abort the exchange (client gone, deadline passed); pending reads reject with `reason`. */
  abort(reason: Error): void {
    if (this.ended || this.error) return;
    if (this.controller) this.controller.abort(reason);
    else this.abortReason = reason;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.abortReason) controller.abort(this.abortReason);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Headers): void {
    this.status = statusCode;
    this.headers = headers;
    this.headersAt = performance.now();
    // an error answer is read whole even on a stream request, for the adapter to map it
    if (this.streaming && statusCode < 400) this.finish(this);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.parts.push(chunk);
    this.size += chunk.length;
    if (this.streaming && this.status < 400) {
      if (this.parts.length >= STREAM_HIGH_WATER) controller.pause();
      this.notify();
    } else if (this.size >= this.limit) {
      this.ended = true;
      controller.abort(new Error('answer over the size limit'));
      this.finish({ status: this.status, headers: this.headers, body: Buffer.concat(this.parts, this.size) });
    }
  }

  onResponseEnd(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.streaming || this.status >= 400) {
      this.finish({
        status: this.status,
        headers: this.headers,
        body: this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.size),
      });
    } else this.notify();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.ended) return;
    this.error = err;
    const reject = this.reject;
    if (reject) {
      this.resolve = this.reject = undefined;
      reject(err);
    }
    this.notify();
  }

  private finish(v: WholeResponse | Exchange): void {
    const resolve = this.resolve;
    if (resolve) {
      this.resolve = this.reject = undefined;
      resolve(v as never);
    }
  }

  private notify(): void {
    const w = this.wake;
    if (w) {
      this.wake = undefined;
      w();
    }
  }

  /** Stream mode: the body as it arrives (several chunks per step when they queued up). */
  async *chunks(): AsyncGenerator<Buffer[]> {
    for (;;) {
      if (this.parts.length > 0) {
        const batch = this.parts;
        this.parts = [];
        this.size = 0;
        if (this.controller?.paused) this.controller.resume();
        yield batch;
        continue;
      }
      if (this.error) throw this.error;
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}

/** One keep-alive undici Pool per upstream origin, created on first use and kept for the engine's life. */
export class UpstreamClient {
  private readonly pools = new Map<string, PoolType>();
  /** deadlines of the requests in flight (one timer for all) */
  readonly deadlines = new Deadlines();

  private pool(origin: string): PoolType {
    let p = this.pools.get(origin);
    if (!p) {
      p = new (poolClass())(origin, {
        connections: 512,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 600_000,
      });
      this.pools.set(origin, p);
    }
    return p;
  }

  /** Start a request; see `Exchange` for the two ways to read the answer. */
  send(req: UpstreamRequest, opts: SendOptions): Exchange {
    const ex = new Exchange(opts);
    const body = req.body;
    const big = typeof body === 'string' && body.length >= BIG_BODY_CHARS;
    this.pool(req.origin).dispatch(
      {
        path: req.path,
        method: req.method,
        headers: big ? { ...req.headers, 'content-length': String(Buffer.byteLength(body)) } : req.headers,
        body: big ? Readable.from(slices(body), { objectMode: false }) : body,
        headersTimeout: opts.headersTimeout,
        bodyTimeout: opts.bodyTimeout,
      },
      ex,
    );
    return ex;
  }

  /** Close every pool; in-flight requests are destroyed when `force` is set. */
  async close(force = false): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(all.map((p) => (force ? p.destroy() : p.close()).catch(() => undefined)));
  }
}

/** A request body string this long is sent in slices (`slices`) rather than encoded whole. */
const BIG_BODY_CHARS = 1024 * 1024;
const SLICE_CHARS = 64 * 1024;

/**
 * A big body string as UTF-8 slices of at most 192 KB, encoded one at a time as the socket takes them. Encoded
 * whole, a 30 MB body is one 30 MB malloc per request; after a burst of those the C heap keeps hundreds of MB
 * it cannot give back (glibc raises its mmap threshold after the first such free), while the same few
 * slice-sized blocks are reused. A slice never ends between the two halves of a surrogate pair.
 */
function* slices(text: string): Generator<Buffer> {
  for (let i = 0; i < text.length; ) {
    let end = Math.min(text.length, i + SLICE_CHARS);
    const c = text.charCodeAt(end - 1);
    if (end < text.length && c >= 0xd800 && c <= 0xdbff) end--;
    yield Buffer.from(text.slice(i, end), 'utf8');
    i = end;
  }
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'ETIMEDOUT',
]);

/** Map a network failure (refused, reset, timeout) to a GatewayError: 408 for timeouts (LiteLLM's), 502 otherwise. */
export function failureOf(e: unknown, label: string, timedOut: boolean, timeoutMs: number): GatewayError {
  if (e instanceof GatewayError) return e;
  const err = e as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = err?.code ?? err?.cause?.code;
  if (timedOut || (code && TIMEOUT_CODES.has(code))) {
    return new GatewayError(408, {
      message: `${label} did not answer within the timeout (${timeoutMs / 1000}s)`,
      code: 'timeout',
      errorClass: 'timeout',
      provider: label,
    });
  }
  const why =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET'
        ? 'connection reset by the upstream'
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? 'host not found'
          : err?.message || String(e);
  return new GatewayError(502, {
    message: `${label} is unreachable: ${why}`,
    code: 'api_connection_error',
    errorClass: 'connection',
    provider: label,
  });
}
