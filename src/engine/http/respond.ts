import type { ServerResponse } from 'node:http';
import type { GatewayError } from '../errors.js';

/** Send a JSON body with the given headers (content-length computed once). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  headers: Record<string, string | number> = {},
): void {
  headers['content-type'] = 'application/json';
  headers['content-length'] = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  res.writeHead(status, headers);
  res.end(body);
}

/** Send a GatewayError (in OpenAI shape unless `body` says otherwise), with Retry-After when the upstream gave one. */
export function sendError(
  res: ServerResponse,
  err: GatewayError,
  headers: Record<string, string | number> = {},
  body?: string,
  status = err.status,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (err.headers) Object.assign(headers, err.headers);
  if (err.retryAfter) headers['retry-after'] = err.retryAfter;
  // 413: the rest of the body is never read; 401: an unauthenticated client keeps no socket open
  if (err.status === 413 || err.status === 401) headers.connection = 'close';
  sendJson(res, status, body ?? JSON.stringify(err.toJSON()), headers);
}

/** Resolve when the response can take more data (or is gone). */
export function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
