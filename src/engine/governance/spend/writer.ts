/**
 * The spend-log writer: one `spend_logs` row per settled request and its daily rollups (`daily_spend`),
 * queued in memory and written in one transaction every `proxy_batch_write_at` (or as soon as `flushAt` rows
 * wait), never on the response path. While the database is down the queue keeps everything and retries at
 * each tick; past `maxQueue` rows the oldest log rows are dropped (counted, warned) but the rollups, being
 * sums, keep every call. Old rows are deleted in small batches when a retention period is set.
 *
 * It does not touch the entities' `spend` columns: the budget ledger (reservations and their reconcile) owns
 * those; the rollups here are what reports read.
 */

import type { CompiledQuery } from 'kysely';
import type { SettledEvent, SettledSubscriber } from '../../observability/settled.js';
import { noWait } from '../db/no-wait.js';
import type { NewSpendLogRow } from '../db/schema.js';
import type { SqliteDatabase as Database, SqliteStatement as Statement } from '../db/sqlite.js';
import type { Governance } from '../governance.js';
import { addDelta, forEachRollup, ROLLUP_SUMS, type RollupBase, type RollupRow, spendLogRow } from './row.js';

export interface SpendWriterOptions {
  /** write as soon as this many log rows wait (LiteLLM's SPEND_LOG_QUEUE_SIZE_THRESHOLD is 100): rows held
   * longer survive young-generation collections and cost more in old-generation ones */
  flushAt?: number;
  /** the most log rows kept while the database is down (LiteLLM's MAX_SIZE_IN_MEMORY_QUEUE is 10000) */
  maxQueue?: number;
  /** rows deleted per retention statement (small: a delete never holds the table for long) */
  pruneBatch?: number;
}

/** The subscriber, plus what shutdown and tests drive directly. */
export interface SpendWriter extends SettledSubscriber {
  /** write what is queued now (resolves when written or when the attempt failed; failures stay queued) */
  flush(): Promise<void>;
  /** delete rows older than the retention period now; resolves to how many went */
  prune(): Promise<number>;
  /** log rows waiting to be written */
  readonly pending: number;
  /** log rows dropped because the queue was full */
  readonly dropped: number;
}

const UNIQUE = ['entity_type', 'entity_id', 'date', 'api_key', 'model', 'custom_llm_provider', 'endpoint'] as const;
// rows per INSERT: under SQLite's 32766 and Postgres's 65535 bound parameters
const LOG_CHUNK = 400;
const ROLLUP_CHUNK = 1000;
const MAX_BATCH = 2000;

