import type { UpstreamClient } from '../upstream/client.js';
import { attempt, type Outcome, type RouteRequest } from './attempt.js';
import { pick } from './pick.js';
import { resolveModel, unknownModel } from './resolve.js';
import type { RouteTable } from './table.js';

export interface RouterDeps {
  table: RouteTable;
  client: UpstreamClient;
}

/**
 * The one entry from endpoints to upstreams: resolve the group, pick a deployment, attempt it.
 * Retries, fallbacks, cooldowns and other strategies slot in here: `pick` takes the deployments to
 * exclude, every failure is a GatewayError whose `errorClass` says whether another try makes sense,
 * and a stream only counts as started once its headers were good (nothing has reached the client yet).
 */
export async function dispatch(deps: RouterDeps, req: RouteRequest): Promise<Outcome> {
  const resolved = resolveModel(deps.table, req.model);
  if (!resolved) throw unknownModel(deps.table, req.model);
  const dep = pick(resolved.group)!;
  return attempt(deps.client, dep, req, resolved.captures);
}
