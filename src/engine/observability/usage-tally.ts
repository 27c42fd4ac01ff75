import type { SettledEvent } from './settled.js';

/** One model's (or the whole engine's) usage since the engine started. */
export interface UsageCounts {
  requests: number;
  /** requests that ended in an error (client aborts are neither failures nor successes) */
  failures: number;
  input_tokens: number;
  output_tokens: number;
  /** USD of the priced requests */
  cost_usd: number;
  /** requests whose model has no price (their cost is not in cost_usd) */
  unpriced_requests: number;
}

/** What `GET /kubiya/usage` answers: the totals, and the same per model group the client asked for. */
export interface UsageReport extends UsageCounts {
  /** ISO time the engine started counting */
  since: string;
  by_model: Record<string, UsageCounts>;
}

const zero = (): UsageCounts => ({
  requests: 0,
  failures: 0,
  input_tokens: 0,
  output_tokens: 0,
  cost_usd: 0,
  unpriced_requests: 0,
});

function add(c: UsageCounts, e: SettledEvent): void {
  c.requests++;
  if (e.status === 'failure') c.failures++;
  c.input_tokens += e.usage.prompt;
  c.output_tokens += e.usage.completion;
  if (e.responseCost !== undefined) c.cost_usd += e.responseCost;
  if (e.unpriced) c.unpriced_requests++;
}

/**
 * The engine's always-on usage counter (what `kubiya worker status` / `worker stop` show): a settled-event
 * subscriber that adds each request to the totals and to its model's entry. No allocation per event
 * beyond a model's first.
 */
export class UsageTally {
  private readonly since = new Date().toISOString();
  private readonly total = zero();
  private readonly byModel = new Map<string, UsageCounts>();

  readonly observe = (e: SettledEvent): undefined => {
    add(this.total, e);
    const name = e.modelGroup ?? e.requestedModel;
    let m = this.byModel.get(name);
    if (!m) {
      m = zero();
      this.byModel.set(name, m);
    }
    add(m, e);
    return undefined;
  };

  report(): UsageReport {
    return { since: this.since, ...this.total, by_model: Object.fromEntries(this.byModel) };
  }
}

/** The tallies of several engine workers as one (`proxy start --num_workers N`): sums, the earliest start. */
export function mergeUsage(reports: readonly UsageReport[]): UsageReport {
  const total = zero();
  const byModel: Record<string, UsageCounts> = {};
  let since = new Date().toISOString();
  const sum = (to: UsageCounts, c: UsageCounts) => {
    for (const k of Object.keys(to) as (keyof UsageCounts)[]) to[k] += c[k];
  };
  for (const r of reports) {
    if (r.since < since) since = r.since;
    sum(total, r);
    for (const [name, c] of Object.entries(r.by_model)) sum((byModel[name] ??= zero()), c);
  }
  return { since, ...total, by_model: byModel };
}
