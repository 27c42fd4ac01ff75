/**
 * The rate limiter of a `--num_workers` engine without Redis: the counts live in the primary (a
 * MemoryRateLimiter there), so a key's `rpm_limit: 10` means 10 across all workers. `acquire` is one round
 * trip (check and take on every descriptor at once, atomic because the primary is one thread); `release` is
 * a post. `state` answers from the counts the last acquire brought back (the x-ratelimit-* headers).
 */
import type { LimitDescriptor, LimitRefusal, LimitState, RateLimiter } from '../governance/limits/limiter.js';
import { WINDOW_MS } from '../governance/limits/limiter.js';
import type { LimitAnswer } from './protocol.js';
import type { WorkerLink } from './worker-link.js';

/** descriptors whose window this worker remembers; past it the map starts over (headers only read it) */
const MAX_KNOWN = 50_000;

export class IpcRateLimiter implements RateLimiter {
  private readonly known = new Map<string, LimitState>();

  constructor(private readonly link: WorkerLink) {}

  async acquire(ds: readonly LimitDescriptor[], now: number): Promise<LimitRefusal | undefined> {
    const a = await this.link.call<LimitAnswer>({ t: 'acquire', ds, now });
    if (this.known.size >= MAX_KNOWN) this.known.clear();
    for (let i = 0; i < ds.length; i++) {
      const s = a.states[i];
      if (s) this.known.set(keyOf(ds[i]!), { requests: s[0], tokens: s[1], resetAt: s[2] });
    }
    const r = a.refusal;
    return r && { descriptor: ds[r.i]!, limitType: r.limitType, limit: r.limit, resetAt: r.resetAt };
  }

  release(ds: readonly LimitDescriptor[], tokens: number, now: number): void {
    this.link.post({ t: 'release', ds, tokens, now });
  }

  state(d: LimitDescriptor, now: number): LimitState {
    const s = this.known.get(keyOf(d));
    if (s && now < s.resetAt) return s;
    return { requests: 0, tokens: 0, resetAt: now + WINDOW_MS };
  }
}

const keyOf = (d: LimitDescriptor) => `${d.type}:${d.id}`;
