/**
 * The model API's writes, as LiteLLM names and shapes them: `POST /model/new`, `POST /model/update`,
 * `PATCH /model/{model_id}/update`, `POST /model/delete`. Reads (`/model/info`, `/v2/model/info`,
 * `/model_group/info`, `/v1/models`) are served from the route table's precomputed bodies (endpoints/models.ts),
 * which every change replaces. Proxy admins only: the master key, or a virtual key whose user is proxy_admin.
 */
import type { IncomingMessage } from 'node:http';
import type { EngineContext } from '../context.js';
import { GatewayError, notProxyAdmin } from '../errors.js';
import type { GovernedPrincipal } from '../governance/types.js';
import { readJsonBody } from '../http/body.js';
import { sendJson } from '../http/respond.js';
import type { ResponseWriter } from '../http/response-writer.js';
import type { JsonObject } from '../wire.js';
import { PROXY_ADMIN_NAME } from './registry.js';

export type ModelRoute = 'new' | 'update' | 'delete' | { patch: string };

/** Every route of the model API's writes (GET /routes lists them). */
export const MODEL_WRITE_ROUTES: readonly { method: string; path: string }[] = [
  { method: 'POST', path: '/model/new' },
  { method: 'POST', path: '/model/update' },
  { method: 'PATCH', path: '/model/{model_id}/update' },
  { method: 'POST', path: '/model/delete' },
];

const PATCH_PATH = /^\/model\/([^/]+)\/update$/;

/** The model API route for `method path`; `'method'` when the path is one under another method; else undefined. */
export function findModelRoute(method: string, path: string): ModelRoute | 'method' | undefined {
  if (path === '/model/new' || path === '/model/update' || path === '/model/delete') {
    if (method !== 'POST') return 'method';
    return path.slice(7) as 'new' | 'update' | 'delete';
  }
  const m = PATCH_PATH.exec(path);
  if (!m) return undefined;
  if (method !== 'PATCH') return 'method';
  try {
    return { patch: decodeURIComponent(m[1]) };
  } catch {
    return undefined;
  }
}

/** Serve one model API write. */
export async function handleModelRoute(
  ctx: EngineContext,
  req: IncomingMessage,
  w: ResponseWriter,
  path: string,
  route: ModelRoute,
): Promise<void> {
  const pending = w.authenticate(req.headers);
  if (pending) await pending;
  const p = w.principal as GovernedPrincipal;
  if (p.kind === 'anonymous')
    throw new GatewayError(403, {
      message:
        `${req.method} ${path} changes the models every caller reaches, so it needs a master key: set ` +
        'general_settings.master_key (or LITELLM_MASTER_KEY) and restart.',
      type: 'auth_error',
      code: '403',
      errorClass: 'permission',
    });
  if (p.kind !== 'master' && p.role !== 'proxy_admin') throw notProxyAdmin(req.method, path, p.role);
  const models = ctx.models;
  if (!models) throw new GatewayError(500, { message: 'the model registry is not running', errorClass: 'internal' });
  const body = (await readJsonBody(req, ctx.maxRequestBytes)) as JsonObject;
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new GatewayError(400, { message: 'the body must be a JSON object', code: '400', errorClass: 'bad_request' });
  const by = p.kind === 'master' ? PROXY_ADMIN_NAME : (p.userId ?? PROXY_ADMIN_NAME);
  let out: JsonObject;
  if (route === 'new') out = await models.add(body, by);
  else if (route === 'update') out = await models.update(undefined, body, by);
  else if (route === 'delete') out = await models.remove(body.id);
  else out = await models.update(route.patch, body, by);
  sendJson(w.res, 200, JSON.stringify(out), w.headers);
}
