/**
 * The management API's routes (LiteLLM's paths, with and without /v1) and the one handler that serves them:
 * authenticate, check the route's access against the caller's role, read the body (POST) or the query
 * (GET), run the handler, answer its JSON. Each area's routes live in their own file.
 */
import type { IncomingMessage } from 'node:http';
import type { EngineContext } from '../../context.js';
import { notProxyAdmin } from '../../errors.js';
import { readJsonBody } from '../../http/body.js';
import { sendJson } from '../../http/respond.js';
import type { ResponseWriter } from '../../http/response-writer.js';
import type { UserRole } from '../db/schema.js';
import type { Governance } from '../governance.js';
import type { GovernedPrincipal, ManagementRoute } from '../types.js';
import { BUDGET_ROUTES } from './budgets.js';
import { CUSTOMER_ROUTES } from './customers.js';
import { KEY_ROUTES } from './keys.js';
import { noStore } from './no-store.js';
import { SPEND_ROUTES } from './spend.js';
import { TEAM_ROUTES } from './teams.js';
import { USER_ROUTES } from './users.js';

type Route = ManagementRoute<Governance>;

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

const ALL: Route[] = [
  ...KEY_ROUTES,
  ...USER_ROUTES,
  ...TEAM_ROUTES,
  ...BUDGET_ROUTES,
  ...CUSTOMER_ROUTES,
  ...SPEND_ROUTES,
];
/** Every management route (`GET /routes` lists them). */
export const MANAGEMENT_ROUTES: readonly { method: string; path: string }[] = ALL.map((r) => ({
  method: r.method,
  path: r.path,
}));
// static paths by `METHOD path`; paths with `{param}` segments are matched in order after
const STATIC = new Map<string, Route>();
const PATTERNS: { method: string; re: RegExp; names: string[]; route: Route }[] = [];
const PATHS = new Set<string>();
for (const r of ALL) {
  if (!r.path.includes('{')) {
    STATIC.set(`${r.method} ${r.path}`, r);
    PATHS.add(r.path);
    continue;
  }
  const names: string[] = [];
  const re = new RegExp(
    `^${r.path.replace(/\{(\w+)\}/g, (_, n: string) => {
      names.push(n);
      return '([^/]+)';
    })}$`,
  );
  PATTERNS.push({ method: r.method, re, names, route: r });
}

/**
 * The management route for `method path`: a match, `'method'` when the path exists under another method,
 * undefined when it is not a management path.
 */
export function findManagementRoute(method: string, path: string): RouteMatch | 'method' | undefined {
  const r = STATIC.get(`${method} ${path}`);
  if (r) return { route: r, params: {} };
  let other = PATHS.has(path);
  for (const p of PATTERNS) {
    const m = p.re.exec(path);
    if (!m) continue;
    if (p.method !== method) {
      other = true;
      continue;
    }
    const params: Record<string, string> = {};
    p.names.forEach((n, i) => {
      params[n] = decodeURIComponent(m[i + 1]);
    });
    return { route: p.route, params };
  }
  return other ? 'method' : undefined;
}

/** The role a principal acts with: the master key is proxy_admin; a virtual key its user's role. */
export function roleOf(p: GovernedPrincipal): UserRole | undefined {
  if (p.kind === 'master') return 'proxy_admin';
  return p.role;
}

function allowed(route: Route, role: UserRole | undefined): boolean {
  switch (route.access) {
    case 'admin':
      return role === 'proxy_admin';
    case 'admin_read':
      return role === 'proxy_admin' || role === 'proxy_admin_viewer';
    default:
      return true;
  }
}

/** Serve one management call (the server found `match` for it). */
export async function handleManagement(
  ctx: EngineContext,
  req: IncomingMessage,
  w: ResponseWriter,
  path: string,
  match: RouteMatch,
): Promise<void> {
  const pending = w.authenticate(req.headers);
  if (pending) await pending;
  const g = ctx.governance;
  if (!g) throw noStore(path);
  const principal = w.principal as GovernedPrincipal;
  if (!allowed(match.route, roleOf(principal))) throw notProxyAdmin(req.method, path, roleOf(principal));
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
  // a POST without a body (curl -X POST with no -d) is `{}`, not a parse error
  const cl = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0');
  const body = req.method === 'POST' && hasBody ? await readJsonBody(req, ctx.maxRequestBytes) : {};
  const out = await match.route.handle(g, { principal, body, query, params: match.params, headers: req.headers });
  sendJson(w.res, 200, JSON.stringify(out ?? {}), w.headers);
}
