/**
 * The cache's management routes, LiteLLM's paths and shapes (litellm/proxy/caching_routes.py):
 * `GET /cache/ping`, `POST /cache/delete` (`{"keys": [...]}`), `POST /cache/flushall`, `GET /cache/redis/info`.
 * Ping needs any key the engine accepts; the others change or expose the cache, so they need a proxy admin
 * (the master key). Flushing deletes this engine's namespace only, key by key, never the whole Redis.
 */
import type { IncomingMessage } from 'node:http';
import { maskText } from '../../config/litellm/secrets.js';
import type { EngineContext } from '../context.js';
import { badRequest, GatewayError } from '../errors.js';
import type { GovernedPrincipal } from '../governance/types.js';
import { readJsonBody } from '../http/body.js';
import { sendJson } from '../http/respond.js';
import type { ResponseWriter } from '../http/response-writer.js';
import type { ResponseCache } from './cache.js';
import { RedisCache } from './stores.js';

export const CACHE_ROUTES: readonly { method: string; path: string }[] = [
  { method: 'GET', path: '/cache/ping' },
  { method: 'POST', path: '/cache/delete' },
  { method: 'POST', path: '/cache/flushall' },
  { method: 'GET', path: '/cache/redis/info' },
];

/** True for the paths above (whatever the method: a wrong one is a 405 from here). */
export function isCacheRoute(route: string): boolean {
  return route.startsWith('/cache/') && CACHE_ROUTES.some((r) => r.path === route);
}

export async function handleCacheRoute(
  ctx: EngineContext,
  req: IncomingMessage,
  w: ResponseWriter,
  route: string,
): Promise<void> {
  const pending = w.authenticate(req.headers);
  if (pending) await pending;
  const spec = CACHE_ROUTES.find((r) => r.path === route)!;
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  if (method !== spec.method)
    throw new GatewayError(405, { message: `Method ${req.method} is not allowed on ${route}.`, code: '405' });
  if (route !== '/cache/ping') mustBeAdmin(w, req.method ?? 'GET', route);
  const cache = ctx.cache;
  if (!cache)
    throw new GatewayError(503, {
      message: 'Cache not initialized. litellm.cache is None (set litellm_settings.cache: true).',
      errorClass: 'overloaded',
    });
  const send = (status: number, body: unknown) => sendJson(w.res, status, JSON.stringify(body), w.headers);
  switch (route) {
    case '/cache/ping':
      return ping(ctx, cache).then((r) => send(200, r));
    case '/cache/delete': {
      const body = await readJsonBody(req, ctx.maxRequestBytes);
      const keys = body.keys;
      if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string' || k === ''))
        throw badRequest('Invalid "keys": expected a list of cache keys (the x-litellm-cache-key values).', 'keys');
      const deleted = await unhealthy(cache, () => cache.store.delete(keys as string[]));
      return send(200, { status: 'success', deleted });
    }
    case '/cache/flushall': {
      const deleted = await unhealthy(cache, () => cache.store.flush());
      return send(200, { status: 'success', deleted });
    }
    default: {
      const store = cache.store;
      if (!(store instanceof RedisCache))
        throw new GatewayError(400, { message: 'The response cache is not in Redis (cache_params.type: local).' });
      const text = await unhealthy(cache, () => store.ready().info() as Promise<string>);
      const info = parseInfo(text);
      return send(200, { num_clients: Number(info.connected_clients ?? 0), info });
    }
  }
}

function mustBeAdmin(w: ResponseWriter, method: string, route: string): void {
  const p = w.principal as GovernedPrincipal;
  if (p.kind === 'master' || p.kind === 'anonymous' || p.role === 'proxy_admin') return;
  throw new GatewayError(403, {
    message: `Only a proxy admin can call ${method} ${route} (the master key is a proxy admin).`,
    type: 'auth_error',
    code: '403',
    errorClass: 'permission',
  });
}

/** Run a store operation; a Redis failure is LiteLLM's 503 "Service Unhealthy". */
async function unhealthy<T>(cache: ResponseCache, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw new GatewayError(503, {
      message: `Service Unhealthy (${(e as Error).message}).Cache parameters: ${JSON.stringify(publicParams(cache))}`,
      errorClass: 'overloaded',
    });
  }
}

/** The cache's settings without anything secret (passwords are never echoed). */
function publicParams(cache: ResponseCache): Record<string, unknown> {
  const s = cache.settings;
  return {
    type: s.type,
    mode: s.mode,
    ttl: s.ttlS,
    namespace: s.namespace,
    scope: s.scope,
    supported_call_types: [...s.endpoints],
  };
}

async function ping(ctx: EngineContext, cache: ResponseCache): Promise<Record<string, unknown>> {
  const store = cache.store;
  if (!(store instanceof RedisCache)) return { status: 'healthy', cache_type: 'local', entries: store.size?.() ?? 0 };
  const redis = ctx.redis!;
  const result = await unhealthy(cache, async () => {
    const c = store.ready();
    const pong = await c.ping();
    // LiteLLM writes a test entry too: it proves the cache can store, not only answer
    const set = await c.set(`${cache.settings.namespace}:ping`, String(Date.now()), 'EX', 10);
    return { pong, set };
  });
  const where = maskText(redis.where, ctx.secretValues);
  return {
    status: 'healthy',
    cache_type: 'redis',
    ping_response: result.pong === 'PONG',
    set_cache_response: result.set === 'OK' ? 'success' : String(result.set),
    litellm_cache_params: publicParams(cache),
    redis_cache_params: { where, mode: redis.settings.mode, source: redis.settings.source },
    hits: cache.hits,
    misses: cache.misses,
  };
}

/** `INFO`'s `key:value` lines as an object (sections and blank lines skipped). */
function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.indexOf(':');
    if (at > 0) out[line.slice(0, at)] = line.slice(at + 1);
  }
  return out;
}
