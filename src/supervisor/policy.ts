/** Restart policy for crashed children: exponential backoff, capped, with a crash-loop limit. */
export interface RestartPolicy {
  baseMs: number;
  maxMs: number;
  /** restarts in a row (without a stable run in between) before the supervisor gives up */
  limit: number;
  /** a child that ran this long is "stable" and its restart counter starts over */
  stableMs: number;
}

/** A non-negative number from `env[name]`, else `fallback`. */
export function envNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = Number(env[name]);
  return Number.isFinite(v) && v >= 0 && env[name] !== '' && env[name] !== undefined ? v : fallback;
}

/**
 * The policy, tunable through the environment (mostly for tests and impatient operators):
 * KUBIYA_RESTART_BACKOFF_MS (500), KUBIYA_RESTART_BACKOFF_MAX_MS (30000), KUBIYA_RESTART_LIMIT (10),
 * KUBIYA_RESTART_STABLE_MS (60000).
 */
export function restartPolicy(env: NodeJS.ProcessEnv = process.env): RestartPolicy {
  return {
    baseMs: envNumber(env, 'KUBIYA_RESTART_BACKOFF_MS', 500),
    maxMs: envNumber(env, 'KUBIYA_RESTART_BACKOFF_MAX_MS', 30_000),
    limit: envNumber(env, 'KUBIYA_RESTART_LIMIT', 10),
    stableMs: envNumber(env, 'KUBIYA_RESTART_STABLE_MS', 60_000),
  };
}

/** Delay before restart number `attempt` (1-based): base * 2^(attempt-1), capped. */
export function backoffMs(policy: RestartPolicy, attempt: number): number {
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
}

/** Counts consecutive restarts of one child and decides when it is crash-looping. */
export class RestartTracker {
  /** restarts since the supervisor started (reported by status) */
  total = 0;
  /** restarts since the child last ran stably */
  consecutive = 0;
  private startedAt = Date.now();

  constructor(private readonly policy: RestartPolicy) {}

  /** Call when the child (re)started. */
  started(): void {
    this.startedAt = Date.now();
  }

  /** Call when the child died; returns the delay before the next restart, or undefined to give up. */
  crashed(): number | undefined {
    if (Date.now() - this.startedAt >= this.policy.stableMs) this.consecutive = 0;
    if (this.consecutive >= this.policy.limit) return undefined;
    this.consecutive += 1;
    this.total += 1;
    return backoffMs(this.policy, this.consecutive);
  }
}
