/**
 * Requests and tokens per deployment in the current minute, for rpm/tpm limits and
 * usage-based routing. The router only talks to this interface: counting is in-process today,
 * and a shared store (Redis: INCR with a 60 s expiry per minute key) can replace it later by
 * keeping a local copy that it syncs in the background, so reads stay synchronous on the hot path.
 */
export interface UsageStore {
  /** requests started this minute */
  requests(id: string): number;
  /** tokens used this minute */
  tokens(id: string): number;
  /** count one request (call when the attempt starts, so concurrent requests see it) */
  addRequest(id: string): void;
  addTokens(id: string, n: number): void;
  /** ms until the current minute ends (the Retry-After of an "all at their limits" 429) */
  msToReset(): number;
}

interface Counter {
  minute: number;
  requests: number;
  tokens: number;
}

/** The in-process store: one small record per deployment, reset lazily when the minute changes. */
export class MemoryUsageStore implements UsageStore {
  private readonly counters = new Map<string, Counter>();

  constructor(private readonly now: () => number = Date.now) {}

  private get(id: string): Counter {
    const minute = Math.floor(this.now() / 60_000);
    let c = this.counters.get(id);
    if (!c) {
      c = { minute, requests: 0, tokens: 0 };
      this.counters.set(id, c);
    } else if (c.minute !== minute) {
      c.minute = minute;
      c.requests = 0;
      c.tokens = 0;
    }
    return c;
  }

  requests(id: string): number {
    return this.get(id).requests;
  }

  tokens(id: string): number {
    return this.get(id).tokens;
  }

  addRequest(id: string): void {
    this.get(id).requests++;
  }

  addTokens(id: string, n: number): void {
    if (n > 0) this.get(id).tokens += n;
  }

  msToReset(): number {
    return 60_000 - (this.now() % 60_000);
  }
}
