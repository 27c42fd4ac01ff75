/**
 * The cache as the endpoints use it: plan for a request (after admission, before routing), and turn a hit
 * into the outcome the writer sends (a whole answer, or chunks replayed as a stream) like a routed one.
 */
import type { EngineContext } from '../context.js';
import type { ResponseWriter } from '../http/response-writer.js';
import type { SettledEndpoint } from '../observability/settled.js';
import type { RoutedOutcome } from '../router/dispatch.js';
import { resolveModel } from '../router/resolve.js';
import type { EndpointKind, JsonObject } from '../wire.js';
import { replayChunks } from './answer.js';
import type { CacheCall } from './cache.js';
import type { CacheEntry } from './stores.js';

/**
 * What the cache does for this request (undefined: nothing; then nothing was hashed). The writer learns
 * the key (`x-litellm-cache-key`, the settled event). A model no group serves is left to the router's 404.
 */
export function planCache(
  ctx: EngineContext,
  w: ResponseWriter,
  endpoint: SettledEndpoint,
  kind: EndpointKind,
  body: JsonObject,
  model: string,
): CacheCall | undefined {
  const cache = ctx.cache;
  if (cache === undefined || !cache.settings.endpoints.has(endpoint)) return undefined;
  const r = resolveModel(ctx.table, model);
  if (!r) return undefined;
  // through a wildcard, the name asked for is the model (the group is only the pattern)
  const call = cache.plan(endpoint, kind, body, r.captures ? model : r.group.name, w.principal);
  if (call) w.cacheKey = call.key;
  return call;
}

/**
 * The cached entry for `call` when it is to be read and there is one (a Redis that is away: none); a promise
 * only for Redis (a local hit is answered without a tick in between).
 */
export function cachedEntry(
  ctx: EngineContext,
  call: CacheCall | undefined,
): CacheEntry | undefined | Promise<CacheEntry | undefined> {
  if (call === undefined || !call.read || ctx.cache === undefined) return undefined;
  return ctx.cache.lookup(call);
}

/**
 * A hit as an outcome: the writer marks it (headers, cost 0, settled event) and sends it as it sends a routed
 * one. The deployment is the group's first, for its name only: no upstream is called.
 */
export function hitOutcome(
  ctx: EngineContext,
  w: ResponseWriter,
  call: CacheCall,
  entry: CacheEntry,
  stream: boolean,
): RoutedOutcome {
  const group = ctx.table.groups.get(entry.group) ?? resolveModel(ctx.table, call.group)?.group;
  // planCache resolved the model a moment ago; a config reload is the only way to lose it
  const deployment = (group ?? ctx.table.groups.values().next().value)!.deployments[0];
  w.cacheHit = true;
  w.stream = stream;
  let parsed: JsonObject | undefined;
  const response = (): JsonObject => (parsed ??= JSON.parse(entry.body) as JsonObject);
  if (!stream) {
    return {
      type: 'json',
      deployment,
      get response() {
        return response();
      },
      upstreamMs: 0,
    };
  }
  const r = response();
  if (r.usage !== undefined) w.streamUsage = r.usage;
  return { type: 'stream', deployment, chunks: replayChunks(call.kind, r), upstreamMs: 0 };
}
