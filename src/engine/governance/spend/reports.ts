/**
 * The spend reports, in LiteLLM's response shapes. Every aggregate over a date range reads the daily rollups
 * (`daily_spend`: a few rows per key, model and day) and never scans `spend_logs`; only row listings and a
 * single request id read the logs, through their indexes.
 */
import { sql } from 'kysely';
import type { SpendLogRow } from '../db/schema.js';
import { parseJson } from '../db/schema.js';
import type { Governance } from '../governance.js';
import type { EntityType } from './row.js';

/** An inclusive range of UTC days, `YYYY-MM-DD`. */
export interface DayRange {
  start: string;
  end: string;
}

const DAY_MS = 86_400_000;
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v ?? 0));
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The days from `start` to `end`, both included. */
function daysOf(start: string, end: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${start}T00:00:00Z`); t <= Date.parse(`${end}T00:00:00Z`); t += DAY_MS)
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

/** Which logs a caller may see: every key (admins), or only these key hashes (internal users: their own). */
export type KeyScope = readonly string[] | undefined;

export interface LogFilter {
  /** key hash */
  apiKey?: string;
  userId?: string;
  requestId?: string;
  /** epoch ms, start inclusive, end exclusive */
  from?: number;
  to?: number;
  scope: KeyScope;
  limit: number;
}

/** One day of `/spend/logs?summarize=true`: `{startTime, spend, <api_key>: spend, users: {...}, models: {...}}`. */
export type SpendDay = Record<string, unknown> & {
  startTime: string;
  spend: number;
  users: Record<string, number>;
  models: Record<string, number>;
};

/** A spend_logs row as LiteLLM's `/spend/logs` returns it (its column names, times as ISO strings). */
export function logView(r: SpendLogRow): Record<string, unknown> {
  return {
    request_id: r.request_id,
    call_type: r.call_type,
    api_key: r.api_key,
    spend: r.spend,
    total_tokens: num(r.total_tokens),
    prompt_tokens: num(r.prompt_tokens),
    completion_tokens: num(r.completion_tokens),
    cache_read_input_tokens: num(r.cache_read_input_tokens),
    cache_creation_input_tokens: num(r.cache_creation_input_tokens),
    startTime: iso(r.start_time),
    endTime: iso(r.end_time),
    completionStartTime: iso(r.completion_start_time),
    request_duration_ms: r.request_duration_ms,
    model: r.model,
    model_id: r.model_id ?? '',
    model_group: r.model_group ?? '',
    custom_llm_provider: r.custom_llm_provider ?? '',
    api_base: r.api_base ?? '',
    user: r.user_id ?? '',
    team_id: r.team_id,
    organization_id: r.organization_id,
    end_user: r.end_user ?? '',
    key_alias: r.key_alias,
    metadata: parseJson(r.metadata, {}),
    request_tags: parseJson(r.request_tags, []),
    cache_hit: r.cache_hit ? 'True' : 'False',
    cache_key: '',
    status: r.status,
    http_status: r.http_status,
    principal: r.principal,
    messages: parseJson(r.messages, {}),
    response: parseJson(r.response, {}),
    session_id: r.session_id,
  };
}

/** Log rows matching `f`, newest first, at most `f.limit`. */
export async function logRows(g: Governance, f: LogFilter): Promise<SpendLogRow[]> {
  let q = g.store.db.selectFrom('spend_logs').selectAll();
  if (f.requestId !== undefined) q = q.where('request_id', '=', f.requestId);
  if (f.apiKey !== undefined) q = q.where('api_key', '=', f.apiKey);
  if (f.userId !== undefined) q = q.where('user_id', '=', f.userId);
  if (f.scope !== undefined) q = q.where('api_key', 'in', f.scope.length > 0 ? [...f.scope] : ['']);
  if (f.from !== undefined) q = q.where('start_time', '>=', f.from);
  if (f.to !== undefined) q = q.where('start_time', '<', f.to);
  return q.orderBy('start_time', 'desc').limit(f.limit).execute();
}

/**
 * `/spend/logs?summarize=true` over a day range, from the rollups: per day the total, each key's spend, the
 * users' and the models'. As LiteLLM, days after the last one with spend are listed with zeros up to the end.
 * The database builds each day's object (a month of 200 keys is 6,000 key entries: one string is cheaper to
 * hand over than as many rows).
 */
export async function summarizeDays(
  g: Governance,
  range: DayRange,
  f: { apiKey?: string; userId?: string; scope: KeyScope },
): Promise<SpendDay[]> {
  // the rows a filter by user reads are the user's own rollups; otherwise the keys'
  const base: EntityType = f.userId !== undefined ? 'user' : 'key';
  const where = (type: EntityType) => {
    const parts = [sql`entity_type = ${type}`, sql`date >= ${range.start}`, sql`date <= ${range.end}`];
    if (type === 'user') parts.push(f.userId !== undefined ? sql`entity_id = ${f.userId}` : sql`entity_id <> ''`);
    if (f.apiKey !== undefined) parts.push(sql`api_key = ${f.apiKey}`);
    if (f.scope !== undefined)
      parts.push(sql`api_key IN (${sql.join(f.scope.length > 0 ? f.scope.map((k) => sql`${k}`) : [sql`''`])})`);
    return sql.join(parts, sql` AND `);
  };
  const sums = (type: EntityType, col: 'api_key' | 'model' | 'entity_id') =>
    sql`SELECT date, ${sql.ref(col)} AS id, SUM(spend) AS s FROM daily_spend WHERE ${where(type)}
      GROUP BY date, ${sql.ref(col)}`;
  const ctes = sql`k AS (${sums(base, 'api_key')}), m AS (${sums(base, 'model')}), u AS (${sums('user', 'entity_id')})`;
  const q =
    g.store.dialect === 'sqlite'
      ? sql<{ out: string | null }>`WITH ${ctes},
          kd AS (SELECT date, SUM(s) AS total, json_group_object(id, s) AS keys FROM k GROUP BY date),
          md AS (SELECT date, json_group_object(id, s) AS models FROM m GROUP BY date),
          ud AS (SELECT date, json_group_object(id, s) AS users FROM u GROUP BY date)
        SELECT json_group_array(json(json_patch(json_object('startTime', kd.date, 'spend', kd.total,
            'users', json(COALESCE(ud.users, '{}')), 'models', json(COALESCE(md.models, '{}'))), kd.keys))
          ORDER BY kd.date) AS out
        FROM kd LEFT JOIN md ON md.date = kd.date LEFT JOIN ud ON ud.date = kd.date`
      : sql<{ out: string | null }>`WITH ${ctes},
          kd AS (SELECT date, SUM(s) AS total, jsonb_object_agg(id, s) AS keys FROM k GROUP BY date),
          md AS (SELECT date, jsonb_object_agg(id, s) AS models FROM m GROUP BY date),
          ud AS (SELECT date, jsonb_object_agg(id, s) AS users FROM u GROUP BY date)
        SELECT json_agg(jsonb_build_object('startTime', kd.date, 'spend', kd.total,
            'users', COALESCE(ud.users, '{}'::jsonb), 'models', COALESCE(md.models, '{}'::jsonb)) || kd.keys
          ORDER BY kd.date)::text AS out
        FROM kd LEFT JOIN md ON md.date = kd.date LEFT JOIN ud ON ud.date = kd.date`;
  const { rows } = await q.execute(g.store.db);
  const text = rows[0]?.out;
  const out = text ? (JSON.parse(text) as SpendDay[]) : [];
  if (out.length > 0) {
    const last = out[out.length - 1].startTime;
    for (const d of daysOf(last, range.end).slice(1)) out.push({ startTime: d, spend: 0, users: {}, models: {} });
  }
  return out;
}

/** The same per-day summary computed from log rows (a request id's row, or rows without a date range). */
export function summarizeRows(rows: readonly SpendLogRow[]): SpendDay[] {
  const days = new Map<string, SpendDay>();
  for (const r of rows) {
    const d = new Date(r.start_time).toISOString().slice(0, 10);
    let v = days.get(d);
    if (!v) days.set(d, (v = { startTime: d, spend: 0, users: {}, models: {} }));
    v.spend += r.spend;
    v[r.api_key] = num(v[r.api_key]) + r.spend;
    if (r.user_id) v.users[r.user_id] = (v.users[r.user_id] ?? 0) + r.spend;
    v.models[r.model] = (v.models[r.model] ?? 0) + r.spend;
  }
  return [...days.values()].sort((a, b) => (a.startTime < b.startTime ? -1 : 1));
}

interface GroupRow {
  date: string;
  entity_id: string;
  api_key: string;
  model: string;
  spend: number;
  prompt_tokens: number;
  completion_tokens: number;
}

/** Sum the rollups of one entity type over a range by (day, entity, key, model). */
async function grouped(
  g: Governance,
  type: EntityType,
  range: DayRange,
  where: { entityId?: string; apiKey?: string } = {},
): Promise<GroupRow[]> {
  let q = g.store.db
    .selectFrom('daily_spend')
    .select([
      'date',
      'entity_id',
      'api_key',
      'model',
      (eb) => eb.fn.sum<number>('spend').as('spend'),
      (eb) => eb.fn.sum<number>('prompt_tokens').as('prompt_tokens'),
      (eb) => eb.fn.sum<number>('completion_tokens').as('completion_tokens'),
    ])
    .where('entity_type', '=', type)
    .where('date', '>=', range.start)
    .where('date', '<=', range.end);
  if (where.entityId !== undefined) q = q.where('entity_id', '=', where.entityId);
  if (where.apiKey !== undefined) q = q.where('api_key', '=', where.apiKey);
  const rows = await q.groupBy(['date', 'entity_id', 'api_key', 'model']).execute();
  return rows.map((r) => ({
    ...r,
    spend: num(r.spend),
    prompt_tokens: num(r.prompt_tokens),
    completion_tokens: num(r.completion_tokens),
  }));
}

/** Team id -> alias (its id when it has none) for the teams among `ids`. */
export async function teamAliases(g: Governance, ids: readonly string[]): Promise<Map<string, string>> {
  const want = [...new Set(ids.filter((id) => id !== ''))];
  const out = new Map<string, string>();
  for (let i = 0; i < want.length; i += 500) {
    const teams = await g.store.db
      .selectFrom('teams')
      .select(['team_id', 'team_alias'])
      .where('team_id', 'in', want.slice(i, i + 500))
      .execute();
    for (const t of teams) out.set(t.team_id, t.team_alias ?? t.team_id);
  }
  return out;
}

/**
 * `/global/spend/report?group_by=team|customer`: per day, each team (by alias, else its id; 'Unassigned Team'
 * for calls without one) or customer (null: none) with its total and its spend per model and key. The database
 * builds the JSON itself: a month holds a metadata entry per (day, team, key, model), tens of thousands of
 * them, and one string costs far less to hand over than as many rows.
 */
export async function reportByDay(
  g: Governance,
  range: DayRange,
  by: 'team' | 'customer',
): Promise<Record<string, unknown>[]> {
  const type = by === 'team' ? 'team' : 'end_user';
  const cells = sql`SELECT date, entity_id, api_key, model, SUM(spend) AS s,
      SUM(prompt_tokens) + SUM(completion_tokens) AS tok
    FROM daily_spend WHERE entity_type = ${type} AND date >= ${range.start} AND date <= ${range.end}
    GROUP BY date, entity_id, api_key, model`;
  // a team's name: its alias, else its id; calls without a team: 'Unassigned Team' (LiteLLM's words)
  const name =
    by === 'team'
      ? sql`'team_name', COALESCE(t.team_alias, NULLIF(x.entity_id, ''), 'Unassigned Team')`
      : sql`'customer', NULLIF(x.entity_id, '')`;
  const join = by === 'team' ? sql`LEFT JOIN teams t ON t.team_id = x.entity_id` : sql``;
  const list = sql.lit(by === 'team' ? 'teams' : 'customers');
  const q =
    g.store.dialect === 'sqlite'
      ? sql<{ out: string | null }>`SELECT json_group_array(json(day) ORDER BY date) AS out FROM (
          SELECT date, json_object('group_by_day', date || 'T00:00:00+00:00', ${list},
            json_group_array(json(ent))) AS day
          FROM (
            SELECT x.date AS date, json_object(${name}, 'total_spend', SUM(x.s), 'metadata',
              json_group_array(json_object('model', x.model, 'api_key', x.api_key, 'spend', x.s,
                'total_tokens', x.tok))) AS ent
            FROM (${cells}) x ${join}
            GROUP BY x.date, x.entity_id
          ) y GROUP BY date
        ) z`
      : sql<{ out: string | null }>`SELECT json_agg(day ORDER BY date)::text AS out FROM (
          SELECT date, json_build_object('group_by_day', date || 'T00:00:00+00:00', ${list}, json_agg(ent)) AS day
          FROM (
            SELECT x.date AS date, json_build_object(${name}, 'total_spend', SUM(x.s), 'metadata',
              json_agg(json_build_object('model', x.model, 'api_key', x.api_key, 'spend', x.s,
                'total_tokens', x.tok))) AS ent
            FROM (${cells}) x ${join}
            GROUP BY x.date, x.entity_id${by === 'team' ? sql`, t.team_alias` : sql``}
          ) y GROUP BY date
        ) z`;
  const { rows } = await q.execute(g.store.db);
  const out = rows[0]?.out;
  return out ? (JSON.parse(out) as Record<string, unknown>[]) : [];
}

/**
 * `/global/spend/report?group_by=api_key` (and `api_key=` / `internal_user_id=`): per key, its cost and
 * tokens, and the same per model; highest cost first.
 */
export async function reportByKey(
  g: Governance,
  range: DayRange,
  where: { apiKey?: string; userId?: string } = {},
): Promise<Record<string, unknown>[]> {
  const rows =
    where.userId !== undefined
      ? await grouped(g, 'user', range, { entityId: where.userId })
      : await grouped(g, 'key', range, { entityId: where.apiKey });
  const keys = new Map<string, Map<string, { cost: number; input: number; output: number }>>();
  for (const r of rows) {
    let k = keys.get(r.api_key);
    if (!k) keys.set(r.api_key, (k = new Map()));
    const m = k.get(r.model) ?? { cost: 0, input: 0, output: 0 };
    m.cost += r.spend;
    m.input += r.prompt_tokens;
    m.output += r.completion_tokens;
    k.set(r.model, m);
  }
  const out = [...keys.entries()].map(([api_key, models]) => {
    const details = [...models.entries()].map(([model, m]) => ({
      model,
      total_cost: m.cost,
      total_input_tokens: m.input,
      total_output_tokens: m.output,
    }));
    return {
      api_key,
      total_cost: details.reduce((s, d) => s + d.total_cost, 0),
      total_input_tokens: details.reduce((s, d) => s + d.total_input_tokens, 0),
      total_output_tokens: details.reduce((s, d) => s + d.total_output_tokens, 0),
      model_details: details,
    };
  });
  return out.sort((a, b) => b.total_cost - a.total_cost);
}

/** Total spend per entity of `type` over a range, highest first (the `/global/spend/*` top lists). */
export async function topEntities(
  g: Governance,
  type: EntityType,
  range: DayRange,
  limit?: number,
): Promise<{ id: string; spend: number; requests: number }[]> {
  let q = g.store.db
    .selectFrom('daily_spend')
    .select([
      'entity_id',
      (eb) => eb.fn.sum<number>('spend').as('spend'),
      (eb) => eb.fn.sum<number>('api_requests').as('requests'),
    ])
    .where('entity_type', '=', type)
    .where('date', '>=', range.start)
    .where('date', '<=', range.end)
    .groupBy('entity_id')
    .orderBy(sql`2`, 'desc');
  if (limit !== undefined) q = q.limit(limit);
  const rows = await q.execute();
  return rows.map((r) => ({ id: r.entity_id, spend: num(r.spend), requests: num(r.requests) }));
}

/** Spend per team per day over a range (the `/global/spend/teams` chart). */
export async function teamDays(g: Governance, range: DayRange): Promise<{ date: string; id: string; spend: number }[]> {
  const rows = await g.store.db
    .selectFrom('daily_spend')
    .select(['date', 'entity_id', (eb) => eb.fn.sum<number>('spend').as('spend')])
    .where('entity_type', '=', 'team')
    .where('date', '>=', range.start)
    .where('date', '<=', range.end)
    .groupBy(['date', 'entity_id'])
    .orderBy('date')
    .execute();
  return rows.map((r) => ({ date: r.date, id: r.entity_id, spend: num(r.spend) }));
}
