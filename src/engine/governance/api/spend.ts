/**
 * Spend routes (LiteLLM's paths, queries and response shapes): `/spend/logs`, `/global/spend/report`,
 * `/global/spend/reset`, and the `/spend/{keys,users,tags}` and `/global/spend/{keys,teams,models}` lists.
 * Aggregates read the daily rollups; see spend/reports.ts. `/spend/calculate` is served elsewhere.
 */
import { createHash } from 'node:crypto';
import { GatewayError } from '../../errors.js';
import { parseJson } from '../db/schema.js';
import type { Governance } from '../governance.js';
import {
  type DayRange,
  type KeyScope,
  logRows,
  logView,
  reportByDay,
  reportByKey,
  summarizeDays,
  summarizeRows,
  teamAliases,
  teamDays,
  topEntities,
} from '../spend/reports.js';
import type { GovernedPrincipal, ManagementCall, ManagementRoute } from '../types.js';

type Route = ManagementRoute<Governance>;

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;
/** rows `/spend/logs` lists when asked for rows (LiteLLM has no bound; a million rows would not be an answer) */
const ROW_LIMIT = 1000;
const MAX_ROW_LIMIT = 100_000;

function badRequest(message: string, param: string): GatewayError {
  return new GatewayError(400, { message, type: 'bad_request_error', param, code: '400', errorClass: 'bad_request' });
}

