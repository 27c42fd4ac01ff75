import type { Deployment, ModelGroup } from '../../deployment.js';
import type { RoutingStrategy } from './strategy.js';

/**
 * simple-shuffle (LiteLLM's default): a random deployment, weighted by `weight`, else `rpm`, else
 * `tpm` (the group's precomputed cumulative weights when the whole group is available).
 */
export const simpleShuffle: RoutingStrategy = {
  name: 'simple-shuffle',
  choose(list: readonly Deployment[], group: ModelGroup): Deployment {
    if (list.length === 1) return list[0];
    if (list === group.deployments) {
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
  },
};
