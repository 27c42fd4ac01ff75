/**
 * SQLite's busy timeout makes a statement that meets another connection's write lock wait synchronously,
 * which would stall every request of the engine (and, when the lock holder is this very process awaiting
 * something, never end). Whoever takes the write lock on the hot path or at start-up does it through here:
 * the timeout off for that one statement, SQLITE_BUSY at once, and the caller retries asynchronously.
 */
import type { SqliteDatabase as Database, SqliteStatement as Statement } from './sqlite.js';

/**
 * A statement refused because another connection holds the lock: better-sqlite3 names it in `code`; node:sqlite
 * has `code: 'ERR_SQLITE_ERROR'` and SQLite's extended result code in `errcode` (SQLITE_BUSY is 5, and its
 * extended codes, SQLITE_BUSY_SNAPSHOT among them, keep 5 in their low byte).
 */
export function isBusy(e: unknown): boolean {
  const { code, errcode } = e as { code?: string; errcode?: number };
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT') return true;
  return code === 'ERR_SQLITE_ERROR' && typeof errcode === 'number' && (errcode & 0xff) === SQLITE_BUSY;
}
const SQLITE_BUSY = 5;

// the busy timeout switched off and back, with statements prepared once per connection
const toggles = new WeakMap<Database, { off: Statement; on: Statement }>();

/** `fn` on `db` with the busy timeout off: a locked file fails at once (SQLITE_BUSY) instead of blocking. */
export function noWait<T>(db: Database, fn: () => T): T {
  let t = toggles.get(db);
  if (!t) {
    const on = db.prepare(`PRAGMA busy_timeout = ${Number(db.pragma('busy_timeout', { simple: true })) || 5000}`);
    toggles.set(db, (t = { off: db.prepare('PRAGMA busy_timeout = 0'), on }));
  }
  t.off.run();
  try {
    return fn();
  } finally {
    t.on.run();
  }
}
