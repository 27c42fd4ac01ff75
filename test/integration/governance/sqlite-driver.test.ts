/**
 * The SQLite drivers of the governance store: better-sqlite3 and Node's node:sqlite behind the adapter in
 * db/sqlite.ts. The store's own suites run on both (stores.ts); this file covers what those cannot see: the
 * connection's settings, the adapter on the Node 22.13-22.15 API (no columns(), no isTransaction), SQLITE_BUSY as
 * node:sqlite reports it, and the ExperimentalWarning that loading node:sqlite prints.
 */
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Sqlite from 'better-sqlite3';
import { CompiledQuery, Kysely, SqliteDialect } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { isBusy, noWait } from '../../../src/engine/governance/db/no-wait.js';
import type { GovernanceDb } from '../../../src/engine/governance/db/open.js';
import { loadNodeSqlite, looksLikeReader, NodeSqlite } from '../../../src/engine/governance/db/sqlite.js';
import { HAS_NODE_SQLITE, type StoreKind, type TestStore, testStore } from './stores.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');

// statements of the shapes the store sends (kysely's compiled ones, and the hot path's own)
const STATEMENTS = [
  'select "token", "spend" from "keys" where "token" = ?',
  'SELECT * FROM end_users WHERE user_id = ?',
  '  /* a comment */ select 1',
  '-- a comment\nSELECT 1',
  'with t as (select 1 as a) select a from t',
  'values (1)',
  'PRAGMA journal_mode',
  'PRAGMA busy_timeout = 0',
  'insert into "keys" ("token") values (?)',
  'insert into "keys" ("token") values (?) returning "token"',
  'update "keys" set "spend" = "spend" + ? where "token" = ? returning "spend"',
  'update "keys" set "spend" = "spend" + ? where "token" = ?',
  'delete from "keys" where "token" = ?',
  'INSERT INTO budgets (budget_id) VALUES (?) ON CONFLICT (budget_id) DO UPDATE SET max_budget = excluded.max_budget',
  'create table if not exists "kubiya_migration" ("name" text primary key)',
  'begin',
  'BEGIN IMMEDIATE',
  'commit',
];

describe('whether a statement returns rows, without StatementSync.columns() (Node 22.13-22.15)', () => {
  it("agrees with better-sqlite3's reader on the statements the store sends", () => {
    const db = new Sqlite(':memory:');
    db.exec('CREATE TABLE keys (token TEXT PRIMARY KEY, spend REAL); CREATE TABLE end_users (user_id TEXT)');
    db.exec('CREATE TABLE budgets (budget_id TEXT PRIMARY KEY, max_budget REAL)');
    const got = STATEMENTS.map((s) => [s, looksLikeReader(s)]);
    // a PRAGMA that sets is the one place it errs, towards "reader", which is safe: all() still runs it
    const want = STATEMENTS.map((s) => [s, db.prepare(s).reader || s === 'PRAGMA busy_timeout = 0']);
    db.close();
    expect(got).toEqual(want);
  });
});

