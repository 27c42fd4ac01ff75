import type { Deployment, ModelGroup } from '../deployment.js';
import { type DeploymentStats, recordFailure, recordLatency } from '../router/cooldown.js';
import type { RouterSettings } from '../router/settings.js';
import type { DeploymentLoad, RouterState, SettledAttempt, StateView } from './router-state.js';

/** One deployment's record: the cooldown rules' stats plus this minute's usage window. */
class Slot implements DeploymentStats, DeploymentLoad {
  inflight = 0;
  latencyMs = 0;
  cooldownUntil = 0;
  failMinute = 0;
  fails = 0;
  failsByClass?: DeploymentStats['failsByClass'] = undefined;
  /** the minute `requests` and `tokens` count */
  minute = 0;
  requests = 0;
  tokens = 0;
}

const MINUTE_MS = 60_000;

/**
 * The in-process RouterState: one small record per deployment, made on first use; usage windows
 * reset lazily when the minute changes. Synchronous throughout, and the view of a read is the
 * store itself (records are live), so routing allocates nothing here.
 */
export class MemoryRouterState implements RouterState, StateView {
  private readonly slots = new Map<Deployment, Slot>();
  /** the minute and time of the last read (what `of` and `msToReset` answer for) */
  private minute = 0;
  private now = 0;

  read(_group: ModelGroup, now: number): StateView {
    this.now = now;
    this.minute = Math.floor(now / MINUTE_MS);
    return this;
  }

  of(d: Deployment): DeploymentLoad {
    return this.slot(d, this.minute);
  }

  msToReset(): number {
    return MINUTE_MS - (this.now % MINUTE_MS);
  }

  begin(d: Deployment, counted: boolean, now: number): void {
    const s = this.slot(d, Math.floor(now / MINUTE_MS));
    s.inflight++;
    if (counted) s.requests++;
  }

  settle(a: SettledAttempt, rules: RouterSettings, now: number): void {
    const s = this.slot(a.deployment, Math.floor(now / MINUTE_MS));
    s.inflight--;
    if (a.windowTokens > 0) s.tokens += a.windowTokens;
    if (a.latencyMs >= 0) recordLatency(s, a.latencyMs);
    if (a.fault) recordFailure(rules, s, a.groupSize, a.fault, now);
  }

  /** Skip `d` until `until` (a cooldown another engine or worker decided); never shortens one. */
  coolDown(d: Deployment, until: number): void {
    const s = this.slot(d, this.minute);
    if (until > s.cooldownUntil) s.cooldownUntil = until;
  }

  /** The record of `d`, its usage window moved to `minute` when that is newer. */
  private slot(d: Deployment, minute: number): Slot {
    let s = this.slots.get(d);
    if (s === undefined) {
      s = new Slot();
      s.minute = minute;
      this.slots.set(d, s);
    } else if (minute > s.minute) {
      s.minute = minute;
      s.requests = 0;
      s.tokens = 0;
    }
    return s;
  }
}
