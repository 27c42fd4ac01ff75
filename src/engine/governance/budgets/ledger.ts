/**
 * The spend ledger: budget reservations before a call, reconciliation and charges after it.
 *
 * A reservation reads each budgeted row under a write lock (SQLite: one IMMEDIATE transaction, synchronous,
 * microseconds, shared by the reservations of one event-loop turn; Postgres: one transaction with SELECT ...
 * FOR UPDATE), resets a window whose
 * `budget_reset_at` has passed (compare-and-set, so two engines never both reset), refuses a row already at
 * or over its budget, and adds the most the call can cost, cut to what is left (as LiteLLM resizes its
 * reservations): concurrent calls against a nearly spent budget can overshoot it by at most one call.
 * The same steps run on both stores: they are written once as a generator of statements that a synchronous
 * (SQLite) or asynchronous (Postgres) driver executes.
 *
 * After the call the difference to the real cost is queued and written within RECONCILE_MS (reconciliations:
 * one transaction for every call that settled meanwhile) or every `batchWriteMs` (plain charges of rows without
 * a budget). A write that fails stays queued and is
 * retried: nothing is lost while the database is away.
 */

import { CompiledQuery, type Transaction } from 'kysely';
import { isBusy, noWait, whileLocked } from '../db/no-wait.js';
import type { GovernanceDb } from '../db/open.js';
import type { GovernanceTables } from '../db/schema.js';
import type { SqliteDatabase as Database, SqliteStatement as Statement } from '../db/sqlite.js';
import { nextResetAt, parseBudgetDuration } from './reset.js';
import { type BudgetTarget, PROXY_BUDGET_USER } from './targets.js';

export interface Reservation {
  target: BudgetTarget;
  /** USD added to the row */
  amount: number;
  /** the row's window (budget_reset_at) when reserved: a reconciliation after a reset does not touch the new one */
  window: number | null;
}

export interface BudgetRefusal {
  target: BudgetTarget;
  spend: number;
  max: number;
  /** epoch ms of the next reset; null: never */
  resetAt: number | null;
}

export type ReserveResult = { reservations: Reservation[]; refused?: undefined } | { refused: BudgetRefusal };

interface Query {
  op: 'get' | 'run';
  sql: string;
  params: unknown[];
  /** Postgres: lock the row (FOR UPDATE) until the transaction ends */
  lock?: boolean;
}
type Row = { spend?: number; budget_reset_at?: number | string | null } | undefined;

const get = (sql: string, params: readonly unknown[], lock = true): Query => ({
  op: 'get',
  sql,
  params: [...params],
  lock,
});
const run = (sql: string, params: readonly unknown[]): Query => ({ op: 'run', sql, params: [...params] });
const numOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/**
 * How soon a reservation's reconciliation is written. Until then the row holds the reservation (the most the
 * call could cost), which only errs on the safe side; batching spares a write per call (a SQLite commit costs
 * more than the whole reservation's reads).
 */
export const RECONCILE_MS = 50;

