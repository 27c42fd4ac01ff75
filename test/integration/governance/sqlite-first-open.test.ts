/**
 * Engines that create the same SQLite store at once (a `--num_workers` cluster's workers, engines started together
 * on one machine) all open it. Switching a new file to WAL takes its exclusive lock, and SQLite does not wait for
 * that one (its busy handler is not asked): an open that met another connection's lock failed at once with
 * "database is locked", and a cluster worker that failed so never served. Here another connection holds the lock
 * for a moment, as a sibling engine's open or first migration does.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openGovernanceDb } from '../../../src/engine/governance/db/open.js';
import { loadSqlite, type SqliteDriverName } from '../../../src/engine/governance/db/sqlite.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubiya-first-open-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const drivers: SqliteDriverName[] = ['better-sqlite3'];
if (Number(process.versions.node.split('.')[0]) >= 22) drivers.push('node:sqlite');

describe.each(drivers)('a new SQLite store another connection holds locked (%s)', (driver) => {
  it('is opened once the lock is let go, not refused', async () => {
    const file = path.join(dir, `governance-${driver.replace(':', '-')}.db`);
    const other = (await loadSqlite(driver)).open(file);
    other.exec('CREATE TABLE sibling (x INTEGER)');
    other.exec('BEGIN IMMEDIATE'); // a write in progress, as a sibling's migration
    other.exec('INSERT INTO sibling VALUES (1)');
    const t0 = Date.now();
    setTimeout(() => other.exec('COMMIT'), 300);
    const store = await openGovernanceDb({ path: file, sqliteDriver: driver });
    try {
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250); // it waited for the lock
      expect(String(store.sqlite!.pragma('journal_mode', { simple: true }))).toBe('wal');
      expect(store.applied.length).toBeGreaterThan(0);
    } finally {
      await store.close();
      other.close();
    }
  });

  it('names the file when the lock is never let go', async () => {
    const file = path.join(dir, `governance-held-${driver.replace(':', '-')}.db`);
    const other = (await loadSqlite(driver)).open(file);
    other.exec('CREATE TABLE sibling (x INTEGER)');
    other.exec('BEGIN IMMEDIATE');
    other.exec('INSERT INTO sibling VALUES (1)');
    try {
      await expect(openGovernanceDb({ path: file, sqliteDriver: driver, lockWaitMs: 300 })).rejects.toThrow(
        `cannot open the database file ${file}: it stayed locked by another process for 0.3 s`,
      );
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
  });
});
