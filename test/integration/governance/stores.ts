/**
 * The stores every governance test runs against: SQLite (a temp file) and the machine's Postgres
 * (127.0.0.1:5432, database `test`), each test file in its own Postgres schema so files running in
 * parallel never see each other's rows. `describe.each(STORES)` parametrizes a suite over them.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type GovernanceDb, openGovernanceDb } from '../../../src/engine/governance/db/open.js';
import { loadNodeSqlite, type SqliteDriverName } from '../../../src/engine/governance/db/sqlite.js';

export type StoreKind = 'sqlite' | 'node:sqlite' | 'postgres';

/** node:sqlite is built into Node from 22.13 (unflagged); on Node 20 the store has better-sqlite3 alone */
export const HAS_NODE_SQLITE = loadNodeSqlite() !== undefined;

/**
 * SQLite through better-sqlite3, Postgres, and where this Node has it SQLite through node:sqlite (the driver a
 * global install without better-sqlite3 falls back to: the store's suites pass on it too). On Node 20 the
 * node:sqlite suites are left out; sqlite-driver.test.ts says so in a skipped suite.
 */
export const STORES: StoreKind[] = ['sqlite', 'postgres', ...(HAS_NODE_SQLITE ? (['node:sqlite'] as const) : [])];

/** the SQLite kinds (a file on disk), whichever driver opens it */
export const isSqlite = (kind: StoreKind): boolean => kind !== 'postgres';

/** The test Postgres (override with KUBIYA_TEST_DATABASE_URL). */
export const TEST_PG_URL = process.env.KUBIYA_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

export interface TestStore {
  kind: StoreKind;
  /** what to hand an engine: `{url, schema}` for Postgres, `{path, sqliteDriver}` for SQLite */
  options: { url?: string; path?: string; schema?: string; sqliteDriver?: SqliteDriverName };
  /** for an engine started through its config/env: DATABASE_URL with the schema as search_path */
  databaseUrl?: string;
  /** open a (migrated) connection to this store */
  open(): Promise<GovernanceDb>;
  /** drop the schema / delete the file */
  cleanup(): Promise<void>;
}

/** A fresh, empty store of `kind` (a new schema or a new file). */
export async function testStore(kind: StoreKind): Promise<TestStore> {
  if (kind === 'postgres') {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const options = { url: TEST_PG_URL, schema };
    // created up front, as a real deployment's database exists before its engines start
    const admin = new pg.Client({ connectionString: TEST_PG_URL });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } finally {
      await admin.end();
    }
    const u = new URL(TEST_PG_URL);
    u.searchParams.set('options', `-c search_path=${schema}`);
    return {
      kind,
      options,
      databaseUrl: u.toString(),
      open: () => openGovernanceDb(options),
      async cleanup() {
        const c = new pg.Client({ connectionString: TEST_PG_URL });
        await c.connect();
        try {
          await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        } finally {
          await c.end();
        }
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'kubiya-db-'));
  const options = {
    path: join(dir, 'governance.db'),
    sqliteDriver: kind === 'node:sqlite' ? ('node:sqlite' as const) : ('better-sqlite3' as const),
  };
  return {
    kind,
    options,
    open: () => openGovernanceDb(options),
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
