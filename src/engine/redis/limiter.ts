/**
 * The rate limiter shared by every engine on one Redis: LiteLLM's v3 layout (a fixed window per descriptor that
 * starts with its first request, Cluster hash tags `{api_key:<hash>}:window`, `:requests`, `:tokens`,
 * `:max_parallel_requests`) and one Lua script that checks and takes every descriptor of a request at once, so
 * N engines admit exactly `rpm` requests a window between them.
 *
 * - One round trip per request at most (EVALSHA, loaded once by ioredis), shared: the acquires of requests that
 *   arrive together go in one script call, and while one call is out the next gathers. None when this engine
 *   already knows a window is full (counts only grow within a window: a refusal it can tell from the last answer
 *   is final).
 * - Tokens are added after the call (with the parallel slot freed): the release rides along with the next
 *   acquire's call, applied before its acquires, or goes on its own within RELEASE_DELAY_MS; releases waiting
 *   when the connection closes are sent first.
 * - What one call carries is parsed in order (releases, then acquires, each as asked), so batching changes no
 *   count: a burst admits exactly what one request at a time would.
 * - Cluster: a script may only touch keys of one slot, and each descriptor has its own hash tag. There each
 *   descriptor gets its own script call (all sent at once, not gathered with other requests); when one refuses,
 *   what the others took is given back. That never admits more than a limit; at the very edge it may refuse a
 *   request a single script would have let through.
 * - Redis away (circuit open, not connected, a call failing or passing its deadline): counted in this process
 *   (the in-memory limiter), the failure counted by SharedRedis (litellm_redis_fails). Limits are then per
 *   engine until Redis answers again.
 */
import {
  type LimitDescriptor,
  type LimitRefusal,
  type LimitState,
  MemoryRateLimiter,
  type RateLimiter,
  WINDOW_MS,
} from '../governance/limits/limiter.js';
import type { RedisClient, SharedRedis } from './shared.js';

/** A parallel-request slot lives this long after its last use: slots of an engine that died heal by themselves. */
const PARALLEL_TTL_MS = 600_000;
/** How long a release (tokens, a parallel slot) may wait for an acquire's script to ride along with. */
const RELEASE_DELAY_MS = 5;
/** Acquires per script call at most (a bigger batch is split: a script holds Redis while it runs). */
const MAX_BATCH = 256;

