/**
 * The response cache's settings, from `litellm_settings.cache: true` and `cache_params` (LiteLLM's names),
 * read once at start-up. Types other than `local` and `redis` (semantic, s3, gcs, disk, ...) are real
 * LiteLLM values the engine does not implement: the engine says so and runs without a cache.
 */
import type { LiteLLMConfig } from '../../config/litellm/schema.js';
import type { SettledEndpoint } from '../observability/settled.js';

/** The LiteLLM call types (`supported_call_types`) and the endpoint each one names. */
export const CALL_TYPES: Readonly<Record<string, SettledEndpoint>> = {
  completion: 'chat',
  acompletion: 'chat',
  text_completion: 'completion',
  atext_completion: 'completion',
  embedding: 'embedding',
  aembedding: 'embedding',
  anthropic_messages: 'messages',
  aanthropic_messages: 'messages',
  // real LiteLLM call types for endpoints the engine does not serve: accepted, never matched
  transcription: 'chat',
  atranscription: 'chat',
  rerank: 'chat',
  arerank: 'chat',
};
const SERVED = new Set(['completion', 'acompletion', 'text_completion', 'atext_completion', 'embedding']);
for (const t of ['aembedding', 'anthropic_messages', 'aanthropic_messages']) SERVED.add(t);

/** Whose entries a request may read: the caller's team (else its key), its key only, or everyone's (LiteLLM). */
export type CacheScope = 'team' | 'key' | 'shared';

export interface CacheSettings {
  type: 'local' | 'redis';
  /** default_on: every request unless it opts out; default_off: only requests with `cache: {"use-cache": true}` */
  mode: 'default_on' | 'default_off';
  /** seconds an entry lives unless the request sends `cache.ttl` */
  ttlS: number;
  /** the prefix of every Redis key (`<namespace>:<sha256>`); /cache/flushall deletes these and only these */
  namespace: string;
  /** the endpoints whose answers are cached */
  endpoints: ReadonlySet<SettledEndpoint>;
  scope: CacheScope;
  /** local: entries kept (least recently used go first) and the largest answer kept, in bytes */
  maxEntries: number;
  maxItemBytes: number;
  /** cache_params as written, for /cache/ping (secrets masked by the caller) */
  params: Readonly<Record<string, unknown>>;
}

export const DEFAULT_NAMESPACE = 'kubiya:cache';
// LiteLLM's InMemoryCache: 600 s, 200 items, 1024 KB per item; Redis entries get an hour (LiteLLM keeps them
// with no expiry unless told, which grows a shared Redis without bound)
const LOCAL_TTL_S = 600;
const REDIS_TTL_S = 3600;
const MAX_ENTRIES = 200;
const MAX_ITEM_KB = 1024;

type Rec = Record<string, unknown>;
const posNum = (v: unknown): number | undefined => {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined;
};

/**
 * The cache the config asks for; undefined when `cache` is not true. `warn` hears why a configured cache is
 * off (an unsupported type) or a value was ignored; `cache_params.type` defaults to redis, as in LiteLLM's proxy.
 */
export function cacheSettings(cfg: LiteLLMConfig, warn: (msg: string) => void): CacheSettings | undefined {
  const ls = cfg.litellm_settings as Rec;
  if (ls.cache !== true) return undefined;
  const cp = (ls.cache_params ?? {}) as Rec;
  const type = cp.type ?? 'redis';
  if (type !== 'local' && type !== 'redis') {
    warn(
      `litellm_settings.cache_params.type: ${JSON.stringify(type)} is not supported yet (the engine caches in ` +
        'memory, "local", or in Redis, "redis"); the response cache is off',
    );
    return undefined;
  }
  const types = Array.isArray(cp.supported_call_types) ? cp.supported_call_types : undefined;
  const endpoints = new Set<SettledEndpoint>();
  for (const t of types ?? Object.keys(CALL_TYPES))
    if (typeof t === 'string' && SERVED.has(t)) endpoints.add(CALL_TYPES[t]);
  const typeTtl = type === 'local' ? posNum(cp.default_in_memory_ttl) : posNum(cp.default_in_redis_ttl);
  const ns = typeof cp.namespace === 'string' && cp.namespace.trim() !== '' ? cp.namespace.trim() : DEFAULT_NAMESPACE;
  return {
    type,
    mode: cp.mode === 'default_off' ? 'default_off' : 'default_on',
    ttlS: posNum(cp.ttl) ?? typeTtl ?? (type === 'local' ? LOCAL_TTL_S : REDIS_TTL_S),
    namespace: ns,
    endpoints,
    scope: cp.scope === 'key' || cp.scope === 'shared' ? cp.scope : 'team',
    maxEntries: Math.floor(posNum(cp.max_size_in_memory) ?? MAX_ENTRIES),
    maxItemBytes: Math.floor((posNum(cp.max_size_per_item) ?? MAX_ITEM_KB) * 1024),
    params: cp,
  };
}