/** The statements of one reservation; each `yield` returns the row (get) or the changed-row count (run). */
function* reserveSteps(
  targets: readonly BudgetTarget[],
  amount: number,
  now: number,
  timezone: string,
  onSoft: (t: BudgetTarget, spend: number, window: number | null) => void,
  /** USD this engine owes the row and has not written yet (additions queued or in flight) */
  owed: (t: BudgetTarget) => number,
): Generator<Query, ReserveResult, unknown> {
  const reservations: Reservation[] = [];
  for (const t of targets) {
    const max = t.maxBudget as number;
    const select = `SELECT spend${t.windowBudgetId ? '' : ', budget_reset_at'} FROM ${t.table} WHERE ${t.where}`;
    let row = (yield get(select, t.params)) as Row;
    if (!row && t.insert) {
      yield run(t.insert, t.params);
      row = (yield get(select, t.params)) as Row;
    }
    if (!row) continue; // deleted since its record was read: nothing to hold
    let spend = Number(row.spend);
    let window: number | null;
    if (t.windowBudgetId) {
      const b = (yield get('SELECT budget_reset_at FROM budgets WHERE budget_id = ?', [t.windowBudgetId])) as Row;
      window = numOrNull(b?.budget_reset_at);
    } else window = numOrNull(row.budget_reset_at);
    if (t.duration !== undefined && parseBudgetDuration(t.duration)) {
      const next = nextResetAt(t.duration, now, timezone);
      const [table, where, params] = t.windowBudgetId
        ? ['budgets', 'budget_id = ?', [t.windowBudgetId]]
        : [t.table, t.where, t.params];
      if (window === null) {
        // a budget given a duration starts its window now; the spend it carries stays (as in LiteLLM)
        yield run(`UPDATE ${table} SET budget_reset_at = ? WHERE ${where} AND budget_reset_at IS NULL`, [
          next,
          ...params,
        ]);
        window = next;
      } else if (window <= now) {
        // the boundary passed: this check resets the window, compare-and-set against the one it read
        const zero = t.windowBudgetId ? '' : 'spend = 0, ';
        const changed = (yield run(
          `UPDATE ${table} SET ${zero}budget_reset_at = ? WHERE ${where} AND budget_reset_at = ?`,
          [next, ...params, window],
        )) as number;
        if (changed > 0) {
          if (t.windowBudgetId) yield run('UPDATE team_members SET spend = 0 WHERE budget_id = ?', [t.windowBudgetId]);
          spend = 0;
          window = next;
        } else {
          row = (yield get(select, t.params)) as Row;
          spend = Number(row?.spend ?? 0);
          if (!t.windowBudgetId) window = numOrNull(row?.budget_reset_at);
        }
      }
    }
    // what this engine's settled calls added and has not written yet counts (a refund may have landed first)
    const held = spend + owed(t);
    if (held >= max) {
      // give back what this call already holds on the rows before it
      for (const r of reservations)
        yield run(`UPDATE ${r.target.table} SET spend = spend - ? WHERE ${r.target.where}`, [
          r.amount,
          ...r.target.params,
        ]);
      return { refused: { target: t, spend: held, max, resetAt: t.duration ? window : null } };
    }
    // the whole reservation, even past the budget: a call admitted below it holds what it may cost, so the
    // rows never hold less than their calls will spend, and the spend ends below max + one reservation (a
    // reservation cut to what is left let every call admitted on a sliver overshoot by its whole cost)
    const take = amount;
    const after = spend + take;
    if (take > 0) yield run(`UPDATE ${t.table} SET spend = ? WHERE ${t.where}`, [after, ...t.params]);
    if (t.softBudget !== undefined && held < t.softBudget && held + take >= t.softBudget)
      onSoft(t, held + take, window);
    reservations.push({ target: t, amount: take, window });
  }
  return { reservations };
}

/** One reservation's arguments; a grouped one is answered when its turn's transaction ran. */
interface ReserveCall {
  targets: readonly BudgetTarget[];
  amount: number;
  now: number;
}
interface GroupedCall extends ReserveCall {
  resolve: (r: ReserveResult) => void;
  reject: (e: unknown) => void;
}

/** One queued write: `spend += amount`, only while the row's window is still `window` when it is set. */
interface Pending {
  target: BudgetTarget;
  window?: number | null;
  amount: number;
}

export class Ledger {
  private readonly sqlite?: Database;
  private readonly statements = new Map<string, Statement>();
  private readonly pgSql = new Map<string, string>();
  /** SQLite: reservations in one IMMEDIATE transaction, each answered in order */
  private readonly reserveTx?: (calls: readonly ReserveCall[]) => ReserveResult[];
  /** a reservation ran in this event-loop turn: later ones queue in `grouped` until its end */
  private turnBusy = false;
  private grouped: GroupedCall[] = [];
  private queue = new Map<string, Pending>();
  private soon = false;
  private flushing?: Promise<void>;
  private again = false;
  /** reconciliations that add (USD per target id), queued / being written: reservations count them as spent */
  private adding = new Map<string, number>();
  private writingAdds = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private failing = false;
  /** Postgres: the proxy-wide budget's row, written before the first reservation (again after a failure) */
  private proxyRow?: Query;

  constructor(
    private readonly store: GovernanceDb,
    private readonly opts: {
      timezone: string;
      batchWriteMs: number;
      warn: (fields: Record<string, unknown>, msg: string) => void;
      /** a reservation took a row across its soft budget (the alerts' hook; called inside the transaction) */
      onSoft?: (t: BudgetTarget, spend: number, window: number | null) => void;
      /** the proxy-wide budget, when set: its row is created (or its limit updated) before the first call */
      proxy?: { maxBudget: number; duration?: string; now: number };
    },
  ) {
    this.sqlite = store.sqlite;
    if (this.sqlite) {
      const tx = this.sqlite.transaction((calls: readonly ReserveCall[]) =>
        calls.map((c) => this.driveSync(reserveSteps(c.targets, c.amount, c.now, opts.timezone, this.soft, this.owed))),
      );
      this.reserveTx = (calls) => tx.immediate(calls);
    }
    if (opts.proxy) {
      const p = opts.proxy;
      const q = run(
        'INSERT INTO users (user_id, user_role, max_budget, budget_duration, metadata, created_at, updated_at) ' +
          "VALUES (?, 'internal_user', ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET " +
          'max_budget = excluded.max_budget, budget_duration = excluded.budget_duration',
        [PROXY_BUDGET_USER, p.maxBudget, p.duration ?? null, '{"kubiya":"litellm_settings.max_budget"}', p.now, p.now],
      );
      if (this.sqlite) this.exec(q);
      else this.proxyRow = q;
    }
    this.timer = setInterval(() => void this.flush(), opts.batchWriteMs);
    this.timer.unref();
  }