// One script for a batch: first the releases, then the acquires, each as the engine asked for them in order.
// KEYS: per distinct descriptor of the batch its window, requests, tokens, max_parallel_requests.
// ARGV: window ms, parallel ttl, number of releases, number of acquires; then per release its tokens, requests to
// give back (0 or 1), descriptor count k and k pairs (descriptor number, 1 when it holds a parallel slot); then
// per acquire its now, k and k groups (descriptor number, rpm, tpm, max parallel; -1: none).
// Answers, per acquire: {0, then requests, tokens, resetAt per descriptor} (counts after this request) or
// {i, limit kind (1 requests, 2 tokens, 3 parallel), resetAt} when its i-th descriptor refuses (nothing taken).
// A release frees the slots, adds the tokens to windows still open, and (undo) takes the request back.
const BATCH = `
local win = tonumber(ARGV[1])
local a = 5
for _ = 1, tonumber(ARGV[3]) do
  local tok, undo, k = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  a = a + 3
  for _ = 1, k do
    local b = (tonumber(ARGV[a]) - 1) * 4
    local open = redis.call('EXISTS', KEYS[b + 1]) == 1
    if ARGV[a + 1] == '1' and redis.call('DECR', KEYS[b + 4]) < 0 then redis.call('SET', KEYS[b + 4], 0) end
    if open and tok > 0 then redis.call('INCRBY', KEYS[b + 3], tok) end
    if open and undo > 0 and redis.call('DECR', KEYS[b + 2]) < 0 then redis.call('SET', KEYS[b + 2], 0) end
    a = a + 2
  end
end
local out = {}
for _ = 1, tonumber(ARGV[4]) do
  local now, k = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local first = a + 2
  local res = {0}
  for i = 1, k do
    local g = first + (i - 1) * 4
    local b = (tonumber(ARGV[g]) - 1) * 4
    local start = tonumber(redis.call('GET', KEYS[b + 1]))
    local reqs, toks = 0, 0
    if start == nil or now >= start + win then
      start = now
      redis.call('SET', KEYS[b + 1], now, 'PX', win)
      redis.call('SET', KEYS[b + 2], 0, 'PX', win)
      redis.call('SET', KEYS[b + 3], 0, 'PX', win)
    else
      reqs = tonumber(redis.call('GET', KEYS[b + 2]) or '0')
      toks = tonumber(redis.call('GET', KEYS[b + 3]) or '0')
    end
    local reset = start + win
    local rpm, tpm, par = tonumber(ARGV[g + 1]), tonumber(ARGV[g + 2]), tonumber(ARGV[g + 3])
    if par >= 0 and tonumber(redis.call('GET', KEYS[b + 4]) or '0') >= par then res = {i, 3, reset} break end
    if rpm >= 0 and reqs >= rpm then res = {i, 1, reset} break end
    if tpm >= 0 and toks >= tpm then res = {i, 2, reset} break end
    res[#res + 1] = reqs + 1
    res[#res + 1] = toks
    res[#res + 1] = reset
  end
  if res[1] == 0 then
    for i = 1, k do
      local g = first + (i - 1) * 4
      local b = (tonumber(ARGV[g]) - 1) * 4
      redis.call('INCR', KEYS[b + 2])
      if tonumber(ARGV[g + 3]) >= 0 then
        redis.call('INCR', KEYS[b + 4])
        redis.call('PEXPIRE', KEYS[b + 4], ARGV[2])
      end
    end
  end
  for _, v in ipairs(res) do out[#out + 1] = v end
  a = first + k * 4
end
return out
`;

type Scripted = RedisClient & {
  kubiyaLimitBatch(...args: (string | number)[]): Promise<number[]>;
};

const KINDS: LimitRefusal['limitType'][] = ['requests', 'tokens', 'max_parallel_requests'];

/** The hash tag of a descriptor, as LiteLLM writes it: `{api_key:<hash>}`, `{team:<id>}`, ... */
export const limitTag = (d: LimitDescriptor): string => `{${d.type}:${d.id}}`;

const lim = (v: number | undefined) => (v === undefined ? -1 : v);

/** A request's descriptors to take, or (Release) to give back after the call. */
interface Acquire {
  ds: readonly LimitDescriptor[];
  now: number;
}
/** An acquire waiting for the next script call, answered through `done`. */
interface Waiting extends Acquire {
  /** epoch ms it began to wait */
  since: number;
  done(r: LimitRefusal | undefined): void;
}
interface Release {
  ds: readonly LimitDescriptor[];
  tokens: number;
  undo: 0 | 1;
}

