/**
 * The RouterState of a `--num_workers` engine without Redis. What must agree across workers goes through the
 * primary (a MemoryRouterState there, keyed by deployment id): the usage windows of deployments with rpm/tpm
 * (and of every deployment under a usage-based strategy), and cooldowns (every failure that may count toward
 * one is posted; a cooldown the primary decides is pushed to all workers). What only steers this worker's own
 * choices stays local: in-flight counts, latency. A group without limits is read locally, synchronously: the
 * hot path of an unlimited deployment never waits on IPC.
 */
import type { Deployment, ModelGroup } from '../deployment.js';
import type { RouterSettings } from '../router/settings.js';
import { MemoryRouterState } from '../state/memory.js';
import type { DeploymentLoad, RouterState, SettledAttempt, StateView } from '../state/router-state.js';
import type { SharedRules } from './protocol.js';
import type { WorkerLink } from './worker-link.js';

export class IpcRouterState implements RouterState {
  private readonly local = new MemoryRouterState();
  private readonly seen = new WeakSet<ModelGroup>();
  private readonly byId = new Map<string, Deployment[]>();
  /** cooldowns pushed for deployments this worker has not routed to yet (applied when it first does) */
  private readonly early = new Map<string, number>();

  /** `sharedUsage`: the routing strategy reads usage windows (usage-based routing): every group is shared */
  constructor(
    private readonly link: WorkerLink,
    private readonly sharedUsage = false,
  ) {
    link.onCool = (id, until) => {
      const ds = this.byId.get(id);
      if (ds) for (const d of ds) this.local.coolDown(d, until);
      else this.early.set(id, Math.max(until, this.early.get(id) ?? 0));
    };
  }

  read(group: ModelGroup, now: number): StateView | Promise<StateView> {
    if (!this.seen.has(group)) this.learn(group);
    const view = this.local.read(group, now);
    if (!(group.limited || this.sharedUsage)) return view;
    const ids = group.deployments.map((d) => d.id);
    return this.link
      .call<[number, number, number][]>({ t: 'read', ids, now })
      .then((rows) => new SharedView(view, group, rows));
  }

  begin(d: Deployment, counted: boolean, now: number): void {
    this.local.begin(d, counted, now);
    if (counted) this.link.post({ t: 'begin', id: d.id, counted, now });
  }

  settle(a: SettledAttempt, rules: RouterSettings, now: number): void {
    this.local.settle(a, rules, now);
    const d = a.deployment;
    // the same test the attempt made for `counted` (upstream/attempt.ts)
    const begun = d.rpm !== undefined || d.tpm !== undefined || this.sharedUsage;
    if (!begun && !a.fault) return;
    const f = a.fault;
    this.link.post({
      t: 'settle',
      id: d.id,
      begun,
      groupSize: a.groupSize,
      tokens: a.windowTokens,
      fault: f && { errorClass: f.errorClass, retryAfter: f.retryAfter },
      rules: f && sharedRules(rules),
      now,
    });
  }

  private learn(group: ModelGroup): void {
    this.seen.add(group);
    for (const d of group.deployments) {
      const list = this.byId.get(d.id);
      if (list) {
        if (!list.includes(d)) list.push(d);
      } else this.byId.set(d.id, [d]);
      const until = this.early.get(d.id);
      if (until !== undefined) this.local.coolDown(d, until);
    }
  }
}

/** This worker's live records with the primary's usage window and cooldown laid over them. */
class SharedView implements StateView {
  constructor(
    private readonly local: StateView,
    private readonly group: ModelGroup,
    private readonly rows: readonly [number, number, number][],
  ) {}

  of(d: Deployment): DeploymentLoad {
    const l = this.local.of(d);
    const r = this.rows[this.group.deployments.indexOf(d)];
    if (!r) return l;
    return {
      inflight: l.inflight,
      latencyMs: l.latencyMs,
      cooldownUntil: Math.max(l.cooldownUntil, r[2]),
      requests: r[0],
      tokens: r[1],
    };
  }

  msToReset(): number {
    return this.local.msToReset();
  }
}

function sharedRules(s: RouterSettings): SharedRules {
  return {
    allowedFails: s.allowedFails,
    allowedFailsPolicy: s.allowedFailsPolicy,
    cooldownMs: s.cooldownMs,
    disableCooldowns: s.disableCooldowns,
  };
}
