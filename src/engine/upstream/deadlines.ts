import { LiveSet, type LiveSlot } from '../live-set.js';

/** One pending deadline: an object that knows what to do when it passes (no closure needed). */
export interface Deadline extends LiveSlot {
  at: number;
  onExpire(): void;
}

/**
 * Deadlines of the attempts in flight, checked by one coarse timer instead of a setTimeout each
 * (a timer per request costs an object, a closure and timer-list work on the hot path). A deadline
 * fires at most `tickMs` late; the timer runs only while something is pending. A LiveSet, not a Set: see there.
 */
export class Deadlines {
  private readonly pending = new LiveSet<Deadline>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly tickMs = 50) {}

  /** Track `d` (its `at` already set). */
  add(d: Deadline): void {
    this.pending.add(d);
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), this.tickMs);
      this.timer.unref();
    }
  }

  remove(d: Deadline): void {
    this.pending.delete(d);
  }

  private sweep(): void {
    const now = Date.now();
    for (const d of this.pending.values()) {
      if (d.at <= now) {
        this.pending.delete(d);
        d.onExpire();
      }
    }
    if (this.pending.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