describe.skipIf(!HAS_NODE_SQLITE)(
  `node:sqlite (Node 22.13+${HAS_NODE_SQLITE ? '' : `: ${process.version} has none`})`,
  () => {
    const stores: TestStore[] = [];
    afterEach(async () => {
      for (const s of stores.splice(0)) await s.cleanup();
    });
    const open = async (kind: StoreKind): Promise<[GovernanceDb, TestStore]> => {
      const store = await testStore(kind);
      stores.push(store);
      return [await store.open(), store];
    };

    it('opens the file as better-sqlite3 does: 0600, WAL, NORMAL sync, 5 s busy timeout, foreign keys on', async () => {
      const settings = [];
      for (const kind of ['sqlite', 'node:sqlite'] as const) {
        const [g, store] = await open(kind);
        const p = (name: string) => g.sqlite!.pragma(name, { simple: true });
        settings.push({
          driver: g.sqliteDriver,
          mode: statSync(store.options.path!).mode & 0o777,
          journal: p('journal_mode'),
          synchronous: p('synchronous'),
          busy: p('busy_timeout'),
          fk: p('foreign_keys'),
        });
        await g.close();
      }
      const same = { mode: 0o600, journal: 'wal', synchronous: 1, busy: 5000, fk: 1 };
      expect(settings).toEqual([
        { driver: 'better-sqlite3', ...same },
        { driver: 'node:sqlite', ...same },
      ]);
    });

    it('a second connection finds the file locked: SQLITE_BUSY at once with the busy timeout off', async () => {
      const [g, store] = await open('node:sqlite');
      // another engine's connection to the same file
      const other = await store.open();
      other.sqlite!.exec('BEGIN IMMEDIATE');
      const t0 = Date.now();
      let err: unknown;
      try {
        noWait(g.sqlite!, () => g.sqlite!.exec('BEGIN IMMEDIATE'));
      } catch (e) {
        err = e;
      }
      expect(Date.now() - t0).toBeLessThan(1000);
      expect((err as Error).message).toMatch(/database is locked/);
      expect(isBusy(err)).toBe(true);
      // and the timeout is back for the next statement
      expect(g.sqlite!.pragma('busy_timeout', { simple: true })).toBe(5000);
      other.sqlite!.exec('ROLLBACK');
      await other.close();
      await g.close();
    });

    describe('on the API of Node 22.13-22.15 (no columns(), no isTransaction)', () => {
      const Database = loadNodeSqlite()?.DatabaseSync;
      /** a DatabaseSync whose statements have no columns() and which has no isTransaction */
      const oldApi = () => {
        const db = new Database!(':memory:');
        return new NodeSqlite({
          prepare: (sql) => {
            const st = db.prepare(sql);
            return {
              run: (...a) => st.run(...a),
              get: (...a) => st.get(...a),
              all: (...a) => st.all(...a),
              iterate: (...a) => st.iterate(...a),
            };
          },
          exec: (sql) => db.exec(sql),
          close: () => db.close(),
        });
      };

      it('kysely reads, writes and counts changed rows through it', async () => {
        const kysely = new Kysely<any>({ dialect: new SqliteDialect({ database: oldApi() }) });
        await kysely.executeQuery(CompiledQuery.raw('CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER)'));
        const ins = await kysely
          .insertInto('t')
          .values([
            { k: 'a', n: 1 },
            { k: 'b', n: 2 },
          ])
          .executeTakeFirst();
        expect(Number(ins.numInsertedOrUpdatedRows)).toBe(2);
        const up = await kysely.updateTable('t').set({ n: 5 }).where('k', '=', 'a').returning(['k', 'n']).execute();
        expect(up.map((r) => ({ ...r }))).toEqual([{ k: 'a', n: 5 }]);
        const del = await kysely.deleteFrom('t').where('k', '=', 'b').executeTakeFirst();
        expect(Number(del.numDeletedRows)).toBe(1);
        const rows = await kysely.selectFrom('t').selectAll().execute();
        expect(rows.map((r) => ({ ...r }))).toEqual([{ k: 'a', n: 5 }]);
        await kysely.destroy();
      });

      it('transactions commit, roll back when their function throws, and nest as savepoints', () => {
        const db = oldApi();
        db.exec('CREATE TABLE t (k TEXT)');
        const put = db.prepare('INSERT INTO t VALUES (?)');
        const count = () => (db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;
        expect(db.inTransaction).toBe(false);
        const seen: boolean[] = [];
        db.transaction((k: string) => {
          seen.push(db.inTransaction);
          put.run(k);
          // the inner one fails and is undone alone; the outer one goes on
          expect(() =>
            db.transaction(() => {
              put.run('inner');
              throw new Error('inner fails');
            })(),
          ).toThrow('inner fails');
        }).immediate('a');
        expect(seen).toEqual([true]);
        expect(count()).toBe(1);
        expect(() =>
          db.transaction(() => {
            put.run('b');
            throw new Error('outer fails');
          })(),
        ).toThrow('outer fails');
        expect(count()).toBe(1);
        expect(db.inTransaction).toBe(false);
        db.close();
      });
    });

    it('loading node:sqlite prints no ExperimentalWarning, and every other warning still shows', () => {
      const dist = join(ROOT, 'dist/engine/governance/db/sqlite.js');
      const script = (load: string) =>
        spawnSync(
          process.execPath,
          ['--input-type=module', '-e', `${load}\nprocess.emitWarning('another feature', 'ExperimentalWarning');`],
          { encoding: 'utf8' },
        );
      // Node 22 prints "ExperimentalWarning: SQLite is an experimental feature" when node:sqlite loads (24.22 no
      // longer does): through loadNodeSqlite no Node shows it
      const ours = script(
        `const { loadNodeSqlite } = await import(${JSON.stringify(dist)});\n` +
          "if (!loadNodeSqlite()) throw new Error('no node:sqlite');",
      );
      expect(ours.status, ours.stderr).toBe(0);
      expect(ours.stderr).not.toContain('SQLite');
      expect(ours.stderr).toContain('ExperimentalWarning: another feature');
    });
  },
);
