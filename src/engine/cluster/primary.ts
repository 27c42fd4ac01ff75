/**
 * The primary of `kubiya proxy start --num_workers N` (node:cluster): it serves no request. It forks N engine
 * workers that share one listening socket, holds the state they share when there is no Redis (a
 * MemoryRateLimiter and a MemoryRouterState, answered over IPC), passes collection requests (/metrics,
 * /kubiya/usage) and change notices between them, replaces a worker that dies (with backoff), writes the
 * port file once all N listen, and on SIGTERM drains every worker and exits 0. Workers exit with it: node's
 * cluster module ends a worker whose IPC channel to the primary closed, so a SIGKILLed primary leaves none.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Deployment, ModelGroup } from '../deployment.js';
import type { GatewayError } from '../errors.js';
import { MemoryRateLimiter } from '../governance/limits/limiter.js';
import type { EngineLogger } from '../observability/logger.js';
import type { RouterSettings } from '../router/settings.js';
import { MemoryRouterState } from '../state/memory.js';
import {
  CLUSTER_PORT_ENV,
  isTagged,
  type LimitAnswer,
  type PrimaryMessage,
  TAG,
  type Untagged,
  type WorkerMessage,
} from './protocol.js';

export interface PrimaryOptions {
  workers: number;
  logger: EngineLogger;
  /** on SIGTERM: each worker's drain budget; a worker still running this long after (plus 5 s) is killed */
  drainTimeoutMs: number;
  /** register the stop signals (the CLI's onSignal) */
  onSignal(signals: NodeJS.Signals[], fn: (s: NodeJS.Signals) => void): void;
  /** once all workers listen: the address they share (the port file is written here) */
  onReady(address: { host: string; port: number }): void;
  /** called with a stop function once the workers serve (--exit-with-parent) */
  started?(stop: () => void): void;
}

/** A worker that lived this long before dying starts a fresh backoff. */
const STABLE_MS = 30_000;
const BACKOFF_MS = [250, 500, 1000, 2000, 5000, 10_000];
/** How long a /metrics or /kubiya/usage collection waits for the workers. */
const GATHER_TIMEOUT_MS = 2000;

/** Run the primary until it is told to stop; resolves with the process's exit code. */
export function runPrimary(o: PrimaryOptions): Promise<number> {
  return new Promise<number>((resolve) => {
    const host = new SharedHost();
    const log = o.logger;
    const slots: { worker?: Worker; since: number; crashes: number; timer?: NodeJS.Timeout }[] = [];
    const listening = new Set<Worker>();
    let address: { host: string; port: number } | undefined;
    let ready = false;
    let failCode: number | undefined;
    let stopping = false;
    let killTimer: NodeJS.Timeout | undefined;

    const live = () => slots.map((s) => s.worker).filter((w): w is Worker => w?.isConnected() === true);
    const send = (w: Worker, m: Untagged<PrimaryMessage>) => {
      if (w.isConnected()) w.send({ k: TAG, ...m });
    };
    const finish = (code: number) => {
      clearTimeout(killTimer);
      resolve(code);
    };

    const fork = (i: number) => {
      const slot = (slots[i] ??= { since: 0, crashes: 0 });
      // a replacement listens as the first workers did (port 0 included), which joins the socket node:cluster
      // keeps while any worker listens on it; only when none does is that socket gone, and it names the port
      const pin = address && listening.size === 0 ? { [CLUSTER_PORT_ENV]: String(address.port) } : undefined;
      const w = cluster.fork(pin);
      slot.worker = w;
      slot.since = Date.now();
      w.on('message', (m: unknown) => {
        if (isTagged(m)) host.handle(w, m as WorkerMessage, live, send);
      });
      w.on('listening', (a: { address: string | null; port: number }) => {
        if (address && a.port !== address.port) {
          // the last worker died while this one started: it opened another port; the next one pins the old
          log.warn(
            { worker: w.id, port: a.port, expected: address.port },
            'cluster worker bound another port: replacing it',
          );
          w.process.kill('SIGKILL');
          return;
        }
        listening.add(w);
        address ??= { host: a.address ?? '127.0.0.1', port: a.port };
        if (ready) log.info({ worker: w.id, pid: w.process.pid }, 'cluster worker replaced');
        else if (listening.size === o.workers) {
          ready = true;
          log.info({ workers: o.workers, pid: process.pid, port: address.port }, 'cluster primary: all workers listen');
          o.onReady(address);
          o.started?.(() => stop('SIGTERM'));
        }
      });
      w.on('exit', (code, signal) => {
        listening.delete(w);
        if (slot.worker === w) slot.worker = undefined;
        if (stopping) {
          if (slots.every((s) => s.worker === undefined)) finish(failCode ?? 0);
          return;
        }
        if (!ready) {
          // a worker that cannot start (config, port taken, store) will not start on a retry either: the
          // primary fails with its exit code, as a lone engine would
          log.error({ worker: w.id, code, signal }, 'cluster worker failed to start: stopping');
          failCode = code || 1;
          stopping = true;
          for (const x of live()) x.process.kill('SIGTERM');
          if (slots.every((s) => s.worker === undefined)) finish(failCode);
          return;
        }
        slot.crashes = Date.now() - slot.since >= STABLE_MS ? 1 : slot.crashes + 1;
        const delay = BACKOFF_MS[Math.min(slot.crashes - 1, BACKOFF_MS.length - 1)]!;
        log.warn(
          { worker: w.id, pid: w.process.pid, code, signal, restart_in_ms: delay },
          'cluster worker died: starting another',
        );
        slot.timer = setTimeout(() => {
          slot.timer = undefined;
          if (!stopping) fork(i);
        }, delay);
      });
    };

    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: killing the workers');
        for (const w of live()) w.process.kill('SIGKILL');
        return;
      }
      stopping = true;
      log.info({ signal, workers: live().length }, 'cluster primary: draining the workers');
      for (const s of slots) clearTimeout(s.timer);
      // a worker that listens drains; one still starting may not hear messages yet, and has nothing to drain: its
      // SIGTERM (no handler before it serves) ends it at once
      for (const w of live()) {
        if (listening.has(w)) send(w, { t: 'drain' });
        else w.process.kill('SIGTERM');
      }
      if (slots.every((s) => s.worker === undefined)) {
        finish(0);
        return;
      }
      killTimer = setTimeout(() => {
        for (const s of slots) {
          if (!s.worker) continue;
          log.warn({ worker: s.worker.id }, 'cluster worker still running after its drain: killing it');
          s.worker.process.kill('SIGKILL');
        }
      }, o.drainTimeoutMs + 5000);
    };
    o.onSignal(['SIGTERM', 'SIGINT'], stop);
    for (let i = 0; i < o.workers; i++) fork(i);
  });
}

