import type { ErrorClass, GatewayError } from '../errors.js';
import type { RouterSettings } from './settings.js';

/** The record the failure and latency rules below work on (the memory RouterState keeps one per deployment). */
export interface DeploymentStats {
  /** requests in flight (least-busy) */
  inflight: number;
  /** moving average of the answer time in ms, time to first token for streams; 0 = not measured yet */
  latencyMs: number;
  /** epoch ms until which the deployment is skipped; 0 = never cooled down */
  cooldownUntil: number;
  /** the minute the failure counts below belong to */
  failMinute: number;
  /** failures this minute, all classes */
  fails: number;
  /** failures this minute per class (made on the first failure) */
  failsByClass?: Partial<Record<ErrorClass, number>>;
}

/** A fresh stats record. */
export function newStats(): DeploymentStats {
  return { inflight: 0, latencyMs: 0, cooldownUntil: 0, failMinute: 0, fails: 0 };
}

/** Failures that say something about the deployment (not about the request). Only these count toward a cooldown. */
export const DEPLOYMENT_FAULTS: ReadonlySet<ErrorClass> = new Set([
  'auth',
  'permission',
  'not_found',
  'rate_limit',
  'upstream',
  'connection',
  'overloaded',
  'timeout',
]);

/** A Retry-After above this is not trusted for a cooldown (seconds). */
const MAX_RETRY_AFTER_S = 300;

/** Seconds in a Retry-After header (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterSeconds(v: string | undefined, now = Date.now()): number | undefined {
  if (!v) return undefined;
  const n = Number(v);
  if (Number.isFinite(n)) return n >= 0 ? n : undefined;
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, (t - now) / 1000) : undefined;
}

/**
 * Count a failure and cool the deployment down when its failures this minute pass what is allowed:
 * `allowed_fails_policy[class]`, else `allowed_fails` (a 429 cools down at once unless its class has a policy).
 * The only deployment of a group is never cooled down (LiteLLM does the same): there is nothing to route to
 * instead, and its retries would all be refused. Returns true when the deployment went into cooldown.
 */
export function recordFailure(
  s: RouterSettings,
  stats: DeploymentStats,
  groupSize: number,
  err: GatewayError,
  now: number,
): boolean {
  const cls = err.errorClass;
  if (!DEPLOYMENT_FAULTS.has(cls) || s.disableCooldowns || groupSize <= 1) return false;
  const minute = Math.floor(now / 60_000);
  if (stats.failMinute !== minute) {
    stats.failMinute = minute;
    stats.fails = 0;
    stats.failsByClass = undefined;
  }
  stats.fails++;
  const byClass = (stats.failsByClass ??= {});
  const n = (byClass[cls] = (byClass[cls] ?? 0) + 1);
  const policy = s.allowedFailsPolicy?.[cls];
  const over = policy !== undefined ? n > policy : cls === 'rate_limit' ? true : stats.fails > s.allowedFails;
  if (!over) return false;
  const ra = retryAfterSeconds(err.retryAfter, now);
  const ms = Math.max(s.cooldownMs, ra !== undefined ? Math.min(ra, MAX_RETRY_AFTER_S) * 1000 : 0);
  if (ms <= 0) return false;
  stats.cooldownUntil = now + ms;
  // a fresh start after the cooldown: the failures that caused it are spent
  stats.fails = 0;
  stats.failsByClass = undefined;
  return true;
}

/** Fold one measured duration into the moving average (recent answers weigh most). */
export function recordLatency(stats: DeploymentStats, ms: number): void {
  stats.latencyMs = stats.latencyMs === 0 ? Math.max(ms, 0.001) : stats.latencyMs * 0.7 + ms * 0.3;
}
