import type { Deployment, ModelGroup } from './table.js';

/**
 * simple-shuffle: a random deployment of the group, weighted by `weight` / `rpm` / `tpm` when set.
 * `exclude` (deployments that already failed this request) is the seam for retries and cooldowns.
 */
export function pick(group: ModelGroup, exclude?: ReadonlySet<Deployment>): Deployment | undefined {
  const list = group.deployments;
  if (!exclude || exclude.size === 0) {
    if (list.length === 1) return list[0];
    if (group.cumulative.length === 0) return list[Math.floor(Math.random() * list.length)];
    const r = Math.random() * group.totalWeight;
    const c = group.cumulative;
    for (let i = 0; i < c.length; i++) if (r < c[i]) return list[i];
    return list[list.length - 1];
  }
  const left = list.filter((d) => !exclude.has(d));
  if (left.length === 0) return undefined;
  return pick({ name: group.name, deployments: left, ...weightsOf(left) });
}

function weightsOf(list: Deployment[]): { cumulative: number[]; totalWeight: number } {
  const cumulative: number[] = [];
  let total = 0;
  for (const d of list) cumulative.push((total += d.weight));
  return total > 0 ? { cumulative, totalWeight: total } : { cumulative: [], totalWeight: list.length };
}
