/**
 * A worker's end of the IPC channel to the primary of `proxy start --num_workers N`: requests with replies,
 * posts, and what the primary pushes (cooldowns, change notices, collection requests, drain). The engine sees
 * it as `EngineContext.cluster` (ClusterLink); the IPC limiter and router state use it for the shared counts.
 */
import { LiveSet, type LiveSlot } from '../live-set.js';
import type { CollectKind, PrimaryMessage, Untagged, WorkerMessage } from './protocol.js';
import { isTagged, TAG } from './protocol.js';

/** What the engine knows of the cluster it runs in (undefined: a lone engine). */
export interface ClusterLink {
  /** this worker's node:cluster id (1..N at start; a restarted worker gets the next one) */
  readonly id: number;
  /** answer the primary's collection of `kind` (this worker's metrics as JSON, its usage tally) */
  provide(kind: CollectKind, fn: () => unknown): void;
  /** every live worker's answer for `kind`, this one's included */
  gather(kind: CollectKind): Promise<unknown[]>;
}

type Outgoing = Untagged<WorkerMessage>;
/** a request as the caller writes it: `q` is added by call() */
type Request = Outgoing extends infer M ? (M extends { q: number } ? Omit<M, 'q'> : never) : never;

/** How long a worker waits for the primary before the call fails (the primary is local and small). */
const CALL_TIMEOUT_MS = 10_000;

interface Pending extends LiveSlot {
  q: number;
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer?: NodeJS.Timeout;
}

/** slots per call number (calls in flight at once stay far below it) and where the sequence wraps: q < 2^52 */
const SLOTS = 2 ** 20;
const SEQ_WRAP = 2 ** 32;

export class WorkerLink implements ClusterLink {
  private seq = 0;
  /**
   * Calls waiting for the primary's reply, in a LiveSet rather than a Map keyed by call: a long-lived Map that
   * gains and loses an entry per call (an rpm-limited request makes one) is the rehash chain that promotes
   * finished requests (see LiveSet). A call's number names its slot: seq * SLOTS + slot.
   */
  private readonly pending = new LiveSet<Pending>();
  private readonly providers = new Map<CollectKind, () => unknown>();
  /** a deployment cooled down elsewhere (id -> until), applied by the router state */
  onCool?: (id: string, until: number) => void;
  /** a governance change made on another worker */
  onChange?: (change: unknown) => void;
  /** the primary asks this worker to drain and exit */
  onDrain?: () => void;
  /** the primary asked before onDrain was set (the worker was still starting) */
  drainAsked = false;

  constructor(
    readonly id: number,
    private readonly proc: NodeJS.Process = process,
  ) {
    proc.on('message', (m: unknown) => {
      if (isTagged(m)) this.receive(m as PrimaryMessage);
    });
  }

  /** One request to the primary; the Promise settles with its reply. */
  call<T>(m: Request): Promise<T> {
    this.seq = (this.seq + 1) % SEQ_WRAP;
    return new Promise<T>((resolve, reject) => {
      const p: Pending = { q: 0, liveSlot: -1, resolve: resolve as (v: unknown) => void, reject };
      this.pending.add(p);
      const q = (p.q = this.seq * SLOTS + p.liveSlot);
      p.timer = setTimeout(() => {
        if (this.take(q))
          reject(new Error(`the cluster primary did not answer "${m.t}" within ${CALL_TIMEOUT_MS / 1000} s`));
      }, CALL_TIMEOUT_MS);
      p.timer.unref();
      this.send({ ...m, q } as Outgoing);
    });
  }

  /** A one-way message (applied in order after everything sent before it). */
  post(m: Outgoing): void {
    this.send(m);
  }

  provide(kind: CollectKind, fn: () => unknown): void {
    this.providers.set(kind, fn);
  }

  gather(kind: CollectKind): Promise<unknown[]> {
    return this.call<unknown[]>({ t: 'gather', kind });
  }

  private send(m: Outgoing): void {
    // a worker whose primary is gone exits (node:cluster does that on disconnect): nothing to send to
    if (this.proc.connected) this.proc.send?.({ k: TAG, ...m });
  }

  /** The call numbered `q`, out of its slot (undefined when it timed out or the number is stale). */
  private take(q: number): Pending | undefined {
    const p = this.pending.at(q % SLOTS);
    if (p === undefined || p.q !== q) return undefined;
    this.pending.delete(p);
    return p;
  }

  private receive(m: PrimaryMessage): void {
    switch (m.t) {
      case 'reply': {
        const p = this.take(m.q);
        if (!p) return;
        clearTimeout(p.timer);
        if (m.error !== undefined) p.reject(new Error(m.error));
        else p.resolve(m.r);
        return;
      }
      case 'cool':
        this.onCool?.(m.id, m.until);
        return;
      case 'change':
        this.onChange?.(m.change);
        return;
      case 'collect':
        void this.collect(m.q, m.kind);
        return;
      case 'drain':
        this.drainAsked = true;
        this.onDrain?.();
        return;
    }
  }

  private async collect(q: number, kind: CollectKind): Promise<void> {
    let data: unknown = null;
    try {
      const fn = this.providers.get(kind);
      if (fn) data = await fn();
    } catch {
      data = null; // this worker's part is left out; the others still answer
    }
    this.post({ t: 'collected', q, data });
  }
}
