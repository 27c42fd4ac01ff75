import type { DeploymentLoad, StateView } from '../state/router-state.js';
import type { RoutingStrategy } from './settings.js';
import type { Deployment, ModelGroup } from '../deployment.js';

/** simple-shuffle: weighted random; uses the group's precomputed cumulative weights when `list` is the whole group. */
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

/** What a strategy ranks by: a figure of the deployment's state, or its price. */
type Score = keyof DeploymentLoad | 'cost';

function score(d: Deployment, view: StateView, key: Score): number {
  return key === 'cost' ? d.cost : view.of(d)[key];
}

/** The deployment with the lowest score; ties broken at random (one pass, no allocation). */
function lowest(list: readonly Deployment[], view: StateView, key: Score): Deployment {
  let best = list[0];
  let bestScore = score(best, view, key);
  let ties = 1;
  for (let i = 1; i < list.length; i++) {
    const s = score(list[i], view, key);
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
export function choose(
  strategy: RoutingStrategy, list: readonly Deployment[], group: ModelGroup, view: StateView,
): Deployment {
  if (list.length === 1) return list[0];
  switch (strategy) {
    case 'least-busy':
      return lowest(list, view, 'inflight');
    case 'latency-based-routing':
      return lowest(list, view, 'latencyMs');
    case 'usage-based-routing-v2':
      return lowest(list, view, 'tokens');
    case 'cost-based-routing':
      return lowest(list, view, 'cost');
    default:
      return shuffle(list, list === group.deployments ? group : undefined);
  }
}
