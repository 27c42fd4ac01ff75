/**
 * The cache key: sha256 hex of the canonical JSON (keys sorted at every depth, no spaces) of what decides
 * the answer: the endpoint, the model group, the tenant scope, the request's namespace, and the body
 * without the fields below. LiteLLM hashes Python `str()` reprs in argument order; sharing entries with it
 * is not a goal, so this is our own, stable across processes and key order.
 */
import { createHash } from 'node:crypto';
import type { JsonObject } from '../wire.js';

/**
 * Body fields that never change the answer: routing, retries, timeouts, tracking, logging, the cache's own
 * controls, and how the answer is delivered (a stream and a whole answer share an entry). `model` is
 * replaced by the model group it resolves to. Everything else (messages, prompt, input, temperature,
 * tools, response_format, seed, mock_response, ...) is part of the key, unknown fields included.
 */
export const NOT_IN_KEY: ReadonlySet<string> = new Set([
  'model',
  'stream',
  'stream_options',
  'metadata',
  'litellm_metadata',
  'user',
  'tags',
  'cache',
  'caching',
  'ttl',
  'num_retries',
  'max_retries',
  'timeout',
  'stream_timeout',
  'fallbacks',
  'context_window_fallbacks',
  'content_policy_fallbacks',
  'disable_fallbacks',
  'litellm_call_id',
  'proxy_server_request',
  'litellm_logging_obj',
  'user_api_key',
  'user_api_key_alias',
  'user_api_key_team_id',
  'safety_identifier',
  'prompt_cache_key',
  'store',
  'service_tier',
]);

/** JSON with every object's keys sorted (arrays keep their order); undefined members are left out, as JSON does. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += (i ? ',' : '') + (v[i] === undefined ? 'null' : canonicalJson(v[i]));
    return `${out}]`;
  }
  const o = v as Record<string, unknown>;
  let out = '{';
  let first = true;
  for (const k of Object.keys(o).sort()) {
    if (o[k] === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(k)}:${canonicalJson(o[k])}`;
    first = false;
  }
  return `${out}}`;
}

/** The parts of a key besides the body. */
export interface KeyParts {
  kind: string;
  /** the model group (or, through a wildcard, the model named) */
  model: string;
  /** `team:<id>`, `key:<hash>`, `proxy` or '' (a shared cache) */
  scope: string;
  /** the request's `cache.namespace` ('' when none) */
  namespace: string;
}

/** sha256 hex of the canonical JSON of `parts` and the answer-deciding fields of `body`. */
export function cacheKey(parts: KeyParts, body: JsonObject): string {
  const params: JsonObject = {};
  for (const k in body) if (!NOT_IN_KEY.has(k)) params[k] = body[k];
  const text = canonicalJson({ v: 1, ...parts, params });
  return createHash('sha256').update(text).digest('hex');
}
