/**
 * The SQLite driver of the governance store: better-sqlite3 when it is installed (the one the store was first
 * written and tested against; a little faster on Node 22), else Node's built-in `node:sqlite` (unflagged from
 * Node 22.13 / 23.4), so a global install of kubiya needs nothing more on Node 22 and 24. Everything above this
 * file sees one shape, the part of better-sqlite3's API that the store uses (kysely's SqliteDialect asks for the
 * same shape); node:sqlite's DatabaseSync is put in that shape by NodeSqlite below.
 */
import { StoreError } from './store-error.js';

export interface SqliteRunResult {
  /** a number: node:sqlite gives bigints only when asked to (setReadBigInts), which we never do */
  changes: number;
  lastInsertRowid: number | bigint;
}

/** A prepared statement. Parameters are positional; an array given as the only one is its list (kysely's call). */
export interface SqliteStatement {
  /** the statement returns rows (a SELECT, a RETURNING): kysely reads it with all() rather than run() */
  readonly reader: boolean;
  run(...params: unknown[]): SqliteRunResult;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  iterate(...params: unknown[]): IterableIterator<unknown>;
}

/** `fn` in BEGIN ... COMMIT (a SAVEPOINT when already in one), rolled back when it throws. */
export interface SqliteTransaction<A extends unknown[], R> {
  (...args: A): R;
  /** the same in BEGIN IMMEDIATE: the write lock is taken at the start */
  immediate(...args: A): R;
}

/** One connection to the file: better-sqlite3's Database, or NodeSqlite. */
export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): unknown;
  /** `PRAGMA <source>`: its rows, or with `simple` the first column of the first row */
  pragma(source: string, options?: { simple?: boolean }): unknown;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): SqliteTransaction<A, R>;
  readonly inTransaction: boolean;
  close(): unknown;
}

export type SqliteDriverName = 'better-sqlite3' | 'node:sqlite';

export interface SqliteDriver {
  readonly name: SqliteDriverName;
  open(path: string): SqliteDatabase;
}

// node:sqlite as far as we use it (@types/node of Node 20, our oldest, has no types for it)
interface NodeStatement {
  run(...params: unknown[]): SqliteRunResult;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  iterate(...params: unknown[]): IterableIterator<unknown>;
  /** Node 22.16 / 23.11 and later */
  columns?(): unknown[];
}
interface NodeDatabase {
  prepare(sql: string): NodeStatement;
  exec(sql: string): void;
  close(): void;
  /** Node 22.16 / 24.0 and later */
  readonly isTransaction?: boolean;
}
interface NodeSqliteModule {
  DatabaseSync: new (path: string) => NodeDatabase;
}

/**
 * Whether a statement returns rows, from its text, for a node:sqlite without StatementSync.columns() (22.13 to
 * 22.15). better-sqlite3's `reader` is "the statement has result columns"; this errs towards yes, because a
 * writer read as a reader still runs to its end through all() (kysely then only misses its count of changed
 * rows), while a reader read as a writer would lose its rows.
 */
