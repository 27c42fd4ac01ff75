/**
 * RouterState: what the router remembers between requests (usage windows, cooldowns, latency,
 * in-flight counts), behind one interface so a store shared between engines can replace the
 * in-process one. Each method is one round trip to such a store (Redis: one pipeline or script);
 * each may answer synchronously or with a Promise, and callers await only when they got a Promise,
 * so the in-memory path stays synchronous and allocation-free.
 */
import type { Deployment, ModelGroup } from '../deployment.js';
import type { GatewayError } from '../errors.js';
import type { RouterSettings } from '../router/settings.js';

/** What routing reads about one deployment: a live record in memory, a snapshot from a shared store. */
export interface DeploymentLoad {
  /** attempts in flight (least-busy) */
  readonly inflight: number;
  /** moving average answer time in ms, time to first token for streams; 0 = not measured yet */
  readonly latencyMs: number;
  /** epoch ms until which the deployment is skipped; 0 = never cooled down */
  readonly cooldownUntil: number;
  /** requests counted in the current minute (rpm limits) */
  readonly requests: number;
  /** tokens counted in the current minute (tpm limits, usage-based routing) */
  readonly tokens: number;
}

/** Everything one routing decision reads about a group's deployments, read at once. */
export interface StateView {
  /** the load of a deployment of the group the view was read for */
  of(d: Deployment): DeploymentLoad;
  /** ms until the current usage minute ends (the Retry-After of an "all at their limits" 429) */
  msToReset(): number;
}

/** One settled attempt as the state records it (the attempt object itself: nothing is built per call). */
export interface SettledAttempt {
  readonly deployment: Deployment;
  /** deployments in its group: the only one of a group never cools down */
  readonly groupSize: number;
  /** tokens for the deployment's usage window; 0 when the window is not counted or no usage was reported */
  readonly windowTokens: number;
  /** a latency sample in ms (time to first token for streams); negative when the attempt gives none */
  readonly latencyMs: number;
  /** the failure to count toward a cooldown: undefined on success and when the client left */
  readonly fault?: GatewayError;
}

/**
 * The router's shared memory. Writes (`begin`, `settle`) are not awaited by the attempt: a store
 * that answers with a Promise must apply them in order and never reject (a shared store that is
 * down degrades to what it can do locally).
 */
export interface RouterState {
  /** One read of everything routing needs about `group`'s deployments at `now` (epoch ms). */
  read(group: ModelGroup, now: number): StateView | Promise<StateView>;
  /** An attempt starts on `d`: one more in flight; one more request this minute when `counted` (limits read it). */
  begin(d: Deployment, counted: boolean, now: number): void | Promise<void>;
  /** An attempt settled: one less in flight, its tokens, its latency sample, its failure under the cooldown rules. */
  settle(a: SettledAttempt, rules: RouterSettings, now: number): void | Promise<void>;
  /**
   * Shared stores: take one request of `d`'s rpm window, checking its rpm and tpm atomically, before the call
   * goes (the router calls it for deployments with their own `rpm`/`tpm`, and `begin` then does not count that
   * request again). False: another engine took the last request meanwhile; the router picks again. Absent: the
   * read is exact (one process), and `begin` counts.
   */
  claim?(d: Deployment, now: number): boolean | Promise<boolean>;
}