/** Deployment ids stand for deployments here: the primary never loads the route table. */
const NO_GROUP = { name: '', deployments: [], cumulative: [], totalWeight: 0 } as ModelGroup;

/** The state the workers share when there is no Redis, and the routing of collections between workers. */
export class SharedHost {
  private readonly limiter = new MemoryRateLimiter();
  private readonly state = new MemoryRouterState();
  private readonly stubs = new Map<string, Deployment>();
  private gatherSeq = 0;
  private readonly gathers = new Map<number, { want: number; got: unknown[]; done: () => void }>();

  handle(
    w: Worker,
    m: WorkerMessage,
    live: () => Worker[],
    send: (w: Worker, m: Untagged<PrimaryMessage>) => void,
  ): void {
    switch (m.t) {
      case 'acquire': {
        const refusal = this.limiter.acquire(m.ds, m.now);
        const r: LimitAnswer = {
          states: m.ds.map((d) => {
            const s = this.limiter.state(d, m.now);
            return [s.requests, s.tokens, s.resetAt];
          }),
        };
        if (refusal) {
          const { limitType, limit, resetAt } = refusal;
          r.refusal = { i: m.ds.indexOf(refusal.descriptor), limitType, limit, resetAt };
        }
        send(w, { t: 'reply', q: m.q, r });
        return;
      }
      case 'release':
        this.limiter.release(m.ds, m.tokens, m.now);
        return;
      case 'read': {
        const view = this.state.read(NO_GROUP, m.now);
        const r = m.ids.map((id) => {
          const l = view.of(this.stub(id));
          return [l.requests, l.tokens, l.cooldownUntil];
        });
        send(w, { t: 'reply', q: m.q, r });
        return;
      }
      case 'begin':
        this.state.begin(this.stub(m.id), m.counted, m.now);
        return;
      case 'settle': {
        const d = this.stub(m.id);
        if (!m.begun) this.state.begin(d, false, m.now);
        const before = this.state.read(NO_GROUP, m.now).of(d).cooldownUntil;
        this.state.settle(
          {
            deployment: d,
            groupSize: m.groupSize,
            windowTokens: m.tokens,
            latencyMs: -1,
            // recordFailure reads the class and Retry-After only
            fault: m.fault as GatewayError | undefined,
          },
          (m.rules ?? { allowedFails: 0, cooldownMs: 0, disableCooldowns: true }) as RouterSettings,
          m.now,
        );
        const until = this.state.read(NO_GROUP, m.now).of(d).cooldownUntil;
        if (until !== before && until > m.now) for (const x of live()) send(x, { t: 'cool', id: m.id, until });
        return;
      }
      case 'gather': {
        const to = live();
        const q = ++this.gatherSeq;
        const got: unknown[] = [];
        let timer: NodeJS.Timeout | undefined;
        const done = () => {
          clearTimeout(timer);
          this.gathers.delete(q);
          send(w, { t: 'reply', q: m.q, r: got });
        };
        this.gathers.set(q, { want: to.length, got, done });
        timer = setTimeout(done, GATHER_TIMEOUT_MS);
        for (const x of to) send(x, { t: 'collect', q, kind: m.kind });
        return;
      }
      case 'collected': {
        const g = this.gathers.get(m.q);
        if (!g) return;
        if (m.data !== null) g.got.push(m.data);
        if (--g.want <= 0) g.done();
        return;
      }
      case 'change':
        for (const x of live()) if (x !== w) send(x, { t: 'change', change: m.change });
        return;
    }
  }

  private stub(id: string): Deployment {
    let d = this.stubs.get(id);
    if (!d) this.stubs.set(id, (d = { id } as Deployment));
    return d;
  }
}
