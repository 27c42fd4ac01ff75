import { Pool, type Dispatcher } from 'undici';
import { GatewayError } from '../errors.js';
import type { UpstreamRequest } from '../providers/types.js';

export interface SendOptions {
  signal: AbortSignal;
  /** ms to wait for response headers */
  headersTimeout: number;
  /** ms of silence allowed between body chunks */
  bodyTimeout: number;
}

/** One keep-alive undici Pool per upstream origin, created on first use and kept for the engine's life. */
export class UpstreamClient {
  private readonly pools = new Map<string, Pool>();

  private pool(origin: string): Pool {
    let p = this.pools.get(origin);
    if (!p) {
      p = new Pool(origin, { connections: 512, pipelining: 1, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 });
      this.pools.set(origin, p);
    }
    return p;
  }

  /** Send a request; network-level failures reject with undici's error (see `failureOf`). */
  send(req: UpstreamRequest, opts: SendOptions): Promise<Dispatcher.ResponseData> {
    return this.pool(req.origin).request({
      path: req.path,
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal: opts.signal,
      headersTimeout: opts.headersTimeout,
      bodyTimeout: opts.bodyTimeout,
    });
  }

  /** Close every pool; in-flight requests are destroyed when `force` is set. */
  async close(force = false): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(all.map((p) => (force ? p.destroy() : p.close()).catch(() => undefined)));
  }
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);

/** Map a network failure (refused, reset, timeout) to a GatewayError: 504 for timeouts, 502 otherwise. */
export function failureOf(e: unknown, label: string, timedOut: boolean, timeoutMs: number): GatewayError {
  if (e instanceof GatewayError) return e;
  const err = e as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = err?.code ?? err?.cause?.code;
  if (timedOut || (code && TIMEOUT_CODES.has(code))) {
    return new GatewayError(504, {
      message: `${label} did not answer within the timeout (${timeoutMs / 1000}s)`,
      code: 'timeout',
      errorClass: 'timeout',
      provider: label,
    });
  }
  const why =
    code === 'ECONNREFUSED' ? 'connection refused' :
    code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' ? 'connection reset by the upstream' :
    code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'host not found' :
    err?.message || String(e);
  return new GatewayError(502, { message: `${label} is unreachable: ${why}`, code: 'api_connection_error', errorClass: 'connection', provider: label });
}