/** A `YYYY-MM-DD` query parameter (LiteLLM parses them with `%Y-%m-%d`). */
function dayParam(q: URLSearchParams, name: string): string | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!DAY.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`)))
    throw badRequest(`${name} must be a date as YYYY-MM-DD (got ${JSON.stringify(v.slice(0, 40))})`, name);
  return v;
}

/** start_date and end_date, both required. */
function rangeParam(q: URLSearchParams): DayRange {
  const start = dayParam(q, 'start_date');
  const end = dayParam(q, 'end_date');
  if (start === undefined || end === undefined)
    throw badRequest(
      'Please provide start_date and end_date (YYYY-MM-DD)',
      start === undefined ? 'start_date' : 'end_date',
    );
  if (end < start) throw badRequest(`end_date ${end} is before start_date ${start}`, 'end_date');
  return { start, end };
}

/** The last 30 days up to today (UTC), as LiteLLM's Last30d views. */
function last30Days(g: Governance): DayRange {
  const now = g.now();
  return {
    start: new Date(now - 29 * DAY_MS).toISOString().slice(0, 10),
    end: new Date(now).toISOString().slice(0, 10),
  };
}

function boolParam(q: URLSearchParams, name: string, dflt: boolean): boolean {
  const v = q.get(name);
  if (v === null || v === '') return dflt;
  if (/^(true|1|yes)$/i.test(v)) return true;
  if (/^(false|0|no)$/i.test(v)) return false;
  throw badRequest(`${name} must be true or false (got ${JSON.stringify(v.slice(0, 40))})`, name);
}

function intParam(q: URLSearchParams, name: string, dflt: number | undefined, max: number): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw badRequest(`${name} must be a whole number from 1 to ${max} (got ${JSON.stringify(v.slice(0, 40))})`, name);
  return n;
}

/** A key as given (`sk-...` is hashed, as LiteLLM does; a hash is taken as is). */
function keyHashOf(v: string): string {
  return v.startsWith('sk-') ? createHash('sha256').update(v).digest('hex') : v;
}

const ADMIN_READERS = new Set(['proxy_admin', 'proxy_admin_viewer']);

/** Whose logs the caller may read: admins every key; anyone else the keys of their user, or their own key. */
async function scopeOf(g: Governance, p: GovernedPrincipal): Promise<KeyScope> {
  // api/index.ts's roleOf, inlined: importing it here would make the two modules import each other
  const role = p.kind === 'master' ? 'proxy_admin' : p.role;
  if (role !== undefined && ADMIN_READERS.has(role)) return undefined;
  const own = p.keyHash ? [p.keyHash] : [];
  if (!p.userId) return own;
  const rows = await g.store.db.selectFrom('keys').select('token').where('user_id', '=', p.userId).execute();
  return [...new Set([...own, ...rows.map((r) => r.token)])];
}

function forbidden(message: string): GatewayError {
  return new GatewayError(403, { message, type: 'auth_error', param: null, code: '403', errorClass: 'permission' });
}

async function spendLogs(g: Governance, call: ManagementCall): Promise<unknown> {
  const q = call.query;
  const scope = await scopeOf(g, call.principal);
  const rawKey = q.get('api_key') || undefined;
  const apiKey = rawKey === undefined ? undefined : keyHashOf(rawKey);
  const userId = q.get('user_id') || undefined;
  const requestId = q.get('request_id') || undefined;
  if (scope !== undefined) {
    if (apiKey !== undefined && !scope.includes(apiKey))
      throw forbidden('You can only view the spend logs of your own keys (api_key is not one of them).');
    if (userId !== undefined && userId !== call.principal.userId)
      throw forbidden('You can only view your own spend logs (user_id is not yours).');
  }
  const start = dayParam(q, 'start_date');
  const end = dayParam(q, 'end_date');
  const summarize = boolParam(q, 'summarize', true);
  const limit = intParam(q, 'limit', ROW_LIMIT, MAX_ROW_LIMIT) ?? ROW_LIMIT;
  if (start !== undefined && end !== undefined) {
    if (end < start) throw badRequest(`end_date ${end} is before start_date ${start}`, 'end_date');
    if (summarize && requestId === undefined) return summarizeDays(g, { start, end }, { apiKey, userId, scope });
    const rows = await logRows(g, {
      apiKey,
      userId,
      requestId,
      scope,
      from: Date.parse(`${start}T00:00:00Z`),
      to: Date.parse(`${end}T00:00:00Z`) + DAY_MS,
      limit,
    });
    return summarize ? summarizeRows(rows) : rows.map(logView);
  }
  // no date range: the matching rows (LiteLLM's behaviour), newest first
  const rows = await logRows(g, { apiKey, userId, requestId, scope, limit });
  return rows.map(logView);
}

async function spendReport(g: Governance, call: ManagementCall): Promise<unknown> {
  const q = call.query;
  const range = rangeParam(q);
  const groupBy = q.get('group_by') || 'team';
  if (groupBy !== 'team' && groupBy !== 'customer' && groupBy !== 'api_key')
    throw badRequest(`group_by must be one of team, customer, api_key (got ${JSON.stringify(groupBy)})`, 'group_by');
  const apiKey = q.get('api_key') || undefined;
  if (apiKey !== undefined) return reportByKey(g, range, { apiKey: keyHashOf(apiKey) });
  const userId = q.get('internal_user_id') || undefined;
  if (userId !== undefined) return reportByKey(g, range, { userId });
  if (groupBy === 'api_key') return reportByKey(g, range);
  return reportByDay(g, range, groupBy);
}

/** LiteLLM's reset: every key's and team's spend to 0; the logs and rollups stay (they are the audit trail). */
async function spendReset(g: Governance): Promise<unknown> {
  await g.store.db.transaction().execute(async (trx) => {
    await trx.updateTable('keys').set({ spend: 0 }).execute();
    await trx.updateTable('teams').set({ spend: 0 }).execute();
  });
  g.changed({ kind: 'all' });
  return { message: 'Spend for all API Keys and Teams reset successfully', status: 'success' };
}

/** A stored row with its JSON columns parsed (for the `/spend/keys` and `/spend/users` lists). */
function parsedRow(row: Record<string, unknown>, json: readonly string[]): Record<string, unknown> {
  const out = { ...row };
  for (const c of json) if (typeof out[c] === 'string') out[c] = parseJson(out[c] as string, null);
  return out;
}

const KEY_JSON = ['models', 'aliases', 'metadata', 'tags', 'model_max_budget', 'model_rpm_limit', 'model_tpm_limit'];

export const SPEND_ROUTES: Route[] = [
  { method: 'GET', path: '/spend/logs', access: 'any', handle: spendLogs },
  { method: 'GET', path: '/global/spend/report', access: 'admin_read', handle: spendReport },
  { method: 'POST', path: '/global/spend/reset', access: 'admin', handle: (g) => spendReset(g) },
  {
    // every key, highest spend first (LiteLLM returns the key rows: the hash, never the key)
    method: 'GET',
    path: '/spend/keys',
    access: 'admin_read',
    async handle(g) {
      const rows = await g.store.db.selectFrom('keys').selectAll().orderBy('spend', 'desc').execute();
      return rows.map((r) => parsedRow(r, KEY_JSON));
    },
  },
  {
    method: 'GET',
    path: '/spend/users',
    access: 'admin_read',
    async handle(g, call) {
      let q = g.store.db.selectFrom('users').selectAll();
      const id = call.query.get('user_id');
      if (id) q = q.where('user_id', '=', id);
      const rows = await q.orderBy('spend', 'desc').execute();
      return rows.map((r) => parsedRow(r, ['models', 'metadata', 'model_max_budget']));
    },
  },
  {
    // spend per request tag: `[{individual_request_tag, log_count, total_spend}]`
    method: 'GET',
    path: '/spend/tags',
    access: 'admin_read',
    async handle(g, call) {
      const start = dayParam(call.query, 'start_date');
      const end = dayParam(call.query, 'end_date');
      const range = start && end ? { start, end } : { start: '0000-01-01', end: '9999-12-31' };
      const rows = await topEntities(g, 'tag', range);
      return rows.map((r) => ({ individual_request_tag: r.id, log_count: r.requests, total_spend: r.spend }));
    },
  },
  {
    // the top keys of the last 30 days: `[{api_key, key_alias, key_name, total_spend}]`
    method: 'GET',
    path: '/global/spend/keys',
    access: 'admin_read',
    async handle(g, call) {
      const top = await topEntities(g, 'key', last30Days(g), intParam(call.query, 'limit', undefined, 10_000));
      const ids = top.map((t) => t.id).filter((id) => id !== '');
      const names = new Map<string, { key_alias: string | null; key_name: string }>();
      for (let i = 0; i < ids.length; i += 500) {
        const rows = await g.store.db
          .selectFrom('keys')
          .select(['token', 'key_alias', 'key_name'])
          .where('token', 'in', ids.slice(i, i + 500))
          .execute();
        for (const r of rows) names.set(r.token, r);
      }
      return top.map((t) => ({
        api_key: t.id,
        key_alias: names.get(t.id)?.key_alias ?? null,
        key_name: names.get(t.id)?.key_name ?? null,
        total_spend: t.spend,
      }));
    },
  },
  {
    // the top models of the last 30 days: `[{model, total_spend}]`
    method: 'GET',
    path: '/global/spend/models',
    access: 'admin_read',
    async handle(g, call) {
      const top = await topEntities(g, 'model', last30Days(g), intParam(call.query, 'limit', undefined, 10_000));
      return top.map((t) => ({ model: t.id, total_spend: t.spend }));
    },
  },
  {
    // the last 30 days per team: `{daily_spend: [{date, <team>: spend}], teams, total_spend_per_team}`
    method: 'GET',
    path: '/global/spend/teams',
    access: 'admin_read',
    async handle(g) {
      const rows = await teamDays(g, last30Days(g));
      const aliases = await teamAliases(
        g,
        rows.map((r) => r.id),
      );
      const name = (id: string) => (id === '' ? 'Unassigned' : (aliases.get(id) ?? id));
      const byDate = new Map<string, Record<string, unknown>>();
      const totals = new Map<string, number>();
      for (const r of rows) {
        const n = name(r.id);
        const d = byDate.get(r.date) ?? { date: r.date };
        d[n] = Math.round(r.spend * 100) / 100;
        byDate.set(r.date, d);
        totals.set(n, (totals.get(n) ?? 0) + r.spend);
      }
      const top = [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10);
      return {
        daily_spend: [...byDate.values()],
        teams: [...totals.keys()],
        total_spend_per_team: top.map(([team_id, total_spend]) => ({ team_id, total_spend })),
      };
    },
  },
];
