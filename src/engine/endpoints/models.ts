import { maskSecrets } from '../../config/litellm/secrets.js';
import type { RouteTable } from '../router/table.js';

/** Bodies of GET /v1/models and /v1/model/info, computed once at start-up (the config cannot change). */
export function staticBodies(
  table: RouteTable,
  secretValues: string[],
): { models: string; modelsWithWildcards: string; modelInfo: string } {
  const created = Math.floor(Date.now() / 1000);
  const entry = (id: string) => ({ id, object: 'model', created, owned_by: 'openai' });
  const names = [...table.groups.keys(), ...[...table.aliases].filter(([, a]) => !a.hidden).map(([k]) => k)];
  const wild = table.wildcards.map((w) => w.pattern);
  const info = table.deployments.map((d) => d.publicInfo);
  return {
    models: JSON.stringify({ object: 'list', data: names.map(entry) }),
    modelsWithWildcards: JSON.stringify({ object: 'list', data: [...names, ...wild].map(entry) }),
    // belt and braces: any resolved secret that slipped into a param value is masked
    modelInfo: JSON.stringify({ data: maskSecrets(info, secretValues) }),
  };
}
