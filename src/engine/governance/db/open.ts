/**
 * Open the governance database: SQLite in a file (the default: nothing to set up) or Postgres (shared by
 * any number of engines). Both behind one Kysely<GovernanceTables>; SQLite also exposes its synchronous
 * handle so hot-path statements (a budget reservation) can run without a promise.
 */
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import type { Pool } from 'pg';
import { migrateToLatest, pendingMigrations } from './migrations.js';
import { isBusy, whileLocked } from './no-wait.js';
import type { GovernanceTables } from './schema.js';
import { loadSqlite, type SqliteDatabase, type SqliteDriverName } from './sqlite.js';
import { StoreError } from './store-error.js';

export interface GovernanceDbOptions {
  /** `postgresql://...` / `postgres://...`: Postgres; absent: SQLite at `path` */
  url?: string;
  /** the SQLite file (created 0600 with its directory); `:memory:` for a throwaway database */
  path?: string;
  /** apply pending migrations at open (default true); false: refuse to start if any is pending */
  migrate?: boolean;
  /** Postgres: the schema to use (created if missing); tests give each file its own */
  schema?: string;
  /** Postgres pool size (LiteLLM's database_connection_pool_limit, default 10) */
  poolSize?: number;
  /**
   * SQLite: the driver (default: better-sqlite3 when installed, else Node's node:sqlite); the tests name one to run
   * the store's suites on each
   */
  sqliteDriver?: SqliteDriverName;
  /** SQLite: how long to wait for another process's lock on the file while opening it (default 5 s) */
  lockWaitMs?: number;
}

export interface GovernanceDb {
  readonly db: Kysely<GovernanceTables>;
  readonly dialect: 'sqlite' | 'postgres';
  /** where it lives, for logs and errors: the file, or the URL without its password */
  readonly where: string;
  /** Postgres: the schema the tables are in (current_schema()) */
  readonly schema?: string;
  /** SQLite only: the synchronous handle (prepared statements on the hot path) */
  readonly sqlite?: SqliteDatabase;
  /** SQLite only: which driver opened it */
  readonly sqliteDriver?: SqliteDriverName;
  /** migrations applied by this open */
  readonly applied: readonly string[];
  close(): Promise<void>;
}

export { StoreError };

const PG_URL = /^postgres(ql)?:\/\//i;
const INT8_OID = 20;
const SAFE_SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

/** `postgresql://user:secret@host/db` -> `postgresql://user:***@host/db` (never log a password). */
export function publicDbUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}

// the SQLite driver's loader (better-sqlite3, else node:sqlite), also `kubiya doctor`'s check
export { loadSqlite };

/** Open (and by default migrate) the store. Throws an Error whose message names the database and the cause. */
export async function openGovernanceDb(opts: GovernanceDbOptions): Promise<GovernanceDb> {
  const isPg = opts.url !== undefined && PG_URL.test(opts.url);
  if (opts.url !== undefined && !isPg)
    throw new StoreError(`database_url must be a postgresql:// URL (got ${publicDbUrl(opts.url).slice(0, 40)})`);
  const where = isPg ? publicDbUrl(opts.url!) : (opts.path ?? ':memory:');
  let sqlite: SqliteDatabase | undefined;
  let sqliteDriver: SqliteDriverName | undefined;
  let db: Kysely<GovernanceTables>;
  // Postgres: the schema the tables live in (search_path's first)
  let schema: string | undefined;
  if (isPg) {
    if (opts.schema !== undefined && !SAFE_SCHEMA.test(opts.schema))
      throw new StoreError(`invalid Postgres schema name ${JSON.stringify(opts.schema)}`);
    // the Postgres driver loads only for a Postgres store
    const pg = (await import('pg')).default;
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 10,
      // bigint columns (epoch ms, token counts) come back as numbers: they stay far below 2^53
      types: { getTypeParser: (oid, format) => (oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format)) },
      ...(opts.schema ? { options: `-c search_path=${opts.schema}` } : {}),
    });
    // an idle client's error (the server restarted) must not crash the engine; the next query reconnects
    pool.on('error', () => {});
    db = new Kysely<GovernanceTables>({ dialect: new PostgresDialect({ pool }) });
    try {
      if (opts.schema) await createSchema(pool, opts.schema);
      schema = (await pool.query<{ s: string | null }>('SELECT current_schema() AS s')).rows[0]?.s ?? undefined;
    } catch (e) {
      await db.destroy();
      throw new StoreError(`cannot reach the database at ${where}: ${(e as Error).message}`);
    }
    if (!schema) {
      await db.destroy();
      throw new StoreError(`the database at ${where} has no schema to use (search_path names none that exists)`);
    }
  } else {
    const path = opts.path ?? ':memory:';
    if (path !== ':memory:') {
      try {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        // create it private before SQLite opens it (keys' hashes and spend live here)
        closeSync(openSync(path, 'a', 0o600));
        chmodSync(path, 0o600);
      } catch (e) {
        throw new StoreError(`cannot create the database file ${path}: ${(e as Error).message}`);
      }
    }
    const driver = await loadSqlite(opts.sqliteDriver);
    sqliteDriver = driver.name;
    try {
      sqlite = driver.open(path);
    } catch (e) {
      throw new StoreError(`cannot open the database file ${path}: ${(e as Error).message}`);
    }
    // WAL: readers never wait on the writer, and other engines on this machine can share the file
    await walMode(sqlite, path, opts.lockWaitMs ?? LOCK_WAIT_MS);
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    db = new Kysely<GovernanceTables>({ dialect: new SqliteDialect({ database: sqlite }) });
  }
  let applied: string[] = [];
  try {
    if (opts.migrate === false) {
      const pending = await pendingMigrations(db);
      if (pending.length > 0)
        throw new StoreError(
          `the database at ${where} is missing migrations ${pending.join(', ')} and migrations are turned off ` +
            '(--skip-migrations / DISABLE_SCHEMA_UPDATE): run `kubiya proxy migrate` first',
        );
    } else applied = await migrateToLatest(db, sqlite);
  } catch (e) {
    await db.destroy();
    throw e instanceof StoreError ? e : new StoreError(`the database at ${where}: ${(e as Error).message}`);
  }
  return {
    db,
    dialect: isPg ? 'postgres' : 'sqlite',
    where,
    schema,
    sqlite,
    sqliteDriver,
    applied,
    close: () => db.destroy(),
  };
}

const LOCK_WAIT_MS = 5000;

/**
 * `PRAGMA journal_mode = WAL`, waiting for the file's lock. A new file's switch takes its exclusive lock and SQLite
 * does not wait for that one (the busy timeout is not consulted): engines creating the same store at once (a
 * `--num_workers` cluster's workers) were refused with "database is locked". Retried off the event loop, every
 * few ms, for up to `waitMs`; a file already in WAL (every open after the first) takes no lock.
 */
async function walMode(sqlite: SqliteDatabase, path: string, waitMs: number): Promise<void> {
  try {
    await whileLocked(() => sqlite.pragma('journal_mode = WAL'), waitMs);
  } catch (e) {
    sqlite.close();
    const why = isBusy(e) ? `it stayed locked by another process for ${waitMs / 1000} s` : (e as Error).message;
    throw new StoreError(`cannot open the database file ${path}: ${why}`);
  }
}

/** CREATE SCHEMA IF NOT EXISTS, which still races with itself: a concurrent creator's win is fine. */
async function createSchema(pool: Pool, schema: string): Promise<void> {
  try {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== '23505' && code !== '42P06') throw e;
  }
}
