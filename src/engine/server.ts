import { randomBytes, timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import { VERSION } from '../version.js';
import { ANTHROPIC_FORMAT } from './anthropic-messages/errors.js';
import { handleMessages } from './anthropic-messages/handler.js';
import { CACHE_ROUTES, handleCacheRoute, isCacheRoute } from './cache/routes.js';
import {
  CHALLENGE_HEADER,
  PROOF_HEADER,
  READINESS_PATH,
  readinessProof,
  STATUS_PROOF_HEADER,
} from './child-contract.js';
import type { EngineContext } from './context.js';
import { healthReport } from './endpoints/health.js';
import { handleMedia } from './endpoints/media.js';
import { sendBacklog, sendMetrics } from './endpoints/metrics.js';
import { modelEndpoint } from './endpoints/models.js';
import { handleOpenAI } from './endpoints/openai.js';
import { handleSpendCalculate } from './endpoints/spend.js';
import { GatewayError } from './errors.js';
import { looksLikeManagement, noStore } from './governance/api/no-store.js';
import type { GovernedPrincipal } from './governance/types.js';
import { attachBodyPool, releaseBody } from './http/body.js';
import { sendJson } from './http/respond.js';
import { type ApiFormat, OPENAI_FORMAT, ResponseWriter } from './http/response-writer.js';
import { findModelRoute, handleModelRoute, MODEL_WRITE_ROUTES } from './models/api.js';
import type { SettledEndpoint } from './observability/settled.js';
import { mergeUsage, type UsageReport, UsageTally } from './observability/usage-tally.js';
import { forwardPassThrough } from './passthrough/forward.js';
import { handleResponseById, handleResponses, isResponseIdRoute } from './responses/handler.js';
import { RESPONSES_FORMAT } from './responses/stream.js';
import type { EndpointKind, MediaKind } from './wire.js';

/** A POST route: the API it speaks, the endpoint its settled event names (none: no event), its handler. */
interface PostRoute {
  format: ApiFormat;
  endpoint?: SettledEndpoint;
  handle(ctx: EngineContext, req: IncomingMessage, w: ResponseWriter, route: string): Promise<void>;
}

type OpenAIKind = 'chat' | 'completion' | 'embedding';
const openai = (kind: OpenAIKind): PostRoute => ({
  format: OPENAI_FORMAT,
  endpoint: kind,
  handle: (ctx, req, w) => handleOpenAI(kind, ctx, req, w),
});
// rerank, moderations, images, audio: endpoints/media.ts
const media = (kind: MediaKind): PostRoute => ({
  format: OPENAI_FORMAT,
  endpoint: kind,
  handle: (ctx, req, w) => handleMedia(kind, ctx, req, w),
});
// Anthropic Messages: every error, auth included, in Anthropic's shape; count_tokens settles no event
const messages = (endpoint?: SettledEndpoint): PostRoute => ({
  format: ANTHROPIC_FORMAT,
  endpoint,
  handle: (ctx, req, w, route) => handleMessages(route, ctx, req, w),
});
// POST routes by path (after `/v1` is stripped)
const POST_ROUTES = new Map<string, PostRoute>([
  ['/chat/completions', openai('chat')],
  ['/completions', openai('completion')],
  ['/embeddings', openai('embedding')],
  ['/rerank', media('rerank')],
  ['/v2/rerank', media('rerank')],
  ['/moderations', media('moderation')],
  ['/images/generations', media('image_generation')],
  ['/audio/transcriptions', media('audio_transcription')],
  ['/audio/speech', media('audio_speech')],
  ['/messages', messages('messages')],
  ['/messages/count_tokens', messages()],
  // the Responses API: errors in OpenAI's shape, a failed stream ends with its `error` event
  ['/responses', { format: RESPONSES_FORMAT, endpoint: 'responses', handle: handleResponses }],
  ['/spend/calculate', { format: OPENAI_FORMAT, handle: (ctx, req, w) => handleSpendCalculate(ctx, req, w) }],
]);
const OPENAI_POST = [
  '/chat/completions',
  '/completions',
  '/embeddings',
  '/responses',
  '/rerank',
  '/v2/rerank',
  '/moderations',
  '/images/generations',
  '/audio/transcriptions',
  '/audio/speech',
];
// Azure OpenAI's paths (the AzureOpenAI SDK: `api-version` in the query, `api-key` header) and the legacy
// /engines/{model}/... ones: the model is in the path
const MODEL_PATH = new RegExp(
  '^/(?:openai/deployments|engines)/([^/]+)/' +
    '(chat/completions|completions|embeddings|images/generations|audio/transcriptions|audio/speech)$',
);
const KIND_OF: Record<string, EndpointKind> = {
  'chat/completions': 'chat',
  completions: 'completion',
  embeddings: 'embedding',
  'images/generations': 'image_generation',
  'audio/transcriptions': 'audio_transcription',
  'audio/speech': 'audio_speech',
};

/** The route of an inference path that names its model (`/openai/deployments/gpt-4o/chat/completions`). */
function modelPathRoute(route: string): PostRoute | undefined {
  if (route.charCodeAt(1) !== 111 && route.charCodeAt(1) !== 101) return undefined; // 'o' / 'e': skip the rest
  const m = MODEL_PATH.exec(route);
  if (!m) return undefined;
  const kind = KIND_OF[m[2]];
  const model = decodeURIComponent(m[1]);
  const handle: PostRoute['handle'] =
    kind === 'chat' || kind === 'completion' || kind === 'embedding'
      ? (ctx, req, w) => handleOpenAI(kind, ctx, req, w, model)
      : (ctx, req, w) => handleMedia(kind, ctx, req, w, model);
  return { format: OPENAI_FORMAT, endpoint: kind, handle };
}
const OPEN_GET = new Set(['/health/liveliness', '/health/liveness', '/health/readiness']);
const READY_BODY = JSON.stringify({
  status: 'healthy',
  version: VERSION,
  litellm_version: VERSION,
  db: 'Not connected',
});
const REQUEST_ID = /^[\w.:-]{1,128}$/;
const FULL_BODY = JSON.stringify({
  error: {
    message: 'The engine has as many client connections open as it allows (general_settings.max_client_connections).',
    type: 'service_unavailable_error',
    param: null,
    code: '503',
  },
});
// request ids: a random per-process prefix and a counter (unique without a UUID per request)
const ID_PREFIX = `req-${randomBytes(6).toString('hex')}-`;
let idCounter = 0;

/** `/v1/chat/completions?x` -> `/chat/completions` (LiteLLM serves every route with and without /v1). */
function routeOf(url: string): string {
  const q = url.indexOf('?');
  let p = q === -1 ? url : url.slice(0, q);
  if (p.startsWith('/v1/')) p = p.slice(3);
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return p;
}

/**
 * The engine's node:http server: routes, auth, one response writer per request. `usageToken` (the
 * supervisor's per-run KUBIYA_USAGE_TOKEN) also opens `GET /kubiya/usage`, besides the master key.
 */
export function createServer(ctx: EngineContext, usageToken?: string, localKey?: string): http.Server {
  // always on: what `kubiya worker status` / `worker stop` show per queue
  const usage = new UsageTally();
  ctx.settled.subscribe(usage.observe);
  ctx.cluster?.provide('usage', () => usage.report());
  const token = usageToken ? Buffer.from(`Bearer ${usageToken}`) : undefined;
  const lim = ctx.clientLimits;
  const server = http.createServer(
    {
      keepAliveTimeout: 65_000,
      // a client that trickles its headers or body gets a 408 and its socket closed at these deadlines (Node
      // checks them every few seconds, no timer per request); a long answer is never cut by them
      headersTimeout: Math.min(lim.headerTimeoutMs, lim.bodyTimeoutMs),
      requestTimeout: lim.bodyTimeoutMs,
      connectionsCheckingInterval: Math.min(5000, lim.headerTimeoutMs),
    },
    (req, res) => {
      const t0 = performance.now();
      ctx.inflight++;
      attachBodyPool(req, ctx.bodyBytes);
      if (req.socket.timeout) req.socket.setTimeout(0);
      const sent = req.headers['x-request-id'];
      const requestId =
        typeof sent === 'string' && REQUEST_ID.test(sent) ? sent : ID_PREFIX + (++idCounter).toString(36);
      let url = req.url ?? '/';
      if (ctx.rootPath && url.startsWith(ctx.rootPath)) req.url = url = url.slice(ctx.rootPath.length) || '/';
      let route = routeOf(url);
      // the dashboard's API calls (/ui/api/<path>) become <path> with the session's key
      if (ctx.ui && route.startsWith('/ui')) route = ctx.ui.rewrite(req, route);
      const post = req.method === 'POST' ? (POST_ROUTES.get(route) ?? modelPathRoute(route)) : undefined;
      const w = new ResponseWriter(ctx, res, requestId, t0, post ? post.format : OPENAI_FORMAT, post?.endpoint);
      res.once('close', () => {
        ctx.inflight--;
        releaseBody(req);
        if (!res.writableFinished) w.link.fire();
        if (!ctx.debug) return;
        const ms = +(performance.now() - t0).toFixed(2);
        const path = loggedPath(req.url);
        ctx.logger.debug(w.logFields({ method: req.method, path, status: res.statusCode, ms }), 'request');
      });
      if ((localKey || usageToken) && route === READINESS_PATH) proveIdentity(req, res, localKey, usageToken);
      if (route === USAGE_ROUTE && req.method === 'GET') void sendUsage(ctx, req, w, usage, token);
      else if (route === RELOAD_ROUTE && req.method === 'POST') void sendReload(ctx, req, w, token);
      else void serve(ctx, req, w, route, post);
    },
  );
  // past the connection cap, a new client gets a clear 503 and is closed (instead of starving everyone of files)
  let open = 0;
  server.on('connection', (socket) => {
    if (open >= lim.maxConnections) {
      socket.end(
        'HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-type: application/json\r\n' +
          `retry-after: 1\r\ncontent-length: ${FULL_BODY.length}\r\n\r\n${FULL_BODY}`,
      );
      return;
    }
    open++;
    socket.once('close', () => {
      open--;
    });
    // a connection that never sends a request is closed at the header deadline (Node's own deadlines start
    // only with a request's first byte); the first request clears it (keepAliveTimeout covers idle ones after)
    socket.setTimeout(lim.headerTimeoutMs, () => socket.destroy());
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    // headers or body not in by their deadline (client_header_timeout / client_body_timeout)
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      socket.end('HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  });
  return server;
}

/** One request, start to end: whatever it throws is answered (and settled) by its writer. */
async function serve(
  ctx: EngineContext,
  req: IncomingMessage,
  w: ResponseWriter,
  route: string,
  post?: PostRoute,
): Promise<void> {
  try {
    if (post) {
      const pending = w.authenticate(req.headers);
      if (pending) await pending;
      await post.handle(ctx, req, w, route);
    } else {
      const pass = ctx.passthrough?.match(route);
      if (pass) await forwardPassThrough(ctx, req, w, pass);
      else await handle(ctx, req, w, route);
    }
  } catch (e) {
    w.fail(e);
  }
}

/** A request's path as logged: a `key` query parameter (a key sent Google's way, `/gemini/...?key=`) masked. */
function loggedPath(url: string | undefined): string | undefined {
  return url?.includes('key=') ? url.replace(/([?&]key=)[^&]*/g, '$1****') : url;
}

const USAGE_ROUTE = '/kubiya/usage';
/** the supervisor's config reload (see reload.ts) */
const RELOAD_ROUTE = '/kubiya/reload';

/**
 * A supervised engine answers its supervisor's readiness challenge with the local key, and `worker status`'s
 * with the usage token (see readinessProof in child-contract.ts).
 */
function proveIdentity(req: IncomingMessage, res: http.ServerResponse, localKey?: string, usageToken?: string): void {
  const challenge = req.headers[CHALLENGE_HEADER];
  if (typeof challenge !== 'string' || challenge.length > 128) return;
  if (localKey) res.setHeader(PROOF_HEADER, readinessProof(localKey, challenge));
  if (usageToken) res.setHeader(STATUS_PROOF_HEADER, readinessProof(usageToken, challenge));
}

/** `GET /kubiya/usage`: the engine's usage tally, for the supervisor's token or the master key. */
async function sendUsage(
  ctx: EngineContext,
  req: IncomingMessage,
  w: ResponseWriter,
  usage: UsageTally,
  token?: Buffer,
): Promise<void> {
  try {
    await supervisorOrKey(req, w, token);
    // one worker of several: the tallies of all of them
    const report = ctx.cluster ? mergeUsage((await ctx.cluster.gather('usage')) as UsageReport[]) : usage.report();
    sendJson(w.res, 200, JSON.stringify(report), w.headers);
  } catch (e) {
    w.fail(e);
  }
}

/** The supervisor's usage token (a constant-time compare) or, failing that, the usual authentication. */
async function supervisorOrKey(req: IncomingMessage, w: ResponseWriter, token?: Buffer): Promise<void> {
  const sent = req.headers.authorization;
  const b = typeof sent === 'string' ? Buffer.from(sent) : undefined;
  if (token && b && b.length === token.length && timingSafeEqual(b, token)) return;
  const pending = w.authenticate(req.headers);
  if (pending) await pending;
}

/**
 * `POST /kubiya/reload`: read the config file again and serve it (the supervisor's token or the master key);
 * 200 with what is served now, or 422 with why the new config was refused (the old one stays in force).
 */
async function sendReload(ctx: EngineContext, req: IncomingMessage, w: ResponseWriter, token?: Buffer) {
  try {
    await supervisorOrKey(req, w, token);
    req.resume();
    if (!ctx.reload) {
      const why = ctx.cluster
        ? 'a config reload is not supported with --num_workers: restart the proxy'
        : 'this engine has no config file to reload';
      throw new GatewayError(501, { message: why, errorClass: 'bad_request' });
    }
    let report: Awaited<ReturnType<NonNullable<EngineContext['reload']>>>;
    try {
      report = await ctx.reload();
    } catch (e) {
      const message = `config not reloaded, the old one stays in force: ${(e as Error).message}`;
      ctx.logger.warn({}, message);
      throw new GatewayError(422, { message, errorClass: 'bad_request' });
    }
    sendJson(w.res, 200, JSON.stringify(report), w.headers);
  } catch (e) {
    w.fail(e);
  }
}

async function handle(ctx: EngineContext, req: IncomingMessage, w: ResponseWriter, route: string): Promise<void> {
  const method = req.method;
  if (ctx.ui && route.startsWith('/ui') && (route.length === 3 || route.charCodeAt(3) === 47))
    return ctx.ui.serve(ctx, req, w, route);
  // the model API's writes (/model/new, /model/update, /model/delete): with or without governance
  const mr = route.startsWith('/model/') ? findModelRoute(method ?? 'GET', route) : undefined;
  if (mr !== undefined && mr !== 'method') return handleModelRoute(ctx, req, w, route, mr);
  const mgmt = ctx.management?.find(method ?? 'GET', route);
  if (mgmt !== undefined && mgmt !== 'method') return ctx.management!.handle(ctx, req, w, route, mgmt);
  if (!ctx.management && looksLikeManagement(route)) {
    // no master key, so no store: say what turns key management on (after the usual auth)
    const pending = w.authenticate(req.headers);
    if (pending) await pending;
    throw noStore(route);
  }
  if (isCacheRoute(route)) return handleCacheRoute(ctx, req, w, route);
  if (isResponseIdRoute(route)) return handleResponseById(ctx, req, w, route);
  if (method === 'GET' || method === 'HEAD') {
    if (OPEN_GET.has(route)) return sendProbe(ctx, route, w);
    if (route === '/metrics' && ctx.metrics) return sendMetrics(ctx.metrics, w, req.headers, ctx.cluster);
    // open in LiteLLM too: what a client may call, no secrets
    if (route === '/routes') return sendJson(w.res, 200, routesBody(ctx), w.headers);
    const pending = w.authenticate(req.headers);
    if (pending) await pending;
    const res = w.res;
    // a virtual key sees only the models it may call
    const record = (w.principal as GovernedPrincipal).record;
    const body = modelEndpoint(ctx.staticBodies, ctx.table, route, req.url ?? '', record);
    if (body !== undefined) return sendJson(res, 200, body, w.headers);
    switch (route) {
      case '/health':
        return sendJson(res, 200, JSON.stringify(await healthReport(ctx)), w.headers);
      case '/health/backlog':
        return sendBacklog(ctx, w);
    }
  }
  const known =
    mgmt === 'method' ||
    mr === 'method' ||
    OPENAI_POST.includes(route) ||
    OPEN_GET.has(route) ||
    GET_ROUTES.includes(route) ||
    route.startsWith('/models/') ||
    (route === '/metrics' && ctx.metrics !== undefined);
  throw new GatewayError(known ? 405 : 404, {
    message: known
      ? `Method ${method} is not allowed on ${route}.`
      : `No route ${method} ${route}. ` +
        'The engine serves /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/responses, /v1/rerank, ' +
        '/v1/moderations, /v1/images/generations, /v1/audio/transcriptions, /v1/audio/speech, ' +
        '/v1/models, /v1/model/info and /health (GET /routes lists every route).',
    code: known ? '405' : '404',
    errorClass: known ? 'bad_request' : 'not_found',
  });
}

const GET_ROUTES = [
  '/models',
  '/model/info',
  '/v2/model/info',
  '/model_group/info',
  '/health',
  '/health/backlog',
  '/routes',
  USAGE_ROUTE,
];
const routesOf = new WeakMap<EngineContext, string>();

/** GET /routes: LiteLLM's `{routes: [{path, methods}]}`, the engine's own routes then the management API's. */
function routesBody(ctx: EngineContext): string {
  let body = routesOf.get(ctx);
  if (body) return body;
  const list: { path: string; methods: string[] }[] = [];
  const add = (path: string, method: string) => {
    const e = list.find((r) => r.path === path);
    if (e) e.methods.push(method);
    else list.push({ path, methods: [method] });
  };
  for (const p of POST_ROUTES.keys()) for (const v of p.startsWith('/v2/') ? [''] : ['/v1', '']) add(v + p, 'POST');
  for (const p of ['/models', '/models/{model_id}', '/model/info']) for (const v of ['/v1', '']) add(v + p, 'GET');
  for (const p of GET_ROUTES.slice(2)) add(p, 'GET');
  for (const p of OPEN_GET) add(p, 'GET');
  for (const v of ['/v1', '']) {
    for (const m of ['GET', 'DELETE']) add(`${v}/responses/{response_id}`, m);
    add(`${v}/responses/{response_id}/input_items`, 'GET');
  }
  if (ctx.metrics) add('/metrics', 'GET');
  if (ctx.cache) for (const r of CACHE_ROUTES) add(r.path, r.method);
  for (const k of Object.keys(KIND_OF)) {
    add(`/openai/deployments/{model}/${k}`, 'POST');
    add(`/engines/{model}/${k}`, 'POST');
  }
  for (const r of MODEL_WRITE_ROUTES) add(r.path, r.method);
  for (const r of ctx.management?.routes ?? []) add(r.path, r.method);
  // pass-through routes take any method (docs/pass-through.md)
  for (const r of ctx.passthrough?.routes ?? [])
    for (const m of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) add(r.subpaths ? `${r.prefix}/{path}` : r.prefix, m);
  body = JSON.stringify({ routes: list });
  routesOf.set(ctx, body);
  return body;
}

/**
 * Readiness with a shared Redis: still ready while it is away (the engine serves on local state), and says so:
 * `redis` is connected, local-only or connecting.
 */
function readyWithRedis(redis: NonNullable<EngineContext['redis']>): string {
  const h = redis.health();
  return JSON.stringify({ ...JSON.parse(READY_BODY), redis: h.status, redis_mode: h.mode });
}

function sendProbe(ctx: EngineContext, route: string, w: ResponseWriter): void {
  const headers: Record<string, string> = ctx.draining ? { connection: 'close' } : {};
  if (route === '/health/readiness') {
    sendJson(
      w.res,
      ctx.draining ? 503 : 200,
      ctx.draining
        ? JSON.stringify({ status: 'draining', version: VERSION })
        : ctx.redis
          ? readyWithRedis(ctx.redis)
          : READY_BODY,
      headers,
    );
  } else {
    sendJson(w.res, ctx.draining ? 503 : 200, ctx.draining ? '"draining"' : `"I'm alive!"`, headers);
  }
}
