import type { ErrorClass, GatewayError } from '../errors.js';
import { retryAfterSeconds } from './cooldown.js';
import type { RouterSettings } from './settings.js';

/** Worth another try without a policy saying so: the upstream failed, not the request. */
const RETRYABLE: ReadonlySet<ErrorClass> = new Set(['rate_limit', 'upstream', 'connection', 'overloaded', 'timeout']);

/** Exponential backoff: 0.5 s, 1 s, 2 s, ... up to 8 s, less up to 25% jitter. */
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 8000;
/** An upstream Retry-After longer than this is not waited for in-request (the fallbacks get the request instead). */
const MAX_HONOURED_RETRY_AFTER_S = 60;

/** Retries when nothing configures them: only onto other healthy deployments of the group, never in place. */
export const DEFAULT_RETRIES = 2;
/**
 * The most retries a request may ask for itself (`num_retries` in the body) when the config sets no
 * `num_retries`; with one, the configured value is the most a request gets. A client cannot turn one request
 * into thousands of upstream calls.
 */
export const MAX_REQUEST_RETRIES = 5;

/**
 * How many retries a failure of this class gets in this group: `model_group_retry_policy[group]`,
 * then `retry_policy`, then (for retryable classes only) the request's `num_retries` (at most the configured
 * `num_retries`, or MAX_REQUEST_RETRIES when none is), the deployments' `num_retries`, router_settings /
 * litellm_settings `num_retries`. Bad requests, auth, permission,
 * not found, context window and content policy get 0 unless a policy names them. `inPlace` is false
 * when nothing was configured: then a retry only goes to another healthy deployment, without waiting
 * (the client's SDK already retries the same endpoint with backoff; doubling that up multiplies load).
 */
export function retriesFor(
  s: RouterSettings,
  group: string,
  groupRetries: number | undefined,
  requestRetries: number | undefined,
  cls: ErrorClass,
): { retries: number; inPlace: boolean } {
  const policy = s.groupRetryPolicy.get(group)?.[cls] ?? s.retryPolicy?.[cls];
  if (policy !== undefined) return { retries: policy, inPlace: true };
  if (!RETRYABLE.has(cls)) return { retries: 0, inPlace: false };
  const configured = groupRetries ?? s.numRetries;
  const n = requestRetries === undefined ? configured : Math.min(requestRetries, configured ?? MAX_REQUEST_RETRIES);
  return n === undefined ? { retries: DEFAULT_RETRIES, inPlace: false } : { retries: n, inPlace: true };
}

/**
 * How long to wait before retry number `n` (1-based). With another healthy deployment to go to, only
 * `retry_after` (the configured minimum); against the same deployment(s), the upstream's Retry-After
 * when it gave a usable one, else exponential backoff with jitter, never less than `retry_after`.
 * Returns -1 when the upstream asks for a longer wait than is sensible to hold a client for.
 */
export function retryDelayMs(s: RouterSettings, err: GatewayError, n: number, otherHealthy: boolean): number {
  if (otherHealthy) return s.retryAfterMs;
  const ra = retryAfterSeconds(err.retryAfter);
  if (ra !== undefined) {
    if (ra > MAX_HONOURED_RETRY_AFTER_S) return -1;
    return Math.max(s.retryAfterMs, ra * 1000);
  }
  const exp = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (n - 1));
  return Math.max(s.retryAfterMs, exp * (1 - Math.random() * 0.25));
}

/** Wait `ms`, or until the client goes away (then resolve false). */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
