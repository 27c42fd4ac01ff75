import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { VERSION } from '../version.js';
import type { EngineContext } from './context.js';
import { handleMessages, MESSAGES_ROUTES } from './anthropic-messages/handler.js';
import { healthReport } from './endpoints/health.js';
import { handleOpenAI } from './endpoints/openai.js';
import { GatewayError, toGatewayError } from './errors.js';
import { ClientLink } from './http/client-link.js';
import { sendError, sendJson } from './http/respond.js';
import { redactError } from './observability/logger.js';
import type { EndpointKind } from './wire.js';

const POST_ROUTES: Record<string, EndpointKind> = {
  '/chat/completions': 'chat',
  '/completions': 'completion',
  '/embeddings': 'embedding',
};
const OPEN_GET = new Set(['/health/liveliness', '/health/liveness', '/health/readiness']);
const READY_BODY = JSON.stringify({ status: 'healthy', version: VERSION, litellm_version: VERSION, db: 'Not connected' });
const REQUEST_ID = /^[\w.:-]{1,128}$/;
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

/** The engine's node:http server: routes, auth, one error handler. */
export function createServer(ctx: EngineContext): http.Server {
  const server = http.createServer({ keepAliveTimeout: 65_000, headersTimeout: 60_000, requestTimeout: 0 }, (req, res) => {
    const t0 = performance.now();
    ctx.inflight++;
    const sent = req.headers['x-request-id'];
    const requestId = typeof sent === 'string' && REQUEST_ID.test(sent) ? sent : ID_PREFIX + (++idCounter).toString(36);
    const link = ClientLink.attach(res);
    res.once('close', () => {
      ctx.inflight--;
      if (!res.writableFinished) link.fire();
      if (ctx.debug) ctx.logger.debug({ requestId, method: req.method, path: req.url, status: res.statusCode, ms: +(performance.now() - t0).toFixed(2) }, 'request');
    });
    handle(ctx, req, res, requestId, t0).catch((e: unknown) => {
      const err = redactError(toGatewayError(e), ctx.secretValues);
      if (err.errorClass === 'internal') ctx.logger.error({ requestId, error: e instanceof Error ? e.stack : String(e) }, 'internal error');
      else if (ctx.debug) ctx.logger.debug({ requestId, status: err.status, error: err.message }, 'request failed');
      if (!res.destroyed) sendError(res, err, { 'x-request-id': requestId });
    });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  });
  return server;
}

async function handle(ctx: EngineContext, req: IncomingMessage, res: ServerResponse, requestId: string, t0: number): Promise<void> {
  const route = routeOf(req.url ?? '/');
  const method = req.method;
  if (method === 'POST') {
    if (MESSAGES_ROUTES.has(route)) return handleMessages(route, ctx, req, res, requestId, t0); // Anthropic shape, auth inside
    const kind = POST_ROUTES[route];
    if (kind) {
      ctx.auth.check(req.headers);
      return handleOpenAI(kind, ctx, req, res, requestId, t0);
    }
  } else if (method === 'GET' || method === 'HEAD') {
    if (OPEN_GET.has(route)) return sendProbe(ctx, route, res);
    ctx.auth.check(req.headers);
    const headers = { 'x-request-id': requestId };
    switch (route) {
      case '/models':
        return sendJson(res, 200, /[?&]return_wildcard_routes=true/.test(req.url ?? '') ? ctx.staticBodies.modelsWithWildcards : ctx.staticBodies.models, headers);
      case '/model/info':
        return sendJson(res, 200, ctx.staticBodies.modelInfo, headers);
      case '/health':
        return sendJson(res, 200, JSON.stringify(await healthReport(ctx)), headers);
    }
  }
  const known = POST_ROUTES[route] !== undefined || OPEN_GET.has(route) || ['/models', '/model/info', '/health'].includes(route);
  throw new GatewayError(known ? 405 : 404, {
    message: known ? `Method ${method} is not allowed on ${route}.` : `No route ${method} ${route}. The engine serves /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models, /v1/model/info and /health.`,
    code: known ? '405' : '404',
    errorClass: known ? 'bad_request' : 'not_found',
  });
}

function sendProbe(ctx: EngineContext, route: string, res: ServerResponse): void {
  const headers: Record<string, string> = ctx.draining ? { connection: 'close' } : {};
  if (route === '/health/readiness') {
    sendJson(res, ctx.draining ? 503 : 200, ctx.draining ? JSON.stringify({ status: 'draining', version: VERSION }) : READY_BODY, headers);
  } else {
    sendJson(res, ctx.draining ? 503 : 200, ctx.draining ? '"draining"' : `"I'm alive!"`, headers);
  }
}
