/**
 * The rate limiter shared by every engine on one Redis: LiteLLM's v3 layout (a fixed window per descriptor that
 * starts with its first request, Cluster hash tags `{api_key:<hash>}:window`, `:requests`, `:tokens`,
 * `:max_parallel_requests`) and one Lua script per request that checks and takes every descriptor at once, so
 * N engines admit exactly `rpm` requests a window between them.
 *
 * - One round trip per request (EVALSHA, loaded once by ioredis), none when this engine already knows a window is
 *   full (counts only grow within a window: a refusal it can tell from the last answer is final).
 * - Tokens are added after the call (another script: the parallel slot freed, the tokens counted, one trip).
 * - Cluster: a script may only touch keys of one slot, and each descriptor has its own hash tag. There each
 *   descriptor gets its own script call (all sent at once); when one refuses, what the others took is given
 *   back. That never admits more than a limit; at the very edge it may refuse a request a single script would
 *   have let through.
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

// KEYS: per descriptor window, requests, tokens, max_parallel_requests. ARGV: now, window ms, parallel ttl, then
// per descriptor rpm, tpm, max parallel (-1: none). Answers {0, requests, tokens, resetAt, ...} (counts after
// this request) or {i, limit kind (1 requests, 2 tokens, 3 parallel), resetAt} when descriptor i refuses.
const ACQUIRE = `
local now = tonumber(ARGV[1])
local win = tonumber(ARGV[2])
local n = #KEYS / 4
local out = {0}
for i = 0, n - 1 do
  local w = KEYS[i * 4 + 1]
  local start = tonumber(redis.call('GET', w))
  local reqs, toks = 0, 0
  if start == nil or now >= start + win then
    start = now
    redis.call('SET', w, now, 'PX', win)
    redis.call('SET', KEYS[i * 4 + 2], 0, 'PX', win)
    redis.call('SET', KEYS[i * 4 + 3], 0, 'PX', win)
  else
    reqs = tonumber(redis.call('GET', KEYS[i * 4 + 2]) or '0')
    toks = tonumber(redis.call('GET', KEYS[i * 4 + 3]) or '0')
  end
  local reset = start + win
  local rpm = tonumber(ARGV[4 + i * 3])
  local tpm = tonumber(ARGV[5 + i * 3])
  local par = tonumber(ARGV[6 + i * 3])
  if par >= 0 and tonumber(redis.call('GET', KEYS[i * 4 + 4]) or '0') >= par then return {i + 1, 3, reset} end
  if rpm >= 0 and reqs >= rpm then return {i + 1, 1, reset} end
  if tpm >= 0 and toks >= tpm then return {i + 1, 2, reset} end
  out[#out + 1] = reqs + 1
  out[#out + 1] = toks
  out[#out + 1] = reset
end
for i = 0, n - 1 do
  redis.call('INCR', KEYS[i * 4 + 2])
  if tonumber(ARGV[6 + i * 3]) >= 0 then
    redis.call('INCR', KEYS[i * 4 + 4])
    redis.call('PEXPIRE', KEYS[i * 4 + 4], ARGV[3])
  end
end
return out
`;

// KEYS as above. ARGV: tokens, requests to give back (0 or 1), then per descriptor 1 when it holds a parallel slot.
// Frees the slots, adds the tokens to windows still open, and (undo) takes the requests back.
const RELEASE = `
local tok = tonumber(ARGV[1])
local undo = tonumber(ARGV[2])
for i = 0, #KEYS / 4 - 1 do
  local open = redis.call('EXISTS', KEYS[i * 4 + 1]) == 1
  if ARGV[3 + i] == '1' and redis.call('DECR', KEYS[i * 4 + 4]) < 0 then redis.call('SET', KEYS[i * 4 + 4], 0) end
  if open and tok > 0 then redis.call('INCRBY', KEYS[i * 4 + 3], tok) end
  if open and undo > 0 and redis.call('DECR', KEYS[i * 4 + 2]) < 0 then redis.call('SET', KEYS[i * 4 + 2], 0) end
end
return 0
`;

type Scripted = RedisClient & {
  kubiyaLimitAcquire(...args: (string | number)[]): Promise<number[]>;
  kubiyaLimitRelease(...args: (string | number)[]): Promise<number>;
};

const KINDS: LimitRefusal['limitType'][] = ['requests', 'tokens', 'max_parallel_requests'];

/** The hash tag of a descriptor, as LiteLLM writes it: `{api_key:<hash>}`, `{team:<id>}`, ... */
export const limitTag = (d: LimitDescriptor): string => `{${d.type}:${d.id}}`;

function keysOf(d: LimitDescriptor, into: string[]): void {
  const t = limitTag(d);
  into.push(`${t}:window`, `${t}:requests`, `${t}:tokens`, `${t}:max_parallel_requests`);
}

const lim = (v: number | undefined) => (v === undefined ? -1 : v);

export class RedisRateLimiter implements RateLimiter {
  /** what the last answer said about each descriptor (headers, and refusals without a round trip) */
  private readonly seen = new Map<string, LimitState>();
  /** the counts while Redis is away */
  readonly local: MemoryRateLimiter;
  private readonly cluster: boolean;

