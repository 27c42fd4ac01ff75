/**
 * One pass-through request: the caller is authenticated by the engine (master key or virtual key), the
 * request goes to the route's target as it came (method, sub-path, query, body, the client's headers minus
 * its credentials) with the engine's credentials added, and the answer comes back as the upstream sent it:
 * status, headers and body, streamed chunk by chunk as it arrives.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { EngineContext } from '../context.js';
import { GatewayError } from '../errors.js';
import { tooLarge } from '../http/body.js';
import { drained } from '../http/respond.js';
import type { ResponseWriter } from '../http/response-writer.js';
import { failureOf, type WholeResponse } from '../upstream/client.js';
import type { UpstreamRequest } from '../wire.js';
import type { MeteredPassThrough } from './metered.js';
import type { PassThroughMatch, PassThroughRoute } from './routes.js';

/** Never forwarded: the caller's credentials for the engine, hop-by-hop headers, what the engine recomputes. */
const DROP_REQUEST = new Set([
  'authorization',
  'x-api-key',
  'api-key',
  'x-goog-api-key',
  'proxy-authorization',
  'cookie',
  'host',
  'content-length',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-connection',
  // the upstream answers uncompressed: the bytes go back as they come, no re-encoding
  'accept-encoding',
  // a client's own SigV4 headers would clash with the engine's signature
  'x-amz-date',
  'x-amz-security-token',
  'x-amz-content-sha256',
]);
const DROP_RESPONSE = new Set(['connection', 'keep-alive', 'transfer-encoding', 'trailer', 'upgrade']);
/** A pass-through call may run as long as LiteLLM's default request timeout. */
const TIMEOUT_MS = 600_000;
const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
let metering: Promise<typeof import('./metered.js')> | undefined;

export async function forwardPassThrough(
  ctx: EngineContext,
  req: IncomingMessage,
  w: ResponseWriter,
  m: PassThroughMatch,
): Promise<void> {
  const { route, rest } = m;
  const pending = w.authenticate(route.googleKeys ? withGoogleKey(req) : req.headers);
  if (pending) await pending;
  const target = route.targetFor ? route.targetFor(rest) : route.target;
  if (!target) {
    throw new GatewayError(404, {
      message: `The ${route.prefix} pass-through route has no target: ${route.missing}.`,
      errorClass: 'not_found',
    });
  }
  const method = (req.method ?? 'GET').toUpperCase();
  if (!METHODS.has(method)) throw new GatewayError(405, { message: `Method ${method} is not forwarded.` });
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  let query = q === -1 ? target.search : q === url.length - 1 ? '' : url.slice(q);
  if (route.googleKeys && q !== -1) query = withoutKey(query);
  let base = target.pathname.replace(/\/+$/, '');
  if (route.dedupeV1 && base.endsWith('/v1') && (rest === '/v1' || rest.startsWith('/v1/'))) base = base.slice(0, -3);
  const path = (base + rest || '/') + query;

  const headers: Record<string, string> = {};
  if (route.forwardHeaders) {
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined || DROP_REQUEST.has(k) || k.startsWith('x-litellm-')) continue;
      headers[k] = Array.isArray(v) ? v.join(', ') : v;
    }
  } else {
    const ct = req.headers['content-type'];
    if (typeof ct === 'string') headers['content-type'] = ct;
    const accept = req.headers.accept;
    if (typeof accept === 'string') headers.accept = accept;
  }
  Object.assign(headers, route.headers);
  const body = method === 'GET' || method === 'HEAD' ? undefined : await readBody(req, ctx.maxRequestBytes);
  const up: UpstreamRequest = {
    origin: target.origin,
    path,
    method: method as UpstreamRequest['method'],
    headers,
    body: body && body.length > 0 ? body : undefined,
  };
  // metering (and the provider usage readers it needs) loads with the first call worth reading: nobody counts
  // calls without a sink or governance, and only a POST with a body can be an inference call
  const metered = method === 'POST' && body !== undefined && body.length > 0 && (ctx.settled.active || ctx.admission);
  const meter = metered
    ? (await (metering ??= import('./metered.js'))).meterOf(ctx, req, w, m, target.origin, body)
    : undefined;
  const ticketHeaders = meter ? await meter.admit(req.headers) : undefined;
  // a call the engine cannot price (a batch, a file, a GET) still needs a caller whose budgets are not spent
  if (!meter) await ctx.admission?.checkBudgets?.(w.principal);
  try {
    await forward(ctx, w, route, up, meter, ticketHeaders);
  } catch (e) {
    meter?.fail(e, w.res.headersSent ? w.res.statusCode : undefined);
    throw e;
  }
}

