/**
 * The messages between `proxy start --num_workers N`'s primary and its engine workers (node:cluster's IPC
 * channel, JSON). Every message carries `k: TAG` so it is never confused with node's own cluster traffic.
 * A worker's request carries `q` (its sequence number) and gets one reply with the same `q`; posts and
 * broadcasts get none. The channel keeps order, so a post sent after a request is applied after it.
 */
import type { LimitDescriptor } from '../governance/limits/limiter.js';

export const TAG = 'kubiya-cluster';

/** Set on workers forked once the port is known: they bind it (a --port 0 cluster keeps its port). */
export const CLUSTER_PORT_ENV = 'KUBIYA_CLUSTER_PORT';

/** What the primary's `collect` asks each worker for: its metrics as JSON, or its usage tally. */
export type CollectKind = 'metrics' | 'usage';

/** Cooldown rules a worker sends with a failure (RouterSettings' part recordFailure reads). */
export interface SharedRules {
  allowedFails: number;
  allowedFailsPolicy?: Partial<Record<string, number>>;
  cooldownMs: number;
  disableCooldowns: boolean;
}

/** worker -> primary */
export type WorkerMessage =
  /** take one request on every descriptor (reply: LimitAnswer) */
  | { k: typeof TAG; t: 'acquire'; q: number; ds: readonly LimitDescriptor[]; now: number }
  | { k: typeof TAG; t: 'release'; ds: readonly LimitDescriptor[]; tokens: number; now: number }
  /** the shared usage window and cooldown of deployments by id (reply: [requests, tokens, cooldownUntil][]) */
  | { k: typeof TAG; t: 'read'; q: number; ids: readonly string[]; now: number }
  | { k: typeof TAG; t: 'begin'; id: string; counted: boolean; now: number }
  | {
      k: typeof TAG;
      t: 'settle';
      id: string;
      begun: boolean;
      groupSize: number;
      tokens: number;
      fault?: { errorClass: string; retryAfter?: string };
      rules?: SharedRules;
      now: number;
    }
  /** every worker's answer to `collect` (reply: unknown[]) */
  | { k: typeof TAG; t: 'gather'; q: number; kind: CollectKind }
  /** a worker's answer to the primary's `collect` */
  | { k: typeof TAG; t: 'collected'; q: number; data: unknown }
  /** a governance change notice (key blocked, deleted, edited) to pass on to the other workers */
  | { k: typeof TAG; t: 'change'; change: unknown };

/** What an acquire answers: the refusal (if any) and each descriptor's window [requests, tokens, resetAt]. */
export interface LimitAnswer {
  refusal?: { i: number; limitType: 'requests' | 'tokens' | 'max_parallel_requests'; limit: number; resetAt: number };
  states: [number, number, number][];
}

/** primary -> worker */
export type PrimaryMessage =
  | { k: typeof TAG; t: 'reply'; q: number; r?: unknown; error?: string }
  /** a deployment went into cooldown on some worker: skip it until `until` */
  | { k: typeof TAG; t: 'cool'; id: string; until: number }
  | { k: typeof TAG; t: 'collect'; q: number; kind: CollectKind }
  | { k: typeof TAG; t: 'change'; change: unknown }
  /** stop accepting, drain, exit 0 */
  | { k: typeof TAG; t: 'drain' };

export function isTagged(m: unknown): m is { k: typeof TAG; t: string } {
  return typeof m === 'object' && m !== null && (m as { k?: unknown }).k === TAG;
}

/** A message without its tag (what the senders build; the tag is added on send). */
export type Untagged<M> = M extends unknown ? Omit<M, 'k'> : never;