export function looksLikeReader(sql: string): boolean {
  return LEADING_READER.test(sql) || /\bRETURNING\b/i.test(sql);
}
const NESTED = /within a transaction/;
const LEADING_READER = /^(?:\s|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*(?:SELECT|WITH|VALUES|PRAGMA|EXPLAIN)\b/i;

// better-sqlite3 spreads an array parameter into its items; kysely hands every statement its list that way
const flat = (params: unknown[]): unknown[] =>
  params.length === 1 && Array.isArray(params[0]) ? (params[0] as unknown[]) : params;

class NodeStatementAdapter implements SqliteStatement {
  readonly reader: boolean;
  constructor(
    private readonly st: NodeStatement,
    sql: string,
  ) {
    this.reader = typeof st.columns === 'function' ? st.columns().length > 0 : looksLikeReader(sql);
  }
  run(...params: unknown[]): SqliteRunResult {
    return this.st.run(...flat(params));
  }
  get(...params: unknown[]): unknown {
    return this.st.get(...flat(params));
  }
  all(...params: unknown[]): unknown[] {
    return this.st.all(...flat(params));
  }
  iterate(...params: unknown[]): IterableIterator<unknown> {
    return this.st.iterate(...flat(params));
  }
}

/** node:sqlite's DatabaseSync in better-sqlite3's shape (the part the store and kysely use). */
export class NodeSqlite implements SqliteDatabase {
  private savepoints = 0;
  constructor(private readonly db: NodeDatabase) {}

  prepare(sql: string): SqliteStatement {
    return new NodeStatementAdapter(this.db.prepare(sql), sql);
  }

  exec(sql: string): this {
    this.db.exec(sql);
    return this;
  }

  pragma(source: string, options?: { simple?: boolean }): unknown {
    const rows = this.db.prepare(`PRAGMA ${source}`).all() as Record<string, unknown>[];
    if (!options?.simple) return rows;
    const first = rows[0];
    return first === undefined ? undefined : Object.values(first)[0];
  }

  get inTransaction(): boolean {
    const native = this.db.isTransaction;
    if (typeof native === 'boolean') return native;
    // before Node 22.16: a deferred BEGIN (it takes no lock) fails only inside a transaction
    try {
      this.db.exec('BEGIN');
    } catch {
      return true;
    }
    this.db.exec('ROLLBACK');
    return false;
  }

  transaction<A extends unknown[], R>(fn: (...args: A) => R): SqliteTransaction<A, R> {
    const wrap =
      (begin: string) =>
      (...args: A): R => {
        // inside a transaction already: a savepoint, as better-sqlite3 does (asked of SQLite only where this Node
        // cannot tell without a probe: BEGIN refuses to nest, and costs nothing more when it does not)
        if (this.db.isTransaction === true) return this.nested(fn, args);
        try {
          this.db.exec(begin);
        } catch (e) {
          if (this.db.isTransaction === undefined && NESTED.test((e as Error).message)) return this.nested(fn, args);
          throw e;
        }
        try {
          const out = fn(...args);
          this.db.exec('COMMIT');
          return out;
        } catch (e) {
          // a failed COMMIT (SQLITE_BUSY) leaves the transaction open; some errors have already ended it
          if (this.inTransaction) this.db.exec('ROLLBACK');
          throw e;
        }
      };
    return Object.assign(wrap('BEGIN'), { immediate: wrap('BEGIN IMMEDIATE') });
  }

  close(): void {
    this.db.close();
  }

  private nested<A extends unknown[], R>(fn: (...args: A) => R, args: A): R {
    const name = `kubiya_sp${++this.savepoints}`;
    this.db.exec(`SAVEPOINT ${name}`);
    try {
      const out = fn(...args);
      this.db.exec(`RELEASE ${name}`);
      return out;
    } catch (e) {
      this.db.exec(`ROLLBACK TO ${name}`);
      this.db.exec(`RELEASE ${name}`);
      throw e;
    } finally {
      this.savepoints--;
    }
  }
}

/**
 * node:sqlite, or undefined where this Node has none unflagged (Node 20; 22 before 22.13). Loading it makes Node
 * print "ExperimentalWarning: SQLite is an experimental feature" (Node 22 and 24 alike); that one warning is
 * dropped, as the user chose nothing experimental: every other warning passes as before.
 */
export function loadNodeSqlite(): NodeSqliteModule | undefined {
  const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (typeof getBuiltin !== 'function') return undefined;
  const emit = process.emitWarning;
  process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
    if (isSqliteExperimental(warning, rest[0])) return;
    return (emit as (...a: unknown[]) => void).call(this, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    const mod = getBuiltin.call(process, 'node:sqlite') as NodeSqliteModule | undefined;
    return typeof mod?.DatabaseSync === 'function' ? mod : undefined;
  } catch {
    return undefined;
  } finally {
    process.emitWarning = emit;
  }
}

function isSqliteExperimental(warning: string | Error, typeOrOptions: unknown): boolean {
  const type =
    typeof typeOrOptions === 'string' ? typeOrOptions : (typeOrOptions as { type?: string } | undefined)?.type;
  const text = typeof warning === 'string' ? warning : warning.message;
  const name = typeof warning === 'string' ? type : warning.name;
  return name === 'ExperimentalWarning' && /^SQLite is an experimental feature/.test(text);
}

function nodeDriver(mod: NodeSqliteModule): SqliteDriver {
  return { name: 'node:sqlite', open: (path) => new NodeSqlite(new mod.DatabaseSync(path)) };
}

/**
 * The SQLite driver: better-sqlite3 if it loads, else node:sqlite; `only` picks one (tests run the store's
 * suites on node:sqlite where better-sqlite3 is installed too). Throws a StoreError naming the ways out when
 * neither loads.
 */
export async function loadSqlite(only?: SqliteDriverName): Promise<SqliteDriver> {
  let why = '';
  if (only !== 'node:sqlite') {
    try {
      const Database = (await import('better-sqlite3')).default;
      return { name: 'better-sqlite3', open: (path) => new Database(path) };
    } catch (e) {
      why = (e as Error).message.split('\n')[0] ?? '';
      if (only === 'better-sqlite3') throw missing(why);
    }
  }
  const mod = loadNodeSqlite();
  if (mod) return nodeDriver(mod);
  if (only === 'node:sqlite')
    throw new StoreError(`node:sqlite is not available on Node ${process.version} (it is from Node 22.13 on)`);
  throw missing(why);
}

function missing(why: string): StoreError {
  return new StoreError(
    `the SQLite store (the default for a master-keyed engine without a database_url) needs the better-sqlite3 ` +
      `package, which is not installed or not built for Node ${process.version} (${why}): install it next to ` +
      'kubiya (`npm install -g better-sqlite3@12 --allow-scripts=better-sqlite3`), or use Node 22+ (its built-in ' +
      'node:sqlite needs nothing installed), or use Postgres (DATABASE_URL)',
  );
}
