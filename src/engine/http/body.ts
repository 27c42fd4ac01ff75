import type { IncomingMessage } from 'node:http';
import { badRequest, GatewayError } from '../errors.js';
import { burstOver } from '../observability/memory.js';
import type { JsonObject } from '../wire.js';

/** 413 for a body over the limit; the connection is closed after the answer so the rest is never read. */
export function tooLarge(limit: number): GatewayError {
  return new GatewayError(413, {
    message: `Request body is larger than max_request_size_mb (${+(limit / 1048576).toFixed(3)} MB).`,
    code: 'request_too_large',
    errorClass: 'too_large',
  });
}

/**
 * The deepest nesting of objects and arrays a request body may have. Real requests (tool schemas included)
 * stay far below it; a body nested thousands deep would overflow the stack of whatever walks it later.
 */
export const MAX_JSON_DEPTH = 256;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;

/**
 * True when `b`, a JSON text, nests objects/arrays deeper than `limit`. Most bodies hold fewer than `limit`
 * opening brackets in all, which native `indexOf` counts without a byte loop; only the others are scanned
 * (skipping strings, whose brackets are text).
 */
export function nestedDeeperThan(b: Buffer, limit: number): boolean {
  let opens = 0;
  for (let i = b.indexOf(OPEN_BRACE); i !== -1 && opens <= limit; i = b.indexOf(OPEN_BRACE, i + 1)) opens++;
  for (let i = b.indexOf(OPEN_BRACKET); i !== -1 && opens <= limit; i = b.indexOf(OPEN_BRACKET, i + 1)) opens++;
  if (opens <= limit) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/**
 * The bytes of request bodies an engine holds at once (read, parsed, in use until the response ends), and
 * the most it may: a burst of huge bodies gets 503s instead of growing the process without bound.
 */
export class BodyBytes {
  held = 0;
  /** the most held since the last burst ended (see releaseBody) */
  peak = 0;
  constructor(readonly max: number) {}
}

/** A body of at least this many bytes (by Content-Length) is read into one buffer (BodyRead.whole). */
const BIG_BODY = 1024 * 1024;

/** Holding this many body bytes at once is a burst: when it is over, memory is collected (`burstOver`). */
const BURST_BYTES = 64 * 1024 * 1024;

/** 503 when taking `n` more bytes would pass what the engine may hold for request bodies at once. */
function tooManyBytes(pool: BodyBytes): GatewayError {
  return new GatewayError(503, {
    message:
      `The engine is holding ${Math.round(pool.held / 1048576)} MB of request bodies, its limit ` +
      `(general_settings.max_inflight_request_mb = ${Math.round(pool.max / 1048576)}); retry shortly.`,
    code: 'too_many_request_bytes',
    errorClass: 'overloaded',
    retryAfter: '1',
  });
}

/** The state of one body being read; the listeners below are shared, so reading makes no closures. */
class BodyRead {
  parts: Buffer[] = [];
  /** a big body of known length is copied into one buffer as it arrives, its socket chunks dropped at once */
  whole?: Buffer;
  size = 0;
  done = false;
  constructor(
    readonly limit: number,
    readonly resolve: (v: JsonObject | Buffer) => void,
    readonly reject: (e: Error) => void,
    /** resolve with the bytes as they came (a multipart form), not parsed JSON */
    readonly raw = false,
  ) {}
}

const STATE = Symbol('kubiya.bodyRead');
const POOL = Symbol('kubiya.bodyPool');
const HELD = Symbol('kubiya.bodyHeld');
type Reading = IncomingMessage & { [STATE]: BodyRead; [POOL]?: BodyBytes; [HELD]?: number };

/** Count this request's body against `pool` while it is read and until `releaseBody` (its response ended). */
export function attachBodyPool(req: IncomingMessage, pool: BodyBytes): void {
  (req as Reading)[POOL] = pool;
}

/** The request's response ended: the bytes its body held are free again. */
export function releaseBody(req: IncomingMessage): void {
  const r = req as Reading;
  const n = r[HELD];
  if (n) {
    const pool = r[POOL]!;
    pool.held -= n;
    r[HELD] = 0;
    // a burst of big bodies is over (most of what it held is free): give the memory back
    if (pool.peak >= BURST_BYTES && pool.held <= pool.peak / 4) {
      pool.peak = 0;
      burstOver();
    }
  }
}

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
  const pool = this[POOL];
  if (pool) {
    if (pool.held + b.length > pool.max) {
      st.done = true;
      this.pause();
      st.reject(tooManyBytes(pool));
      return;
    }
    pool.held += b.length;
    if (pool.held > pool.peak) pool.peak = pool.held;
    this[HELD] = (this[HELD] ?? 0) + b.length;
  }
  const whole = st.whole;
  if (whole && st.size <= whole.length) b.copy(whole, st.size - b.length);
  else st.parts.push(b);
}

function onEnd(this: Reading): void {
  const st = this[STATE];
  if (st.done) return;
  st.done = true;
  const whole = st.whole;
  const bytes =
    whole && st.parts.length === 0
      ? whole.subarray(0, st.size)
      : st.parts.length === 1
        ? st.parts[0]
        : Buffer.concat(st.parts, st.size);
  st.whole = undefined;
  // the request object lives on (a keep-alive socket holds the last one): keep no copy of its bytes on it
  st.parts = [];
  if (st.raw) {
    st.resolve(bytes);
    return;
  }
  if (nestedDeeperThan(bytes, MAX_JSON_DEPTH)) {
    st.reject(
      badRequest(
        `The request body is nested deeper than ${MAX_JSON_DEPTH} levels of objects and arrays.`,
        null,
        'json_too_deep',
      ),
    );
    return;
  }
  const text = bytes.toString('utf8');
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
  return readBody(req, limit, false) as Promise<JsonObject>;
}

/** Read a request body's bytes once, under the same limits as readJsonBody (a multipart form: http/multipart.ts). */
export function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return readBody(req, limit, true) as Promise<Buffer>;
}

function readBody(req: IncomingMessage, limit: number, raw: boolean): Promise<JsonObject | Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge(limit));
  const pool = (req as Reading)[POOL];
  if (pool && declared !== undefined && pool.held + Number(declared) > pool.max)
    return Promise.reject(tooManyBytes(pool));
  return new Promise((resolve, reject) => {
    const st = ((req as Reading)[STATE] = new BodyRead(limit, resolve, reject, raw));
    const n = declared === undefined ? 0 : Number(declared);
    if (n >= BIG_BODY) st.whole = Buffer.allocUnsafeSlow(n);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