  /**
   * Reserve `amount` USD on every target (each has a budget). SQLite: the first reservation of an event-loop
   * turn answers synchronously; those that come later in the same turn wait for the turn's end and share one
   * transaction (a group commit: under load one BEGIN IMMEDIATE / COMMIT and one busy-timeout toggle serve many
   * calls instead of one each, and a lone call waits for nothing). Postgres answers with a promise, which
   * rejects when the database cannot be reached.
   */
  reserve(targets: readonly BudgetTarget[], amount: number, now: number): ReserveResult | Promise<ReserveResult> {
    const tx = this.reserveTx;
    if (!tx) return this.reservePg(targets, amount, now);
    if (this.turnBusy)
      return new Promise((resolve, reject) => this.grouped.push({ targets, amount, now, resolve, reject }));
    this.turnBusy = true;
    setImmediate(this.endTurn);
    // SQLite: never wait for another process's write lock synchronously (the busy timeout would stall every
    // request of this engine); when the file is locked, retry off the event loop's critical path instead
    try {
      return noWait(this.sqlite!, () => tx([{ targets, amount, now }])[0]);
    } catch (e) {
      if (!isBusy(e)) throw e;
      return this.reserveLater(tx, [{ targets, amount, now }]).then((r) => r[0]);
    }
  }

  /** The turn is over: the reservations that queued during it, in one transaction. */
  private readonly endTurn = (): void => {
    const group = this.grouped;
    if (group.length === 0) {
      this.turnBusy = false;
      return;
    }
    // a new turn begins with this group's transaction: reservations made meanwhile queue for the next
    this.grouped = [];
    setImmediate(this.endTurn);
    const tx = this.reserveTx!;
    const settle = (results: ReserveResult[]) => {
      for (let i = 0; i < group.length; i++) group[i].resolve(results[i]);
    };
    const fail = (e: unknown) => {
      for (const g of group) g.reject(e);
    };
    try {
      settle(noWait(this.sqlite!, () => tx(group)));
    } catch (e) {
      if (isBusy(e)) this.reserveLater(tx, group).then(settle, fail);
      else fail(e);
    }
  };

  /** Retry reservations the file's lock refused, every few ms, for up to the store's busy timeout (5 s). */
  private async reserveLater(
    tx: NonNullable<typeof this.reserveTx>,
    calls: readonly ReserveCall[],
  ): Promise<ReserveResult[]> {
    await new Promise((r) => setTimeout(r, 1)); // the first try, just made, was refused
    return whileLocked(() => noWait(this.sqlite!, () => tx(calls)), BUSY_WAIT_MS);
  }

  /**
   * Queue `spend += amount` on a row. `window` given: it reconciles a reservation, written within RECONCILE_MS
   * when it gives back (the row held more than was spent: safe to wait), at once when it adds (the call cost
   * more than it held, as a reservation cut to the budget's remainder does: until written, the row would show
   * less than was spent, and a refund landing first would let another call through).
   */
  add(target: BudgetTarget, amount: number, window?: number | null): void {
    if (amount === 0) return;
    const reconcile = window !== undefined;
    const k = reconcile ? `${target.id}\u0000${window}` : target.id;
    const p = this.queue.get(k);
    if (p) p.amount += amount;
    else this.queue.set(k, { target, amount, window });
    if (!reconcile) return;
    if (amount > 0) {
      this.adding.set(target.id, (this.adding.get(target.id) ?? 0) + amount);
      void this.flush();
    } else if (!this.soon) {
      this.soon = true;
      setTimeout(() => {
        this.soon = false;
        void this.flush();
      }, RECONCILE_MS).unref();
    }
  }

