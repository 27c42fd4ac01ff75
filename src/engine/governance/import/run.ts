/**
 * Copy a LiteLLM database into our store: keys (their sha256 hashes, so every key keeps working), users,
 * teams and their members, budgets, end users, organisations, spend logs, and the daily rollups: rebuilt
 * from those logs for the days they cover, copied from LiteLLM's own daily tables for the days they do not.
 * One transaction on the destination: an import that fails leaves the store as it was.
 *
 * Re-running is an upsert keyed by each table's primary key (the rollups by their unique columns): for a
 * row present on both sides LiteLLM's values win for every column the import writes, rows only in our
 * store are left alone, and nothing is ever duplicated. So import before pointing traffic at our engine
 * (or again just before, to pick up the last spend): a re-import after our engine has served a key resets
 * that key's spend counters to LiteLLM's figures.
 */
import type { GovernanceDb } from '../db/open.js';
import type { DailySpendTable, NewSpendLogRow } from '../db/schema.js';
import { addDelta, forEachEntity, type RollupBase, rollupId, utcDay } from '../spend/row.js';
import {
  budgetRow,
  dailyRow,
  deprecatedKeyRow,
  endUserRow,
  keyRow,
  orgRow,
  routeOf,
  spendLogRow,
  teamMemberRows,
  teamRow,
  userRow,
} from './map.js';
import type { LiteLLMSource, SourceRow, SourceTable } from './source.js';
import { inTransaction, type Sink } from './write.js';

/** Rows written (or, in a dry run, that would be) per destination table. */
export interface ImportCounts {
  keys: number;
  deprecated_keys: number;
  users: number;
  teams: number;
  team_members: number;
  budgets: number;
  end_users: number;
  organizations: number;
  spend_logs: number;
  daily_spend: number;
}

export interface ImportOptions {
  /** read and map everything, write nothing (the destination may be undefined) */
  dryRun?: boolean;
  /** the time stamped on rows LiteLLM keeps no time for */
  now?: number;
  /** rows read per page from the source (default 1000, the spend logs 2000) */
  pageSize?: number;
}

/** LiteLLM's daily rollup tables: our entity type for each, and the column naming the entity. */
const DAILY_TABLES: readonly [SourceTable, string, string][] = [
  ['LiteLLM_DailyUserSpend', 'user', 'user_id'],
  ['LiteLLM_DailyTeamSpend', 'team', 'team_id'],
  ['LiteLLM_DailyOrganizationSpend', 'org', 'organization_id'],
  ['LiteLLM_DailyEndUserSpend', 'end_user', 'end_user_id'],
  ['LiteLLM_DailyTagSpend', 'tag', 'tag'],
];

