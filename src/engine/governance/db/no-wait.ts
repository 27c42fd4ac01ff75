/**
 * SQLite's busy timeout makes a statement that meets another connection's write lock wait synchronously,
 * which would stall every request of the engine (and, when the lock holder is this very process awaiting
 * something, never end). Whoever takes the write lock on the hot path or at start-up does it through here:
 * the timeout off for that one statement, SQLITE_BUSY at once, and the caller retries asynchronously.
 */
import type { SqliteDatabase as Database } from './sqlite.js';

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

// the busy timeout to restore, read once per connection. The toggles are exec'd, not prepared once: SQLite applies
// `PRAGMA busy_timeout = N` when it compiles the statement, so a prepared pair's first runs set nothing (the last
// one prepared, 0, stayed in force after the migration's lock) and later runs recompile anyway (measured: the exec'd
// pair costs the same, about 6-11 us)
const restore = new WeakMap<Database, number>();

/** `fn` on `db` with the busy timeout off: a locked file fails at once (SQLITE_BUSY) instead of blocking. */
export function noWait<T>(db: Database, fn: () => T): T {
  let on = restore.get(db);
  if (on === undefined) restore.set(db, (on = Number(db.pragma('busy_timeout', { simple: true })) || 5000));
  db.exec('PRAGMA busy_timeout = 0');
  try {
    return fn();
  } finally {
    db.exec(`PRAGMA busy_timeout = ${on}`);
  }
}

/**
 * `fn` again and again while another connection's lock refuses it (SQLITE_BUSY), waiting off the event loop
 * between tries (2 ms, doubling up to 25), for up to `waitMs`; then its last refusal, or any other error, is
 * thrown. For statements SQLite does not wait on itself: under noWait, or a switch to WAL.
 */
export async function whileLocked<T>(fn: () => T, waitMs: number): Promise<T> {
  const until = Date.now() + waitMs;
  for (let delay = 2; ; delay = Math.min(delay * 2, 25)) {
    try {
      return fn();
    } catch (e) {
      if (!isBusy(e) || Date.now() >= until) throw e;
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}
