import type { UsageStore } from '../limits/usage-store.js';
import type { RoutingStrategy } from './settings.js';
import type { Deployment, ModelGroup } from '../deployment.js';

/**
 * simple-shuffle: a random deployment of the group, weighted by `weight` / `rpm` / `tpm` when set.
 * `exclude` drops deployments (kept for callers of the first version of the seam).
 */
export function pick(group: ModelGroup, exclude?: ReadonlySet<Deployment>): Deployment | undefined {
  const list = !exclude || exclude.size === 0 ? group.deployments : group.deployments.filter((d) => !exclude.has(d));
  return list.length === 0 ? undefined : shuffle(list, list === group.deployments ? group : undefined);
}

/** Weighted random; uses the group's precomputed cumulative weights when `list` is the whole group. */
function shuffle(list: readonly Deployment[], group: ModelGroup | undefined): Deployment {
  if (list.length === 1) return list[0];
  if (group) {
    if (group.cumulative.length === 0) return list[Math.floor(Math.random() * list.length)];
    const r = Math.random() * group.totalWeight;
    const c = group.cumulative;
    for (let i = 0; i < c.length; i++) if (r < c[i]) return list[i];
    return list[list.length - 1];
  }
  let total = 0;
  for (const d of list) total += d.weight;
  if (total <= 0) return list[Math.floor(Math.random() * list.length)];
  let r = Math.random() * total;
  for (const d of list) if ((r -= d.weight) < 0) return d;
  return list[list.length - 1];
}

/** The deployment with the lowest score; ties broken at random (one pass, no allocation). */
function lowest(list: readonly Deployment[], score: (d: Deployment) => number): Deployment {
  let best = list[0];
  let bestScore = score(best);
  let ties = 1;
  for (let i = 1; i < list.length; i++) {
    const s = score(list[i]);
    if (s < bestScore) {
      best = list[i];
      bestScore = s;
      ties = 1;
    } else if (s === bestScore && Math.random() * ++ties < 1) best = list[i];
  }
  return best;
}

/**
 * Choose among the deployments that may take this request (`list` is never empty):
 * - simple-shuffle: weighted random;
 * - least-busy: fewest requests in flight;
 * - latency-based-routing: lowest moving-average latency (time to first token for streams); unmeasured first;
 * - usage-based-routing-v2: fewest tokens this minute (the rpm/tpm limits were applied by the caller);
 * - cost-based-routing: cheapest per token (model_info or the built-in table); unknown prices last.
 */
export function choose(strategy: RoutingStrategy, list: readonly Deployment[], group: ModelGroup, usage: UsageStore): Deployment {
  if (list.length === 1) return list[0];
  switch (strategy) {
    case 'least-busy':
      return lowest(list, (d) => d.stats.inflight);
    case 'latency-based-routing':
      return lowest(list, (d) => d.stats.latencyMs);
    case 'usage-based-routing-v2':
      return lowest(list, (d) => usage.tokens(d.id));
    case 'cost-based-routing':
      return lowest(list, (d) => d.cost);
    default:
      return shuffle(list, list === group.deployments ? group : undefined);
  }
}
