/**
 * Bulk upserts into our store, inside one transaction. An import writes hundreds of thousands of rows (a
 * spend log and seven rollups per request), so neither dialect goes through the query builder per row:
 * SQLite runs one prepared statement per row on its synchronous handle (no SQL text to build or parse
 * again), Postgres sends a few thousand rows per statement as one array per column (`unnest`), so a
 * statement's size is its column count, not rows x columns parameters.
 */
import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { GovernanceDb } from '../db/open.js';
import type { GovernanceTables } from '../db/schema.js';

/** Write rows into one of our tables: insert, or on a primary-key conflict set every other column. */
export interface Sink {
  put(table: string, rows: readonly object[]): Promise<void>;
}

/** Each table's conflict target: its primary key (the rollups: their unique columns). */
const CONFLICT: Record<string, readonly string[]> = {
  keys: ['token'],
  deprecated_keys: ['token'],
  users: ['user_id'],
  teams: ['team_id'],
  team_members: ['team_id', 'user_id'],
  budgets: ['budget_id'],
  end_users: ['user_id'],
  organizations: ['organization_id'],
  spend_logs: ['request_id'],
  daily_spend: ['entity_type', 'entity_id', 'date', 'api_key', 'model', 'custom_llm_provider', 'endpoint'],
};

const q = (name: string) => `"${name}"`;

function upsertSql(table: string, cols: readonly string[], values: string): string {
  const pk = CONFLICT[table];
  if (!pk) throw new Error(`no conflict target for ${table}`);
  const set = cols.filter((c) => !pk.includes(c)).map((c) => `${q(c)} = excluded.${q(c)}`);
  return (
    `INSERT INTO ${q(table)} (${cols.map(q).join(', ')}) ${values} ` +
    `ON CONFLICT (${pk.map(q).join(', ')}) DO UPDATE SET ${set.join(', ')}`
  );
}

/** Run `fn` with a sink into `dest`, in one transaction: committed when it resolves, rolled back if it throws. */
export async function inTransaction<T>(dest: GovernanceDb, fn: (sink: Sink) => Promise<T>): Promise<T> {
  if (dest.sqlite) {
    const db = dest.sqlite;
    const statements = new Map<string, ReturnType<typeof db.prepare>>();
    const sink: Sink = {
      async put(table, rows) {
        if (rows.length === 0) return;
        const cols = Object.keys(rows[0]!);
        const id = `${table}\n${cols.join(',')}`;
        let st = statements.get(id);
        if (!st) {
          st = db.prepare(upsertSql(table, cols, `VALUES (${cols.map(() => '?').join(', ')})`));
          statements.set(id, st);
        }
        for (const row of rows) {
          const r = row as Record<string, unknown>;
          st.run(cols.map((c) => r[c] ?? null));
        }
      },
    };
    db.exec('BEGIN IMMEDIATE');
    try {
      const out = await fn(sink);
      db.exec('COMMIT');
      return out;
    } catch (e) {
      db.exec('ROLLBACK');
      throw e;
    }
  }
  return (dest.db as Kysely<GovernanceTables>).transaction().execute(async (trx) => fn(pgSink(trx)));
}

/** Postgres's array type for each of our column types. */
const ARRAY_OF: Record<string, string> = {
  bigint: 'int8[]',
  integer: 'int4[]',
  'double precision': 'float8[]',
  text: 'text[]',
};

const PG_CHUNK = 5000;

function pgSink(trx: Transaction<GovernanceTables>): Sink {
  const types = new Map<string, Map<string, string>>();
  const columnTypes = async (table: string) => {
    let t = types.get(table);
    if (!t) {
      const r = await trx.executeQuery<{ column_name: string; data_type: string }>(
        CompiledQuery.raw(
          'SELECT column_name, data_type FROM information_schema.columns ' +
            'WHERE table_schema = current_schema() AND table_name = $1',
          [table],
        ),
      );
      t = new Map(r.rows.map((c) => [c.column_name, c.data_type]));
      types.set(table, t);
    }
    return t;
  };
  return {
    async put(table, rows) {
      if (rows.length === 0) return;
      const cols = Object.keys(rows[0]!);
      const t = await columnTypes(table);
      const arrays = cols.map((c) => ARRAY_OF[t.get(c) ?? ''] ?? 'text[]');
      const text = upsertSql(
        table,
        cols,
        `SELECT * FROM unnest(${arrays.map((a, i) => `$${i + 1}::${a}`).join(', ')})`,
      );
      for (let i = 0; i < rows.length; i += PG_CHUNK) {
        const chunk = rows.slice(i, i + PG_CHUNK) as Record<string, unknown>[];
        const params = cols.map((c, j) => {
          const whole = arrays[j] === 'int8[]' || arrays[j] === 'int4[]';
          return chunk.map((r) => {
            const v = r[c] ?? null;
            // an integer column given a fraction (a LiteLLM Float where ours is BigInt) rounds, as a cast would
            return whole && typeof v === 'number' && !Number.isInteger(v) ? Math.round(v) : v;
          });
        });
        await trx.executeQuery(CompiledQuery.raw(text, params));
      }
    },
  };
}
