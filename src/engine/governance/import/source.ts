/**
 * The LiteLLM database an import reads: its Postgres, with the tables LiteLLM's Prisma schema creates
 * (`"LiteLLM_VerificationToken"` and friends, in the schema a `?schema=` URL parameter names, as Prisma
 * reads it, else the connection's search_path). Read only: nothing here writes to it.
 */
import type { Pool } from 'pg';
import { publicDbUrl, StoreError } from '../db/open.js';

/** The tables an import reads; every LiteLLM release since teams and end users has them all. */
export const REQUIRED_TABLES = [
  'LiteLLM_VerificationToken',
  'LiteLLM_UserTable',
  'LiteLLM_TeamTable',
  'LiteLLM_TeamMembership',
  'LiteLLM_BudgetTable',
  'LiteLLM_EndUserTable',
  'LiteLLM_OrganizationTable',
  'LiteLLM_SpendLogs',
] as const;
/**
 * Read when present: the old hashes still inside their grace period after a /key/regenerate, and the daily
 * rollups (newer releases), which still hold the days LiteLLM's log retention deleted from the spend logs.
 */
export const OPTIONAL_TABLES = [
  'LiteLLM_DeprecatedVerificationToken',
  'LiteLLM_DailyUserSpend',
  'LiteLLM_DailyTeamSpend',
  'LiteLLM_DailyOrganizationSpend',
  'LiteLLM_DailyEndUserSpend',
  'LiteLLM_DailyTagSpend',
] as const;

export type SourceTable = (typeof REQUIRED_TABLES)[number] | (typeof OPTIONAL_TABLES)[number];

/** A row as node-postgres returns it (timestamps as epoch ms, bigints as numbers, Json parsed, arrays as arrays). */
export type SourceRow = Record<string, unknown>;

export interface LiteLLMSource {
  /** the URL without its password */
  readonly where: string;
  /** the tables present (required ones always are once `openLiteLLMSource` returned) */
  readonly tables: ReadonlySet<SourceTable>;
  count(table: SourceTable): Promise<number>;
  /** every row of `table`, in pages ordered by its primary key (keyset paging: stable under a large table);
   *  the spend logs by start time, then request id */
  rows(table: SourceTable, pageSize?: number): AsyncGenerator<SourceRow[]>;
  close(): Promise<void>;
}

/** The primary key each table is paged by (the spend logs: their time first). */
const PAGE_KEY: Record<SourceTable, readonly string[]> = {
  LiteLLM_VerificationToken: ['token'],
  LiteLLM_UserTable: ['user_id'],
  LiteLLM_TeamTable: ['team_id'],
  LiteLLM_TeamMembership: ['user_id', 'team_id'],
  LiteLLM_BudgetTable: ['budget_id'],
  LiteLLM_EndUserTable: ['user_id'],
  LiteLLM_OrganizationTable: ['organization_id'],
  // in time order (LiteLLM indexes (startTime, request_id)): a day's rollups are complete once it is passed
  LiteLLM_SpendLogs: ['startTime', 'request_id'],
  LiteLLM_DeprecatedVerificationToken: ['token'],
  LiteLLM_DailyUserSpend: ['id'],
  LiteLLM_DailyTeamSpend: ['id'],
  LiteLLM_DailyOrganizationSpend: ['id'],
  LiteLLM_DailyEndUserSpend: ['id'],
  LiteLLM_DailyTagSpend: ['id'],
};

const INT8 = 20;
const TIMESTAMP = 1114;
const TIMESTAMPTZ = 1184;
const SAFE_SCHEMA = /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/;

/**
 * Connect to a LiteLLM database and check it is one. Throws a StoreError naming the database (never its
 * password) when it cannot be reached, or naming the first missing table when it is not LiteLLM's.
 */
export async function openLiteLLMSource(url: string): Promise<LiteLLMSource> {
  if (!/^postgres(ql)?:\/\//i.test(url))
    throw new StoreError(`the LiteLLM database must be a postgresql:// URL (got ${publicDbUrl(url).slice(0, 40)})`);
  const where = publicDbUrl(url);
  // Prisma's `?schema=` names the schema LiteLLM's tables live in; node-postgres does not know it
  const u = new URL(url);
  const schema = u.searchParams.get('schema') ?? undefined;
  u.searchParams.delete('schema');
  if (schema !== undefined && !SAFE_SCHEMA.test(schema))
    throw new StoreError(`invalid schema ${JSON.stringify(schema)} in the LiteLLM database URL ${where}`);
  const pg = (await import('pg')).default;
  const pool: Pool = new pg.Pool({
    connectionString: u.toString(),
    max: 2,
    // Prisma's DateTime is `timestamp(3)` without a zone, written in UTC: read it as UTC whatever TZ says
    types: {
      getTypeParser: (oid, format) => {
        if (oid === INT8) return Number;
        if (oid === TIMESTAMP) return (s: string) => Date.parse(`${s.replace(' ', 'T')}Z`);
        if (oid === TIMESTAMPTZ) return (s: string) => Date.parse(s);
        return pg.types.getTypeParser(oid, format);
      },
    },
    ...(schema ? { options: `-c search_path="${schema}"` } : {}),
  });
  pool.on('error', () => {});
  let found: Set<string>;
  let inSchema: string;
  try {
    const r = await pool.query<{ s: string | null }>('SELECT current_schema() AS s');
    inSchema = r.rows[0]?.s ?? schema ?? 'public';
    const t = await pool.query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()',
    );
    found = new Set(t.rows.map((x) => x.table_name));
  } catch (e) {
    await pool.end();
    throw new StoreError(`cannot reach the LiteLLM database at ${where}: ${(e as Error).message}`);
  }
  const missing = REQUIRED_TABLES.find((t) => !found.has(t));
  if (missing) {
    await pool.end();
    throw new StoreError(
      `${where} is not a LiteLLM database: table "${missing}" is missing from schema ${inSchema}` +
        ' (add ?schema=<name> to the URL when LiteLLM uses another schema)',
    );
  }
  const tables = new Set<SourceTable>([...REQUIRED_TABLES, ...OPTIONAL_TABLES.filter((t) => found.has(t))]);
  return {
    where,
    tables,
    async count(table) {
      const r = await pool.query<{ n: number }>(`SELECT count(*)::int8 AS n FROM "${table}"`);
      return r.rows[0]?.n ?? 0;
    },
    async *rows(table, pageSize = 1000) {
      const key = PAGE_KEY[table];
      const cols = key.map((k) => `"${k}"`).join(', ');
      let after: unknown[] | undefined;
      for (;;) {
        const params: unknown[] = after ? [...after] : [];
        const where = after ? `WHERE (${cols}) > (${key.map((_, i) => `$${i + 1}`).join(', ')})` : '';
        const r = await pool.query<SourceRow>(
          `SELECT * FROM "${table}" ${where} ORDER BY ${cols} LIMIT ${Math.max(1, pageSize)}`,
          params,
        );
        if (r.rows.length === 0) return;
        yield r.rows;
        if (r.rows.length < pageSize) return;
        const last = r.rows[r.rows.length - 1]!;
        // a time read as epoch ms goes back as the UTC timestamp it was (Prisma's columns have no zone)
        after = key.map((k) => (k === 'startTime' ? new Date(last[k] as number).toISOString().slice(0, -1) : last[k]));
      }
    },
    close: () => pool.end(),
  };
}
