/**
 * Rate limits per key, user, team, end user and model-per-key: requests and tokens per fixed 60 s window
 * (LiteLLM's v3 limiter: a window starts with its first request and ends 60 s later) and parallel requests.
 * Counted in this process behind `RateLimiter`, so a shared implementation (Redis) can replace it.
 */

/** What LiteLLM calls a descriptor: one counted subject and its limits. */
export interface LimitDescriptor {
  type: 'api_key' | 'user' | 'team' | 'end_user' | 'model_per_key';
  /** the key's hash, the user/team/end user id, `<hash>:<model>` */
  id: string;
  rpm?: number;
  tpm?: number;
  maxParallel?: number;
}

export interface LimitRefusal {
  descriptor: LimitDescriptor;
  /** requests | tokens | max_parallel_requests */
  limitType: 'requests' | 'tokens' | 'max_parallel_requests';
  limit: number;
  /** epoch ms when the window ends */
  resetAt: number;
}

/** A descriptor's window as headers report it. */
export interface LimitState {
  requests: number;
  tokens: number;
  /** epoch ms when the window ends */
  resetAt: number;
}

/**
 * Counts behind the limits. A shared implementation (Redis, another process) answers `acquire` with a
 * Promise (one round trip for all descriptors); the in-process one answers synchronously, and callers await
 * only a Promise. `release` is not awaited: it must apply in order and never reject. `state` answers from
 * what this process last learned (the shared implementation keeps the counts its last acquire returned).
 */
export interface RateLimiter {
  /** Take one request (and a parallel slot) on every descriptor, or none and say which limit refused. */
  acquire(ds: readonly LimitDescriptor[], now: number): LimitRefusal | undefined | Promise<LimitRefusal | undefined>;
  /** The request ended: free its parallel slot and count its tokens. */
  release(ds: readonly LimitDescriptor[], tokens: number, now: number): void;
  state(d: LimitDescriptor, now: number): LimitState;
  /** stop timers and connections of its own (not the shared Redis) */
  close?(): void | Promise<void>;
}

/** LITELLM_RATE_LIMIT_WINDOW_SIZE's default. */
export const WINDOW_MS = 60_000;

interface Counter {
  start: number;
  requests: number;
  tokens: number;
  inflight: number;
}

/** The in-process limiter (one engine). */
export class MemoryRateLimiter implements RateLimiter {
  private readonly counters = new Map<string, Counter>();

  constructor(private readonly windowMs = WINDOW_MS) {}

  acquire(ds: readonly LimitDescriptor[], now: number): LimitRefusal | undefined {
    const cs: Counter[] = [];
    for (const d of ds) {
      const c = this.counter(d, now);
      const resetAt = c.start + this.windowMs;
      if (d.maxParallel !== undefined && c.inflight >= d.maxParallel)
        return { descriptor: d, limitType: 'max_parallel_requests', limit: d.maxParallel, resetAt };
      if (d.rpm !== undefined && c.requests >= d.rpm)
        return { descriptor: d, limitType: 'requests', limit: d.rpm, resetAt };
      if (d.tpm !== undefined && c.tokens >= d.tpm)
        return { descriptor: d, limitType: 'tokens', limit: d.tpm, resetAt };
      cs.push(c);
    }
    for (const c of cs) {
      c.requests++;
      c.inflight++;
    }
    return undefined;
  }

  release(ds: readonly LimitDescriptor[], tokens: number, now: number): void {
    for (const d of ds) {
      const c = this.counter(d, now);
      if (c.inflight > 0) c.inflight--;
      c.tokens += tokens;
    }
  }

  state(d: LimitDescriptor, now: number): LimitState {
    const c = this.counter(d, now);
    return { requests: c.requests, tokens: c.tokens, resetAt: c.start + this.windowMs };
  }

  private counter(d: LimitDescriptor, now: number): Counter {
    const k = `${d.type}:${d.id}`;
    let c = this.counters.get(k);
    if (!c) {
      // end users are many: drop idle windows before the map grows without bound
      if (this.counters.size >= 100_000) this.prune(now);
      c = { start: now, requests: 0, tokens: 0, inflight: 0 };
      this.counters.set(k, c);
    } else if (now >= c.start + this.windowMs) {
      c.start = now;
      c.requests = 0;
      c.tokens = 0;
    }
    return c;
  }

  private prune(now: number): void {
    for (const [k, c] of this.counters) if (c.inflight === 0 && now >= c.start + this.windowMs) this.counters.delete(k);
  }
}