  /** Write what is queued (one transaction). A failure keeps it queued for the next try. */
  flush(): Promise<void> {
    if (this.flushing) {
      // what queued meanwhile (an addition, say) is written right after, not at the next timer
      this.again = true;
      return this.flushing;
    }
    if (this.queue.size === 0) return Promise.resolve();
    const batch = this.queue;
    this.queue = new Map();
    this.writingAdds = this.adding;
    this.adding = new Map();
    const done = (e?: unknown) => {
      const adds = this.writingAdds;
      this.writingAdds = new Map();
      if (e !== undefined) for (const [id, v] of adds) this.adding.set(id, (this.adding.get(id) ?? 0) + v);
      if (e === undefined) {
        if (this.failing) this.opts.warn({}, 'spend writes resumed');
        this.failing = false;
        return;
      }
      // put it back (merging with what queued meanwhile): it is written when the database answers again
      for (const [k, p] of batch) {
        const q = this.queue.get(k);
        if (q) q.amount += p.amount;
        else this.queue.set(k, p);
      }
      if (!this.failing) this.opts.warn({ error: (e as Error).message }, 'spend writes failed; kept queued');
      this.failing = true;
    };
    if (this.sqlite) {
      try {
        this.sqlite.transaction(() => {
          for (const p of batch.values()) this.exec(chargeQuery(p));
        })();
        done();
      } catch (e) {
        done(e);
      }
      return Promise.resolve();
    }
    this.flushing = this.store.db
      .transaction()
      .execute(async (trx) => {
        for (const p of batch.values()) {
          const q = chargeQuery(p);
          await trx.executeQuery(CompiledQuery.raw(this.pg(q), q.params));
        }
      })
      .then(
        () => done(),
        (e) => done(e),
      )
      .finally(() => {
        this.flushing = undefined;
        if (this.again && !this.failing) {
          this.again = false;
          void this.flush();
        }
      });
    return this.flushing;
  }

  /** Stop the timer and write everything queued. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    await this.flush();
  }

  private readonly owed = (t: BudgetTarget): number => (this.adding.get(t.id) ?? 0) + (this.writingAdds.get(t.id) ?? 0);

  private readonly soft = (t: BudgetTarget, spend: number, window: number | null): void => {
    this.opts.warn({ budget: t.label, spend, soft_budget: t.softBudget }, 'soft budget crossed');
    this.opts.onSoft?.(t, spend, window);
  };

  private async reservePg(targets: readonly BudgetTarget[], amount: number, now: number): Promise<ReserveResult> {
    const row = this.proxyRow;
    if (row) {
      await this.store.db.executeQuery(CompiledQuery.raw(this.pg(row), row.params));
      this.proxyRow = undefined;
    }
    return this.store.db.transaction().execute(async (trx: Transaction<GovernanceTables>) => {
      const gen = reserveSteps(targets, amount, now, this.opts.timezone, this.soft, this.owed);
      let step = gen.next();
      while (!step.done) {
        const q = step.value;
        const res = await trx.executeQuery(CompiledQuery.raw(this.pg(q), q.params));
        step = gen.next(q.op === 'get' ? res.rows[0] : Number(res.numAffectedRows ?? 0));
      }
      return step.value;
    });
  }

  private driveSync(gen: Generator<Query, ReserveResult, unknown>): ReserveResult {
    let step = gen.next();
    while (!step.done) step = gen.next(this.exec(step.value));
    return step.value;
  }

  /** SQLite: run one query on a cached prepared statement. */
  private exec(q: Query): unknown {
    let st = this.statements.get(q.sql);
    if (!st) {
      st = (this.sqlite as Database).prepare(q.sql);
      this.statements.set(q.sql, st);
    }
    return q.op === 'get' ? st.get(...q.params) : st.run(...q.params).changes;
  }

  /** Postgres text of a query: `$n` placeholders, FOR UPDATE when it locks. */
  private pg(q: Query): string {
    const k = q.lock ? `${q.sql} FOR UPDATE` : q.sql;
    let s = this.pgSql.get(k);
    if (s === undefined) {
      let i = 0;
      s = k.replace(/\?/g, () => `$${++i}`);
      this.pgSql.set(k, s);
    }
    return s;
  }
}

/** `spend += amount`, guarded by the window when it reconciles a reservation. */
function chargeQuery(p: Pending): Query {
  const t = p.target;
  if (p.window === undefined || t.windowBudgetId)
    return run(`UPDATE ${t.table} SET spend = spend + ? WHERE ${t.where}`, [p.amount, ...t.params]);
  return run(`UPDATE ${t.table} SET spend = spend + ? WHERE ${t.where} AND budget_reset_at IS NOT DISTINCT FROM ?`, [
    p.amount,
    ...t.params,
    p.window,
  ]);
}

// how long a reservation waits for another process's write lock on a shared SQLite file
const BUSY_WAIT_MS = 5000;
