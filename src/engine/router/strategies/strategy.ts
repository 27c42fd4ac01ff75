import type { Deployment, ModelGroup } from '../../deployment.js';
import type { DeploymentLoad, StateView } from '../../state/router-state.js';

/**
 * A routing strategy: picks one deployment among those that may take the request (`list` is never
 * empty and has already lost cooling, limited, mistagged and too-small deployments). It reads the
 * state only through `view` (one read per decision), so it works the same on a shared store.
 */
export interface RoutingStrategy {
  /** the `router_settings.routing_strategy` value that selects it */
  readonly name: string;
  /** attempts count their tokens into the usage window even without rpm/tpm limits (usage-based routing) */
  readonly readsUsage?: boolean;
  choose(list: readonly Deployment[], group: ModelGroup, view: StateView): Deployment;
}

/** What "lowest first" strategies rank by: a figure of the deployment's load, or its price. */
export type Score = keyof DeploymentLoad | 'cost';

/** The deployment with the lowest score; ties broken at random (one pass, no allocation). */
export function lowest(list: readonly Deployment[], view: StateView, key: Score): Deployment {
  let best = list[0];
  let bestScore = key === 'cost' ? best.cost : view.of(best)[key];
  let ties = 1;
  for (let i = 1; i < list.length; i++) {
    const d = list[i];
    const s = key === 'cost' ? d.cost : view.of(d)[key];
    if (s < bestScore) {
      best = d;
      bestScore = s;
      ties = 1;
    } else if (s === bestScore && Math.random() * ++ties < 1) best = d;
  }
  return best;
}

/** A strategy that takes the deployment with the lowest `key`. */
export function lowestBy(name: string, key: Score, readsUsage?: boolean): RoutingStrategy {
  return {
    name,
    readsUsage,
    choose: (list, _group, view) => (list.length === 1 ? list[0] : lowest(list, view, key)),
  };
}