/** Start the writer (its timers are unref'd; `g.onClose` flushes it). */
export function startSpendWriter(g: Governance, opts: SpendWriterOptions = {}): SpendWriter {
  const flushAt = opts.flushAt ?? 100;
  const maxQueue = opts.maxQueue ?? 10_000;
  const pruneBatch = opts.pruneBatch ?? 1000;
  const { storePrompts, disableSpendLogs, masterKeyHash, spendLogsRetentionMs } = g.settings;
  let rows: NewSpendLogRow[] = [];
  let rollups = new Map<string, RollupRow>();
  let dropped = 0;
  let failing = false;
  let flushing: Promise<void> | undefined;

  const observe = (e: SettledEvent): undefined => {
    if (!disableSpendLogs) {
      rows.push(spendLogRow(e, masterKeyHash, storePrompts));
      if (rows.length > maxQueue) drop(rows.length - maxQueue);
    }
    forEachRollup(e, masterKeyHash, mergeOne);
    if (rows.length >= flushAt && !failing) void flush();
    return undefined;
  };

  const mergeOne = (id: string, entity_type: RollupRow['entity_type'], entity_id: string, base: RollupBase) => {
    const have = rollups.get(id);
    if (have) addDelta(have, base);
    else rollups.set(id, { ...base, entity_type, entity_id });
  };
  // a batch put back after a failed write: its rows merge into what arrived meanwhile
  const merge = (id: string, r: RollupRow) => mergeOne(id, r.entity_type, r.entity_id, r);

  const drop = (n: number) => {
    rows = rows.slice(n);
    // warn at the first drop and then every 1000: a long outage must not flood the log
    if (dropped === 0 || Math.floor((dropped + n) / 1000) > Math.floor(dropped / 1000))
      g.logger.warn(
        { dropped: dropped + n, queued: rows.length },
        'spend log queue full while the database is unavailable: dropping the oldest rows (daily totals keep them)',
      );
    dropped += n;
  };

  const flush = (): Promise<void> => {
    flushing ??= drain().finally(() => {
      flushing = undefined;
    });
    return flushing;
  };

  const drain = async () => {
    while (rows.length > 0 || rollups.size > 0) {
      const batch = rows.slice(0, MAX_BATCH);
      rows = rows.slice(batch.length);
      const sums = rollups;
      rollups = new Map();
      try {
        await write(g, batch, sums);
      } catch (e) {
        // put it all back (ahead of what arrived meanwhile) and try again at the next tick
        rows = batch.concat(rows);
        if (rows.length > maxQueue) drop(rows.length - maxQueue);
        for (const [id, r] of sums) merge(id, r);
        if (!failing)
          g.logger.warn(
            { error: (e as Error).message, queued: rows.length },
            'cannot write spend logs; keeping them queued and retrying',
          );
        failing = true;
        return;
      }
      if (failing) {
        failing = false;
        g.logger.info({ written: batch.length }, 'spend log writes recovered');
      }
    }
  };

  const prune = async (): Promise<number> => {
    if (spendLogsRetentionMs === undefined) return 0;
    const cutoff = g.now() - spendLogsRetentionMs;
    const db = g.store.db;
    let total = 0;
    for (;;) {
      const q = db
        .deleteFrom('spend_logs')
        .where('request_id', 'in', (eb) =>
          eb.selectFrom('spend_logs').select('request_id').where('start_time', '<', cutoff).limit(pruneBatch),
        )
        .compile();
      const n = await run(g, [q]);
      total += n;
      if (n < pruneBatch) return total;
      // let requests and writes in between the batches
      await new Promise((r) => setImmediate(r));
    }
  };

  const tick = setInterval(() => void flush(), Math.max(10, g.settings.batchWriteMs));
  tick.unref();
  let pruner: NodeJS.Timeout | undefined;
  if (spendLogsRetentionMs !== undefined) {
    const every = Math.min(600_000, Math.max(1000, spendLogsRetentionMs / 10));
    pruner = setInterval(() => {
      prune().catch((e: unknown) => g.logger.warn({ error: (e as Error).message }, 'spend log retention failed'));
    }, every);
    pruner.unref();
  }
  g.onClose(async () => {
    clearInterval(tick);
    if (pruner) clearInterval(pruner);
    await flushing;
    await flush();
    if (rows.length > 0 || rollups.size > 0)
      g.logger.warn(
        { rows: rows.length, rollups: rollups.size },
        'closing with spend logs not written (the database is unavailable)',
      );
  });

  // getters defined on the function itself (Object.assign would copy their values once)
  return Object.defineProperties(observe, {
    flush: { value: flush },
    prune: { value: prune },
    pending: { get: () => rows.length },
    dropped: { get: () => dropped },
  }) as SpendWriter;
}

// spend_logs' columns, in the order the SQLite statement binds them
const LOG_COLUMNS = [
  'request_id',
  'call_type',
  'api_key',
  'principal',
  'spend',
  'total_tokens',
  'prompt_tokens',
  'completion_tokens',
  'cache_read_input_tokens',
  'cache_creation_input_tokens',
  'start_time',
  'end_time',
  'request_duration_ms',
  'completion_start_time',
  'model',
  'model_id',
  'model_group',
  'custom_llm_provider',
  'api_base',
  'user_id',
  'team_id',
  'organization_id',
  'end_user',
  'key_alias',
  'metadata',
  'request_tags',
  'cache_hit',
  'status',
  'http_status',
  'messages',
  'response',
  'session_id',
] as const satisfies readonly (keyof NewSpendLogRow)[];
const ROLLUP_COLUMNS = [...UNIQUE, 'model_group', ...ROLLUP_SUMS] as const;
const SQLITE_LOG_INSERT =
  `INSERT INTO spend_logs (${LOG_COLUMNS.join(', ')}) VALUES (${LOG_COLUMNS.map(() => '?').join(', ')}) ` +
  'ON CONFLICT (request_id) DO NOTHING';
const SQLITE_ROLLUP_UPSERT =
  `INSERT INTO daily_spend (${ROLLUP_COLUMNS.join(', ')}) VALUES (${ROLLUP_COLUMNS.map(() => '?').join(', ')}) ` +
  `ON CONFLICT (${UNIQUE.join(', ')}) DO UPDATE SET ` +
  ROLLUP_SUMS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ');