/** Import `source` into `dest`. Throws (having written nothing) when a read or write fails. */
export async function importLiteLLM(
  source: LiteLLMSource,
  dest: GovernanceDb | undefined,
  opts: ImportOptions = {},
): Promise<ImportCounts> {
  const now = opts.now ?? Date.now();
  const page = opts.pageSize ?? 1000;
  const run = async (sink: Sink | undefined): Promise<ImportCounts> => {
    const counts: ImportCounts = {
      keys: 0,
      deprecated_keys: 0,
      users: 0,
      teams: 0,
      team_members: 0,
      budgets: 0,
      end_users: 0,
      organizations: 0,
      spend_logs: 0,
      daily_spend: 0,
    };
    const put = async <T extends keyof ImportCounts>(table: T, rows: readonly object[]) => {
      counts[table] += rows.length;
      if (sink) await sink.put(table, rows);
    };
    const each = async <T extends keyof ImportCounts>(
      from: Parameters<LiteLLMSource['rows']>[0],
      table: T,
      map: (r: SourceRow, now: number) => object,
    ) => {
      for await (const rows of source.rows(from, page))
        await put(
          table,
          rows.map((r) => map(r, now)),
        );
    };
    // budgets first: keys, memberships, end users and orgs point at them
    await each('LiteLLM_BudgetTable', 'budgets', budgetRow);
    await each('LiteLLM_OrganizationTable', 'organizations', orgRow);
    await each('LiteLLM_UserTable', 'users', userRow);
    const memberships = new Map<string, SourceRow[]>();
    for await (const rows of source.rows('LiteLLM_TeamMembership', page))
      for (const m of rows) {
        const list = memberships.get(String(m.team_id));
        if (list) list.push(m);
        else memberships.set(String(m.team_id), [m]);
      }
    for await (const rows of source.rows('LiteLLM_TeamTable', page)) {
      await put(
        'teams',
        rows.map((r) => teamRow(r, now)),
      );
      await put(
        'team_members',
        rows.flatMap((r) => teamMemberRows(r, memberships.get(String(r.team_id)) ?? [], now)),
      );
    }
    await each('LiteLLM_EndUserTable', 'end_users', endUserRow);
    await each('LiteLLM_VerificationToken', 'keys', keyRow);
    if (source.tables.has('LiteLLM_DeprecatedVerificationToken'))
      await each('LiteLLM_DeprecatedVerificationToken', 'deprecated_keys', deprecatedKeyRow);
    const rollups = new Map<string, DailySpendTable>();
    const logDays = new Set<string>();
    for await (const rows of source.rows('LiteLLM_SpendLogs', opts.pageSize ?? 2000)) {
      const logs = rows.map(spendLogRow);
      for (const log of logs) {
        logDays.add(utcDay(log.start_time));
        addLog(rollups, log);
      }
      await put('spend_logs', logs);
      // the logs come in time order: days before this page's last are complete, so they leave memory now
      const through = utcDay(logs[logs.length - 1]!.start_time);
      const done: DailySpendTable[] = [];
      for (const [id, r] of rollups)
        if (r.date < through) {
          done.push(r);
          rollups.delete(id);
        }
      await put('daily_spend', done);
    }
    // days with no log left (LiteLLM's retention deleted them) come from its own rollups, when it has them
    for (const [table, type, idColumn] of DAILY_TABLES) {
      if (!source.tables.has(table)) continue;
      for await (const rows of source.rows(table, page))
        for (const r of rows) {
          const d = dailyRow(r, type, idColumn);
          if (!d || logDays.has(d.date)) continue;
          merge(rollups, d);
          // LiteLLM keeps no key or model rollup; its user rows name each request's key and model
          if (type === 'user') {
            merge(rollups, { ...d, entity_type: 'key', entity_id: d.api_key });
            merge(rollups, { ...d, entity_type: 'model', entity_id: d.model_group || d.model });
          }
        }
    }
    await put('daily_spend', [...rollups.values()]);
    return counts;
  };
  if (opts.dryRun || !dest) return run(undefined);
  return inTransaction(dest, run);
}

/** Add one imported log to the rollups, as the spend writer adds a call (spend/row.ts forEachEntity). */
function addLog(into: Map<string, DailySpendTable>, log: NewSpendLogRow): void {
  const ok = log.status === 'success';
  const base: RollupBase = {
    date: utcDay(log.start_time),
    api_key: log.api_key ?? '',
    model: log.model ?? '',
    model_group: log.model_group ?? '',
    custom_llm_provider: log.custom_llm_provider ?? '',
    endpoint: routeOf(log.call_type),
    prompt_tokens: log.prompt_tokens ?? 0,
    completion_tokens: log.completion_tokens ?? 0,
    cache_read_input_tokens: log.cache_read_input_tokens ?? 0,
    cache_creation_input_tokens: log.cache_creation_input_tokens ?? 0,
    spend: log.spend ?? 0,
    api_requests: 1,
    successful_requests: ok ? 1 : 0,
    failed_requests: ok ? 0 : 1,
  };
  let tags: unknown = [];
  try {
    tags = JSON.parse(log.request_tags ?? '[]');
  } catch {}
  const who = { userId: log.user_id, teamId: log.team_id, endUserId: log.end_user, orgId: log.organization_id };
  const tagList = Array.isArray(tags) ? new Set(tags.filter((t): t is string => typeof t === 'string')) : [];
  forEachEntity(base, who, log.model_group || base.model, tagList, (id, entity_type, entity_id, b) => {
    const have = into.get(id);
    if (have) addDelta(have, b);
    else into.set(id, { ...b, entity_type, entity_id });
  });
}

function merge(into: Map<string, DailySpendTable>, r: DailySpendTable): void {
  const id = rollupId(r);
  const have = into.get(id);
  if (have) addDelta(have, r);
  else into.set(id, { ...r });
}
