/**
 * The response cache in a request's path (docs/cache.md). After authentication and admission, before
 * routing, `plan()` decides what the cache does for the request (nothing, for most engines and requests:
 * no hashing unless caching applies), `lookup()` reads the entry, and after a successful answer `storeAnswer()`
 * or the stream tee stores it, off the response path. Hits are answered by the endpoint through the writer
 * (`ResponseWriter.cached`), cost 0 and are marked in the settled event.
 */
import type { Principal } from '../auth/principal.js';
import { badRequest, GatewayError } from '../errors.js';
import type { GovernedPrincipal } from '../governance/types.js';
import type { SettledEndpoint } from '../observability/settled.js';
import type { EndpointKind, JsonObject, OpenAIChunk } from '../wire.js';
import { hasContent, StreamAssembler } from './answer.js';
import type { CacheScope, CacheSettings } from './config.js';
import { cacheKey } from './key.js';
import type { CacheEntry, CacheStore } from './stores.js';

/** What the cache does for one request. */
export interface CacheCall {
  /** sha256 hex (`x-litellm-cache-key`) */
  key: string;
  kind: EndpointKind;
  /** read before routing (false with `cache.no-cache`) */
  read: boolean;
  /** store a successful answer (false with `cache.no-store`) */
  write: boolean;
  ttlS: number;
  /** `cache.s-maxage`: only entries younger than this (ms) */
  maxAgeMs?: number;
  /** the model group the request resolves to */
  group: string;
}

const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

export class ResponseCache {
  /** lookups that found / did not find an entry since start (also in the settled events) */
  hits = 0;
  misses = 0;

  constructor(
    readonly settings: CacheSettings,
    readonly store: CacheStore,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * What the cache does for this request, or undefined: off for the endpoint, `caching: false`, not opted in
   * under `mode: default_off`, or both reading and writing turned off. `group` is the model group (or the
   * name a wildcard matched). Throws a 400 for a `cache` control of the wrong type.
   */
  plan(
    endpoint: SettledEndpoint,
    kind: EndpointKind,
    body: JsonObject,
    group: string,
    principal: Principal,
  ): CacheCall | undefined {
    const s = this.settings;
    if (!s.endpoints.has(endpoint) || body.caching === false) return undefined;
    const c = body.cache;
    let ctl: JsonObject | undefined;
    if (c !== undefined && c !== null) {
      if (!isObject(c))
        throw badRequest('Invalid "cache": expected an object such as {"no-cache": true} or {"ttl": 60}.', 'cache');
      ctl = c;
    }
    if (s.mode === 'default_off' && ctl?.['use-cache'] !== true && body.caching !== true) return undefined;
    const read = flag(ctl, 'no-cache') !== true;
    const write = flag(ctl, 'no-store') !== true;
    if (!read && !write) return undefined;
    const ttl = seconds(ctl, 'ttl');
    const maxAge = seconds(ctl, 's-maxage') ?? seconds(ctl, 's-max-age');
    const ns = ctl?.namespace;
    if (ns !== undefined && ns !== null && typeof ns !== 'string')
      throw badRequest('Invalid "cache.namespace": expected a string.', 'cache.namespace');
    const key = cacheKey(
      { kind, model: group, scope: scopeOf(principal, s.scope), namespace: typeof ns === 'string' ? ns : '' },
      body,
    );
    return {
      key,
      kind,
      read,
      write,
      ttlS: ttl ?? s.ttlS,
      maxAgeMs: maxAge === undefined ? undefined : maxAge * 1000,
      group,
    };
  }

  /** The entry for `call`, if any and young enough for its `s-maxage`; counts the hit or miss. */
  lookup(call: CacheCall): CacheEntry | undefined | Promise<CacheEntry | undefined> {
    const got = this.store.get(call.key);
    if (got instanceof Promise) return got.then((e) => this.fresh(call, e));
    return this.fresh(call, got);
  }

  private fresh(call: CacheCall, e: CacheEntry | undefined): CacheEntry | undefined {
    const ok = e !== undefined && (call.maxAgeMs === undefined || this.now() - e.t <= call.maxAgeMs);
    if (ok) this.hits++;
    else this.misses++;
    return ok ? e : undefined;
  }

  /** Keep a whole answer (its JSON text, and its parsed view for the emptiness check); empty ones are not kept. */
  storeAnswer(call: CacheCall, text: string | Buffer, parsed: JsonObject): void {
    if (!hasContent(call.kind, parsed)) return;
    this.store.set(call.key, { t: this.now(), group: call.group, body: String(text) }, call.ttlS);
  }

  /**
   * The chunks of a stream as they go to the client, assembled on the side; the whole answer is stored
   * once the stream ran out normally (not when it failed or the client left: the loop stops reading then).
   */
  async *tee(
    call: CacheCall,
    chunks: AsyncIterable<OpenAIChunk[]> | Iterable<OpenAIChunk[]>,
  ): AsyncGenerator<OpenAIChunk[]> {
    const asm = new StreamAssembler(call.kind);
    for await (const batch of chunks) {
      asm.add(batch);
      yield batch;
    }
    const answer = asm.answer();
    this.storeAnswer(call, JSON.stringify(answer), answer);
  }
}

function flag(ctl: JsonObject | undefined, name: string): boolean | undefined {
  const v = ctl?.[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw badRequest(`Invalid "cache.${name}": expected true or false.`, `cache.${name}`);
  return v;
}

function seconds(ctl: JsonObject | undefined, name: string): number | undefined {
  const v = ctl?.[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw badRequest(`Invalid "cache.${name}": expected a number of seconds (0 or more).`, `cache.${name}`);
  return v;
}

/** Whose entries the request shares: its team's (else its key's), its key's, or everyone's. */
function scopeOf(p: Principal, scope: CacheScope): string {
  if (scope === 'shared') return '';
  if (scope === 'team' && p.teamId) return `team:${p.teamId}`;
  if (p.keyHash) return `key:${p.keyHash}`;
  return 'proxy';
}

/**
 * A virtual key's `allowed_cache_controls` (its column; else its metadata's, for keys written by other tools):
 * when the list is not empty, every control in the request's `cache` must be in it, else a 403 in LiteLLM's
 * words. Runs whether or not a cache is configured.
 */
export function checkCacheControls(p: Principal, cache: unknown): void {
  if (!isObject(cache)) return;
  const allowed = allowedControls(p);
  if (allowed === undefined || allowed.length === 0) return;
  for (const k of Object.keys(cache)) {
    if (!allowed.includes(k))
      throw new GatewayError(403, {
        message: `Not allowed to set ${k} as a cache control. Contact admin to change permissions.`,
        errorClass: 'permission',
        param: 'cache',
      });
  }
}

function allowedControls(p: Principal): readonly unknown[] | undefined {
  const key = (p as GovernedPrincipal).record?.key;
  if (key === undefined) return undefined;
  const own = listOf(key.allowed_cache_controls);
  if (own !== undefined && own.length > 0) return own;
  const meta = key.metadata;
  if (typeof meta !== 'string' || !meta.includes('allowed_cache_controls')) return own;
  const m = parsed(meta);
  return isObject(m) ? listOf(m.allowed_cache_controls) : own;
}

function listOf(v: unknown): readonly unknown[] | undefined {
  const x = typeof v === 'string' ? parsed(v) : v;
  return Array.isArray(x) ? x : undefined;
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