export class RedisRateLimiter implements RateLimiter {
  /** what the last answer said about each descriptor (headers, and refusals without a round trip) */
  private readonly seen = new Map<string, LimitState>();
  /** the counts while Redis is away */
  readonly local: MemoryRateLimiter;
  private readonly cluster: boolean;
  /** acquires and releases waiting for the next script call */
  private acquires: Waiting[] = [];
  private releases: Release[] = [];
  private flushing = false;
  /** script calls of acquires not answered yet */
  private inFlight = 0;
  private releaseTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: SharedRedis,
    private readonly windowMs = WINDOW_MS,
  ) {
    this.local = new MemoryRateLimiter(windowMs);
    this.cluster = redis.settings.mode === 'cluster';
    const c = redis.client;
    // ioredis sends EVALSHA and loads the script on NOSCRIPT (a restarted Redis, another Cluster node)
    if (!('kubiyaLimitBatch' in c)) c.defineCommand('kubiyaLimitBatch', { lua: BATCH });
    // releases still waiting go out before the connection closes
    redis.beforeClose(() => this.flush(true));
  }

  acquire(ds: readonly LimitDescriptor[], now: number): LimitRefusal | undefined | Promise<LimitRefusal | undefined> {
    // a window this engine saw full stays full until it ends: refused here, no round trip
    for (const d of ds) {
      const s = this.seen.get(limitTag(d));
      if (s === undefined || now >= s.resetAt) continue;
      if (d.rpm !== undefined && s.requests >= d.rpm)
        return { descriptor: d, limitType: 'requests', limit: d.rpm, resetAt: s.resetAt };
      if (d.tpm !== undefined && s.tokens >= d.tpm)
        return { descriptor: d, limitType: 'tokens', limit: d.tpm, resetAt: s.resetAt };
    }
    if (!this.redis.up) return this.local.acquire(ds, now);
    if (this.cluster)
      return this.redis.run(
        (c) => this.perSlot(c, ds, now),
        () => this.local.acquire(ds, now),
        'limits',
      );
    // one script call carries every acquire of this turn of the event loop (and the releases waiting); while one
    // is out, the next gathers
    return new Promise((done) => {
      this.acquires.push({ ds, now, since: Date.now(), done });
      if (!this.flushing && this.inFlight === 0) {
        this.flushing = true;
        setImmediate(() => this.flush());
      }
    });
  }

  release(ds: readonly LimitDescriptor[], tokens: number, now: number): void {
    // the local counts learn the tokens too: they are what applies if Redis goes away within the window
    this.local.release(ds, tokens, now);
    for (const d of ds) {
      const s = this.seen.get(limitTag(d));
      if (s !== undefined && now < s.resetAt) s.tokens += tokens;
    }
    if (this.cluster) {
      this.redis.send((c) => Promise.all(ds.map((d) => this.call(c, [{ ds: [d], tokens, undo: 0 }], []))), 'limits');
      return;
    }
    // rides along with the next acquire's script, or goes on its own within RELEASE_DELAY_MS
    this.releases.push({ ds, tokens, undo: 0 });
    if (!this.flushing && this.inFlight === 0 && this.releaseTimer === undefined)
      this.releaseTimer = setTimeout(() => this.flush(), RELEASE_DELAY_MS);
  }

  state(d: LimitDescriptor, now: number): LimitState {
    const s = this.seen.get(limitTag(d));
    if (s !== undefined && now < s.resetAt) return s;
    return this.local.state(d, now);
  }

  /**
   * Send what waits: the releases and the acquires (MAX_BATCH per script call). While a batch is out the next one
   * gathers (its answer sends it), so the busier the engine the more a call carries; an acquire still waits on
   * Redis no longer than the deadline in all: what it waited for the batch before is taken from its own.
   */
  private flush(closing = false): void {
    this.flushing = false;
    if (this.inFlight > 0 && !closing) return;
    clearTimeout(this.releaseTimer);
    this.releaseTimer = undefined;
    const all = this.acquires;
    let releases = this.releases;
    this.acquires = [];
    this.releases = [];
    if (all.length === 0) {
      if (releases.length > 0) this.redis.send((c) => this.call(c, releases, []), 'limits');
      return;
    }
    const now = Date.now();
    for (let i = 0; i < all.length; i += MAX_BATCH) {
      const batch = all.slice(i, i + MAX_BATCH);
      const rel = releases;
      releases = [];
      this.inFlight++;
      void this.redis
        .run(
          (c) => this.call(c, rel, batch),
          () => batch.map((a) => this.local.acquire(a.ds, a.now)),
          'limits',
          Math.max(1, this.redis.deadlineMs - (now - batch[0].since)),
        )
        .then((answers) => {
          for (let j = 0; j < batch.length; j++) batch[j].done(answers[j]);
          if (--this.inFlight === 0 && (this.acquires.length > 0 || this.releases.length > 0)) this.flush();
        });
    }
  }

  /** Cluster: one script per descriptor, all at once; a refusal gives back what the others took. */
  private async perSlot(
    c: RedisClient,
    ds: readonly LimitDescriptor[],
    now: number,
  ): Promise<LimitRefusal | undefined> {
    const answers = await Promise.all(ds.map((d) => this.call(c, [], [{ ds: [d], now }])));
    const refusal = answers.find((a) => a[0] !== undefined)?.[0];
    if (refusal === undefined) return undefined;
    await Promise.all(
      ds.map((d, i) => (answers[i][0] === undefined ? this.call(c, [{ ds: [d], tokens: 0, undo: 1 }], []) : undefined)),
    );
    return refusal;
  }

  /** One script call: the releases, then the acquires; their answers in order. */
  private async call(
    c: RedisClient,
    releases: readonly Release[],
    acquires: readonly Acquire[],
  ): Promise<(LimitRefusal | undefined)[]> {
    // every distinct descriptor once: its four keys, and its number (1-based) for the arguments
    const numbers = new Map<string, number>();
    const keys: string[] = [];
    const num = (d: LimitDescriptor): number => {
      const t = limitTag(d);
      let n = numbers.get(t);
      if (n === undefined) {
        n = numbers.size + 1;
        numbers.set(t, n);
        keys.push(`${t}:window`, `${t}:requests`, `${t}:tokens`, `${t}:max_parallel_requests`);
      }
      return n;
    };
    const argv: (string | number)[] = [this.windowMs, PARALLEL_TTL_MS, releases.length, acquires.length];
    for (const r of releases) {
      // INCRBY takes integers only (a fractional count would fail the script)
      argv.push(Math.max(0, Math.round(r.tokens)), r.undo, r.ds.length);
      for (const d of r.ds) argv.push(num(d), d.maxParallel === undefined ? 0 : 1);
    }
    for (const a of acquires) {
      argv.push(a.now, a.ds.length);
      for (const d of a.ds) argv.push(num(d), lim(d.rpm), lim(d.tpm), lim(d.maxParallel));
    }
    const r = await (c as Scripted).kubiyaLimitBatch(keys.length, ...keys, ...argv);
    const out: (LimitRefusal | undefined)[] = [];
    let at = 0;
    for (const a of acquires) {
      out.push(this.answer(a.ds, r, at, a.now));
      at += r[at] === 0 ? 1 + a.ds.length * 3 : 3;
    }
    return out;
  }

  /** One acquire's answer, at `at` in the script's reply. */
  private answer(ds: readonly LimitDescriptor[], r: number[], at: number, now: number): LimitRefusal | undefined {
    if (r[at] !== 0) {
      const d = ds[r[at] - 1];
      const limitType = KINDS[r[at + 1] - 1];
      const resetAt = r[at + 2];
      const limit = (limitType === 'requests' ? d.rpm : limitType === 'tokens' ? d.tpm : d.maxParallel) as number;
      // a full window is remembered (parallel slots free up at any time: not remembered)
      if (limitType !== 'max_parallel_requests') {
        const s = this.seen.get(limitTag(d));
        const full = { requests: limitType === 'requests' ? limit : (s?.requests ?? 0), tokens: 0, resetAt };
        if (limitType === 'tokens') full.tokens = limit;
        this.remember(limitTag(d), full, now);
      }
      return { descriptor: d, limitType, limit, resetAt };
    }
    for (let i = 0; i < ds.length; i++) {
      const o = at + 1 + i * 3;
      this.remember(limitTag(ds[i]), { requests: r[o], tokens: r[o + 1], resetAt: r[o + 2] }, now);
    }
    return undefined;
  }

  private remember(k: string, s: LimitState, now: number): void {
    if (this.seen.size >= 100_000 && !this.seen.has(k))
      for (const [key, v] of this.seen) if (now >= v.resetAt) this.seen.delete(key);
    if (this.seen.size >= 100_000) this.seen.clear();
    this.seen.set(k, s);
  }
}
