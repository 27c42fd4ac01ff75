/**
 * Which models a virtual key may call (LiteLLM's `can_key_call_model` and its team/user/org siblings): the key's
 * `models` and, for team keys, the team's; `[]` or `all-proxy-models` means every model; `all-team-models` on a
 * key defers to its team; a name may be a model group, a router alias of one, an access group
 * (`model_info.access_groups` of the config's deployments), or a wildcard (`openai/*`). A key's own `aliases`
 * let it call an alias whose target it may call. Lists are compiled once per cached record, not per request.
 */
import { GatewayError } from '../errors.js';
import type { RouteTable } from '../router/table.js';
import type { JsonObject } from '../wire.js';
import { parseJson } from './db/schema.js';
import type { AuthRecord } from './types.js';

type Level = 'key' | 'team' | 'user' | 'org';

interface Matcher {
  /** as configured, for the error message */
  list: string[];
  names: Set<string>;
  patterns: RegExp[];
}

interface Compiled {
  /** the route table the lists were expanded against (access groups); a model API change replaces it */
  table: RouteTable;
  checks: { level: Level; m: Matcher }[];
  aliases: Record<string, string>;
}

const compiled = new WeakMap<AuthRecord, Compiled>();
const accessGroups = new WeakMap<RouteTable, Map<string, string[]>>();

/** `model_info.access_groups` of every deployment: access group -> model names (patterns included). */
function groupsOf(table: RouteTable): Map<string, string[]> {
  let out = accessGroups.get(table);
  if (out) return out;
  out = new Map();
  for (const d of table.deployments) {
    const info = d.publicInfo.model_info as JsonObject | undefined;
    const ag = info?.access_groups;
    if (!Array.isArray(ag)) continue;
    for (const a of ag) {
      if (typeof a !== 'string') continue;
      const list = out.get(a) ?? [];
      if (!list.includes(d.modelName)) list.push(d.modelName);
      out.set(a, list);
    }
  }
  accessGroups.set(table, out);
  return out;
}

function wildcard(p: string): RegExp {
  return new RegExp(
    `^${p
      .split('*')
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
}

/** A list's matcher; undefined when it allows every model (`[]`, `all-proxy-models`, or `all-team-models`). */
function matcher(list: string[], table: RouteTable, deferToTeam: boolean): Matcher | undefined {
  if (list.length === 0 || list.includes('all-proxy-models') || (deferToTeam && list.includes('all-team-models')))
    return undefined;
  const groups = groupsOf(table);
  const names = new Set<string>();
  const patterns: RegExp[] = [];
  const add = (n: string) => {
    if (n.includes('*')) patterns.push(wildcard(n));
    names.add(n);
  };
  for (const n of list) {
    add(n);
    for (const member of groups.get(n) ?? []) add(member);
  }
  return { list, names, patterns };
}

function compile(r: AuthRecord, table: RouteTable): Compiled {
  let c = compiled.get(r);
  if (c && c.table === table) return c;
  const checks: Compiled['checks'] = [];
  const push = (level: Level, json: string | undefined, deferToTeam = false) => {
    const m = json === undefined ? undefined : matcher(parseJson<string[]>(json, []), table, deferToTeam);
    if (m) checks.push({ level, m });
  };
  push('key', r.key.models, r.team !== undefined);
  push('team', r.team?.models);
  // a team key is governed by its team's models; the user's own list applies to personal keys
  if (!r.team) push('user', r.user?.models);
  push('org', r.org?.models);
  c = { table, checks, aliases: parseJson<Record<string, string>>(r.key.aliases, {}) };
  compiled.set(r, c);
  return c;
}

function matches(m: Matcher, model: string, table: RouteTable, aliases: Record<string, string>): boolean {
  if (m.names.has(model)) return true;
  for (const re of m.patterns) if (re.test(model)) return true;
  // a router alias (model_group_alias) or one of the key's own aliases is allowed when its target is
  const target = table.aliases.get(model)?.target ?? aliases[model];
  return target !== undefined && target !== model && matches(m, target, table, {});
}

/** The level that refuses `model` (key, team, user, org), or undefined when every level allows it. */
function deniedBy(r: AuthRecord, model: string, table: RouteTable): { level: Level; m: Matcher } | undefined {
  const c = compile(r, table);
  for (const check of c.checks) if (!matches(check.m, model, table, c.aliases)) return check;
  return undefined;
}

/** Whether the key of `record` may call `model`. */
export function modelAllowed(record: AuthRecord, model: string, table: RouteTable): boolean {
  return deniedBy(record, model, table) === undefined;
}

/**
 * Throws LiteLLM's `<level>_model_access_denied` unless the key may call `model`. Status 403: LiteLLM's auth code
 * raised 401, but its current releases send 403 (ModelAccessDeniedProxyException), which is what its clients
 * and the openai SDK (PermissionDeniedError: the key is valid, the model is not) expect.
 */
export function checkModelAccess(record: AuthRecord, model: string, table: RouteTable): void {
  const d = deniedBy(record, model, table);
  if (!d) return;
  const who = d.level === 'org' ? 'organization' : d.level;
  throw new GatewayError(403, {
    message:
      `${who} not allowed to access model. This ${who} can only access models=` +
      `[${d.m.list.map((n) => `'${n}'`).join(', ')}]. Tried to access ${model}`,
    type: `${d.level}_model_access_denied`,
    param: 'model',
    code: '403',
    errorClass: 'permission',
  });
}
