import type { IncomingMessage } from 'node:http';
import { badRequest, GatewayError } from '../errors.js';
import type { JsonObject } from '../wire.js';

/** 413 for a body over the limit; the connection is closed after the answer so the rest is never read. */
export function tooLarge(limit: number): GatewayError {
  return new GatewayError(413, {
    message: `Request body is larger than max_request_size_mb (${+(limit / 1048576).toFixed(3)} MB).`,
    code: 'request_too_large',
    errorClass: 'too_large',
  });
}

/** The state of one body being read; the listeners below are shared, so reading makes no closures. */
class BodyRead {
  parts: Buffer[] = [];
  size = 0;
  done = false;
  constructor(
    readonly limit: number,
    readonly resolve: (v: JsonObject) => void,
    readonly reject: (e: Error) => void,
  ) {}
}

const STATE = Symbol('kubiya.bodyRead');
type Reading = IncomingMessage & { [STATE]: BodyRead };

function onData(this: Reading, b: Buffer): void {
  const st = this[STATE];
  if (st.done) return;
  st.size += b.length;
  if (st.size > st.limit) {
    st.done = true;
    this.pause();
    st.reject(tooLarge(st.limit));
    return;
  }
  st.parts.push(b);
}

function onEnd(this: Reading): void {
  const st = this[STATE];
  if (st.done) return;
  st.done = true;
  const text = (st.parts.length === 1 ? st.parts[0] : Buffer.concat(st.parts, st.size)).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    st.reject(badRequest(`Invalid JSON in the request body: ${(e as Error).message}`, null, 'invalid_json'));
    return;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    st.reject(badRequest('The request body must be a JSON object.', null, 'invalid_json'));
    return;
  }
  st.resolve(value as JsonObject);
}

function onError(this: Reading, e: Error): void {
  const st = this[STATE];
  if (st.done) return;
  st.done = true;
  st.reject(e);
}

/**
 * Read and JSON.parse a request body once. Rejects with 413 as soon as Content-Length or the bytes
 * read pass `limit` (without reading further), 400 when it is not a JSON object.
 */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<JsonObject> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    (req as Reading)[STATE] = new BodyRead(limit, resolve, reject);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