/** Send the request upstream and its answer back (metered when `meter` is given). */
async function forward(
  ctx: EngineContext,
  w: ResponseWriter,
  route: PassThroughRoute,
  up: UpstreamRequest,
  meter: MeteredPassThrough | undefined,
  ticketHeaders: Readonly<Record<string, string | number>> | undefined,
): Promise<void> {
  if (route.signer) up = await (await route.signer())(up);
  meter?.sending();
  const ex = ctx.client.send(up, {
    headersTimeout: TIMEOUT_MS,
    bodyTimeout: TIMEOUT_MS,
    mode: 'stream',
    limit: ctx.maxRequestBytes,
  });
  const res = w.res;
  const stop = () => ex.abort(new Error('the client went away'));
  res.once('close', stop);
  try {
    let head: Awaited<typeof ex.head>;
    try {
      head = await ex.head!;
    } catch (e) {
      throw failureOf(e, route.label, false, TIMEOUT_MS);
    }
    const out: Record<string, string | string[]> = { 'x-request-id': w.requestId };
    // the key's own x-ratelimit-* (a virtual key's limits) first; the provider's of the same name do not replace them
    if (ticketHeaders) for (const [k, v] of Object.entries(ticketHeaders)) out[k] = String(v);
    for (const [k, v] of Object.entries(head.headers))
      if (v !== undefined && !DROP_RESPONSE.has(k) && !(ticketHeaders && k in ticketHeaders)) out[k] = v;
    meter?.answered(head.status, head.headers);
    if (isWhole(head)) {
      // an error status: its body, whole, as the upstream wrote it
      out['content-length'] = String(head.body.length);
      res.writeHead(head.status, out);
      res.end(head.body);
      meter?.upstreamError(head.status, head.body);
      return;
    }
    res.writeHead(head.status, out);
    res.flushHeaders();
    try {
      for await (const batch of head.chunks()) {
        for (const b of batch) {
          meter?.push(b);
          if (!res.write(b)) await drained(res);
        }
        if (res.destroyed) return meter?.done('client_abort', head.status);
      }
    } catch (e) {
      // the upstream broke mid-answer: the client sees the connection end short of what was promised
      res.destroy();
      meter?.fail(e, head.status);
      return;
    }
    res.end();
    meter?.done(res.destroyed ? 'client_abort' : 'success', head.status);
  } finally {
    res.off('close', stop);
  }
}

/**
 * The request's headers for authentication on a Google AI Studio route: a key sent Google's way (`x-goog-api-key`,
 * or `?key=` as Google's SDKs and curl examples send it) is the caller's engine key, unless a LiteLLM key header
 * names one.
 */
function withGoogleKey(req: IncomingMessage): IncomingHttpHeaders {
  const h = req.headers;
  if (h['x-litellm-api-key'] !== undefined || h.authorization !== undefined) return h;
  let key = typeof h['x-goog-api-key'] === 'string' ? h['x-goog-api-key'] : undefined;
  const url = req.url ?? '';
  const q = url.indexOf('?');
  if (key === undefined && q !== -1) key = new URLSearchParams(url.slice(q + 1)).get('key') ?? undefined;
  return key === undefined ? h : { ...h, 'x-litellm-api-key': key };
}

/** A query string without its `key` parameter (the caller's key never goes upstream). */
function withoutKey(query: string): string {
  const params = new URLSearchParams(query.slice(1));
  if (!params.has('key')) return query;
  params.delete('key');
  const rest = params.toString();
  return rest === '' ? '' : `?${rest}`;
}

function isWhole(h: unknown): h is WholeResponse {
  return (h as WholeResponse).body instanceof Buffer;
}

/** The request body as bytes, up to `limit` (413 past it). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (b: Buffer) => {
      size += b.length;
      if (size > limit) {
        req.pause();
        reject(tooLarge(limit));
        return;
      }
      parts.push(b);
    });
    req.on('end', () => resolve(Buffer.concat(parts, size)));
    req.on('error', reject);
  });
}