  constructor(
    private readonly redis: SharedRedis,
    private readonly windowMs = WINDOW_MS,
  ) {
    this.local = new MemoryRateLimiter(windowMs);
    this.cluster = redis.settings.mode === 'cluster';
    const c = redis.client;
    // ioredis sends EVALSHA and loads the script on NOSCRIPT (a restarted Redis, another Cluster node)
    if (!('kubiyaLimitAcquire' in c)) {
      c.defineCommand('kubiyaLimitAcquire', { lua: ACQUIRE });
      c.defineCommand('kubiyaLimitRelease', { lua: RELEASE });
    }
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
    const fallback = () => this.local.acquire(ds, now);
    if (!this.cluster || ds.length === 1) return this.redis.run((c) => this.script(c, ds, now), fallback, 'limits');
    return this.redis.run((c) => this.perSlot(c, ds, now), fallback, 'limits');
  }

  release(ds: readonly LimitDescriptor[], tokens: number, now: number): void {
    // the local counts learn the tokens too: they are what applies if Redis goes away within the window
    this.local.release(ds, tokens, now);
    for (const d of ds) {
      const s = this.seen.get(limitTag(d));
      if (s !== undefined && now < s.resetAt) s.tokens += tokens;
    }
    const send = (c: RedisClient, group: readonly LimitDescriptor[]) => this.releaseCall(c, group, tokens, 0);
    this.redis.send((c) => (this.cluster ? Promise.all(ds.map((d) => send(c, [d]))) : send(c, ds)), 'limits');
  }

  state(d: LimitDescriptor, now: number): LimitState {
    const s = this.seen.get(limitTag(d));
    if (s !== undefined && now < s.resetAt) return s;
    return this.local.state(d, now);
  }

  /** All descriptors in one script (one slot: a single server, Sentinel, or a Cluster with one descriptor). */
  private async script(c: RedisClient, ds: readonly LimitDescriptor[], now: number): Promise<LimitRefusal | undefined> {
    const args: (string | number)[] = [ds.length * 4];
    for (const d of ds) keysOf(d, args as string[]);
    args.push(now, this.windowMs, PARALLEL_TTL_MS);
    for (const d of ds) args.push(lim(d.rpm), lim(d.tpm), lim(d.maxParallel));
    const r = await (c as Scripted).kubiyaLimitAcquire(...args);
    return this.answer(ds, r, now);
  }

  /** Cluster: one script per descriptor, all at once; a refusal gives back what the others took. */
  private async perSlot(
    c: RedisClient,
    ds: readonly LimitDescriptor[],
    now: number,
  ): Promise<LimitRefusal | undefined> {
    const answers = await Promise.all(ds.map((d) => this.script(c, [d], now)));
    const refusal = answers.find((a) => a !== undefined);
    if (refusal === undefined) return undefined;
    await Promise.all(ds.map((d, i) => (answers[i] === undefined ? this.releaseCall(c, [d], 0, 1) : undefined)));
    return refusal;
  }

  private releaseCall(c: RedisClient, ds: readonly LimitDescriptor[], tokens: number, undo: number): Promise<number> {
    const args: (string | number)[] = [ds.length * 4];
    for (const d of ds) keysOf(d, args as string[]);
    // INCRBY takes integers only (a fractional count would fail the script)
    args.push(Math.max(0, Math.round(tokens)), undo);
    for (const d of ds) args.push(d.maxParallel === undefined ? 0 : 1);
    return (c as Scripted).kubiyaLimitRelease(...args);
  }

  private answer(ds: readonly LimitDescriptor[], r: number[], now: number): LimitRefusal | undefined {
    if (r[0] !== 0) {
      const d = ds[r[0] - 1];
      const limitType = KINDS[r[1] - 1];
      const limit = (limitType === 'requests' ? d.rpm : limitType === 'tokens' ? d.tpm : d.maxParallel) as number;
      // a full window is remembered (parallel slots free up at any time: not remembered)
      if (limitType !== 'max_parallel_requests') {
        const s = this.seen.get(limitTag(d));
        const full = { requests: limitType === 'requests' ? limit : (s?.requests ?? 0), tokens: 0, resetAt: r[2] };
        if (limitType === 'tokens') full.tokens = limit;
        this.remember(limitTag(d), full, now);
      }
      return { descriptor: d, limitType, limit, resetAt: r[2] };
    }
    for (let i = 0; i < ds.length; i++)
      this.remember(limitTag(ds[i]), { requests: r[1 + i * 3], tokens: r[2 + i * 3], resetAt: r[3 + i * 3] }, now);
    return undefined;
  }

  private remember(k: string, s: LimitState, now: number): void {
    if (this.seen.size >= 100_000 && !this.seen.has(k))
      for (const [key, v] of this.seen) if (now >= v.resetAt) this.seen.delete(key);
    if (this.seen.size >= 100_000) this.seen.clear();
    this.seen.set(k, s);
  }
}
