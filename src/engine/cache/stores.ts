/**
 * Where cached answers live: `LocalCache`, a bounded LRU in this process, or `RedisCache`, the shared Redis
 * (`<namespace>:<sha256>` keys with a TTL, read and written through SharedRedis.run, so a Redis that is down,
 * slow or behind an open circuit is a miss and a skipped write, never an error or a wait past its deadline).
 */
import type { RedisClient, SharedRedis } from '../redis/shared.js';

/** One cached answer. */
export interface CacheEntry {
  /** epoch ms when it was stored (`cache.s-maxage` compares against it) */
  t: number;
  /** the model group that answered */
  group: string;
  /** the whole answer as JSON text (a chat.completion, a text_completion or an embeddings list) */
  body: string;
}

export interface CacheStore {
  readonly type: 'local' | 'redis';
  /** the entry under `key`, if any (local: synchronous) */
  get(key: string): CacheEntry | undefined | Promise<CacheEntry | undefined>;
  /** store, not waited for: a failed write is a later miss */
  set(key: string, entry: CacheEntry, ttlS: number): void;
  /** delete these keys (the sha256 of `x-litellm-cache-key`, or `<namespace>:<sha256>`); returns how many went */
  delete(keys: readonly string[]): Promise<number>;
  /** delete every entry of this cache (Redis: the namespace's keys only); returns how many went */
  flush(): Promise<number>;
  /** entries held (local only) */
  size?(): number;
}

interface Held {
  entry: CacheEntry;
  expiresAt: number;
}

/** A least-recently-used map bounded in entries, each answer at most `maxItemBytes` (larger ones are not kept). */
export class LocalCache implements CacheStore {
  readonly type = 'local' as const;
  private readonly map = new Map<string, Held>();

  constructor(
    private readonly maxEntries: number,
    private readonly maxItemBytes: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): CacheEntry | undefined {
    const h = this.map.get(key);
    if (h === undefined) return undefined;
    this.map.delete(key);
    if (h.expiresAt <= this.now()) return undefined;
    this.map.set(key, h); // most recently used now
    return h.entry;
  }

  set(key: string, entry: CacheEntry, ttlS: number): void {
    // string length is a lower bound of its UTF-8 bytes: cheap, and what keeps memory bounded
    if (entry.body.length > this.maxItemBytes) return;
    this.map.delete(key);
    this.map.set(key, { entry, expiresAt: this.now() + ttlS * 1000 });
    while (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
    }
  }

  async delete(keys: readonly string[]): Promise<number> {
    let n = 0;
    for (const k of keys) if (this.map.delete(bareKey(k))) n++;
    return n;
  }

  async flush(): Promise<number> {
    const n = this.map.size;
    this.map.clear();
    return n;
  }

  size(): number {
    return this.map.size;
  }
}

/** The namespace's part of a key given to /cache/delete: `<ns>:<sha256>` and `<sha256>` name the same entry. */
function bareKey(k: string): string {
  const at = k.lastIndexOf(':');
  return at === -1 ? k : k.slice(at + 1);
}

// what goes into Redis: LiteLLM's `{"timestamp": <epoch s>, "response": <json text>}` plus the model group
interface Stored {
  timestamp: number;
  model_group: string;
  response: string;
}

const GLOB = /[*?[\]\\]/g;

/** Entries in the shared Redis under `<namespace>:`. */
export class RedisCache implements CacheStore {
  readonly type = 'redis' as const;
  private readonly prefix: string;

  constructor(
    private readonly redis: SharedRedis,
    namespace: string,
  ) {
    this.prefix = `${namespace}:`;
  }

  get(key: string): Promise<CacheEntry | undefined> {
    return this.redis.run(
      async (c) => {
        const v = await c.get(this.prefix + key);
        return v === null ? undefined : parseStored(v);
      },
      () => undefined,
      'cache_get',
    );
  }

  set(key: string, entry: CacheEntry, ttlS: number): void {
    const v: Stored = { timestamp: entry.t / 1000, model_group: entry.group, response: entry.body };
    void this.redis.run(
      (c) => c.set(this.prefix + key, JSON.stringify(v), 'EX', Math.max(1, Math.ceil(ttlS))),
      () => undefined,
      'cache_set',
    );
  }

  async delete(keys: readonly string[]): Promise<number> {
    const c = this.ready();
    const full = keys.map((k) => this.prefix + bareKey(k));
    // one key per command: Cluster refuses a DEL whose keys live in different slots
    const counts = await Promise.all(full.map((k) => c.unlink(k)));
    return counts.reduce((a, b) => a + b, 0);
  }

  /** SCAN for `<namespace>:*` on every master and UNLINK what it finds: never FLUSHALL or FLUSHDB. */
  async flush(): Promise<number> {
    const c = this.ready();
    const match = `${this.prefix.replace(GLOB, '\\$&')}*`;
    const nodes: RedisClient[] = 'nodes' in c && typeof c.nodes === 'function' ? c.nodes('master') : [c];
    let n = 0;
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) n += (await Promise.all(keys.map((k) => c.unlink(k)))).reduce((a, b) => a + b, 0);
      } while (cursor !== '0');
    }
    return n;
  }

  /** The client, or an error saying Redis is not usable now (the management routes report it). */
  ready(): RedisClient {
    if (this.redis.client.status !== 'ready') throw new Error(`redis at ${this.redis.where} is not connected`);
    return this.redis.client;
  }
}

function parseStored(v: string): CacheEntry | undefined {
  try {
    const s = JSON.parse(v) as Stored;
    if (typeof s.response !== 'string' || typeof s.timestamp !== 'number') return undefined;
    return { t: s.timestamp * 1000, group: typeof s.model_group === 'string' ? s.model_group : '', body: s.response };
  } catch {
    return undefined; // written by something else: a miss, and the next answer overwrites it
  }
}