// SQLite: two statements prepared once per database and run per row inside the batch's transaction. Building
// a many-row INSERT through the query builder, and preparing it anew for each batch size, cost more CPU than
// the writes themselves at thousands of calls a second.
const prepared = new WeakMap<object, { log: Statement; rollup: Statement }>();

/** One transaction: the log rows (a repeated request id is kept once) and the rollups added with `+=`. */
async function write(g: Governance, batch: NewSpendLogRow[], sums: Map<string, RollupRow>): Promise<void> {
  const sqlite = g.store.sqlite;
  if (sqlite) {
    let st = prepared.get(sqlite);
    if (!st)
      prepared.set(
        sqlite,
        (st = { log: sqlite.prepare(SQLITE_LOG_INSERT), rollup: sqlite.prepare(SQLITE_ROLLUP_UPSERT) }),
      );
    const { log, rollup } = st;
    inSqliteTransaction(sqlite, () => {
      const args: unknown[] = new Array(LOG_COLUMNS.length);
      for (const row of batch) {
        for (let i = 0; i < LOG_COLUMNS.length; i++) args[i] = row[LOG_COLUMNS[i]] ?? null;
        log.run(args);
      }
      const rargs: unknown[] = new Array(ROLLUP_COLUMNS.length);
      for (const id of [...sums.keys()].sort()) {
        const r = sums.get(id)!;
        for (let i = 0; i < ROLLUP_COLUMNS.length; i++) rargs[i] = r[ROLLUP_COLUMNS[i]];
        rollup.run(rargs);
      }
      return 0;
    });
    return;
  }
  const db = g.store.db;
  const queries: CompiledQuery[] = [];
  for (let i = 0; i < batch.length; i += LOG_CHUNK) {
    queries.push(
      db
        .insertInto('spend_logs')
        .values(batch.slice(i, i + LOG_CHUNK))
        .onConflict((oc) => oc.column('request_id').doNothing())
        .compile(),
    );
  }
  // one order for every writer: engines sharing a Postgres lock rollup rows in the same order (no deadlock)
  const ids = [...sums.keys()].sort();
  for (let i = 0; i < ids.length; i += ROLLUP_CHUNK) {
    const chunk = ids.slice(i, i + ROLLUP_CHUNK).map((id) => sums.get(id)!);
    queries.push(
      db
        .insertInto('daily_spend')
        .values(chunk)
        .onConflict((oc) =>
          oc.columns(UNIQUE).doUpdateSet((eb) => {
            const set: Record<string, unknown> = {};
            for (const c of ROLLUP_SUMS) set[c] = eb(`daily_spend.${c}`, '+', eb.ref(`excluded.${c}`));
            return set as never;
          }),
        )
        .compile(),
    );
  }
  if (queries.length > 0) await run(g, queries);
}

/**
 * Run statements in one transaction; resolves to the rows the last one changed. SQLite runs them
 * synchronously on its handle, taking the write lock without waiting: a file locked by another process
 * must not stall the event loop for the busy timeout (it is retried at the next tick instead).
 */
async function run(g: Governance, queries: CompiledQuery[]): Promise<number> {
  const sqlite = g.store.sqlite;
  if (sqlite)
    return inSqliteTransaction(sqlite, () => {
      let changes = 0;
      for (const q of queries) changes = sqlite.prepare(q.sql).run(...(q.parameters as unknown[])).changes;
      return changes;
    });
  return g.store.db.transaction().execute(async (trx) => {
    let changes = 0;
    for (const q of queries) changes = Number((await trx.executeQuery(q)).numAffectedRows ?? 0);
    return changes;
  });
}

/**
 * `body` inside BEGIN IMMEDIATE ... COMMIT on SQLite's one connection, taking the write lock without waiting:
 * a file locked by another process must not stall the event loop for the busy timeout (the batch is retried
 * at the next tick instead), nor may a transaction of the async query builder be open on it meanwhile.
 */
function inSqliteTransaction(sqlite: Database, body: () => number): number {
  if (sqlite.inTransaction) throw new Error('the database connection is busy');
  noWait(sqlite, () => sqlite.exec('BEGIN IMMEDIATE'));
  try {
    const n = body();
    sqlite.exec('COMMIT');
    return n;
  } catch (e) {
    if (sqlite.inTransaction) sqlite.exec('ROLLBACK');
    throw e;
  }
}
