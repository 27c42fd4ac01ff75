/**
 * Admission of one inference request, in LiteLLM's order: model access (virtual keys), budgets (a
 * reservation of the most the call can cost on every budgeted row: key, user or team and membership, org,
 * end user, proxy-wide), then rate limits (rpm, tpm, parallel requests per key, user, team, end user, and
 * per model for a key). The ticket it answers settles the request: reservations reconciled to the real cost,
 * rows without a budget charged, the parallel slot freed, tokens counted. docs/governance-limits.md.
 */

import { GatewayError } from '../errors.js';
import type { SettledEvent } from '../observability/settled.js';
import { checkModelAccess } from './access.js';
import { type CallEstimate, CostEstimator } from './budgets/estimate.js';
import { type BudgetRefusal, Ledger, type Reservation, type ReserveResult } from './budgets/ledger.js';
import { type BudgetTarget, endUserTarget, keyModelTarget, proxyTarget, recordTargets } from './budgets/targets.js';
import type { BudgetRow, EndUserRow } from './db/schema.js';
import { parseJson } from './db/schema.js';
import type { SqliteStatement as Statement } from './db/sqlite.js';
import type { Governance } from './governance.js';
import { type LimitDescriptor, type LimitRefusal, MemoryRateLimiter, type RateLimiter } from './limits/limiter.js';
import type { Admission, AdmitRequest, AdmitTicket, AuthRecord, GovernedPrincipal } from './types.js';

/** What a key's record implies, computed once per record (records are cached by authentication). */
interface Plan {
  targets: BudgetTarget[];
  budgeted: BudgetTarget[];
  limits: LimitDescriptor[];
  /** the key's own limits (its x-ratelimit-* headers) */
  key?: LimitDescriptor;
  keyHash?: string;
  modelRpm?: Record<string, number>;
  modelTpm?: Record<string, number>;
  /** the key's model_max_budget, one target per model name (undefined: none set) */
  modelBudgets?: Map<string, BudgetTarget>;
}

const EMPTY: Plan = { targets: [], budgeted: [], limits: [] };

interface EndUser {
  row: EndUserRow;
  target: BudgetTarget;
  limits?: LimitDescriptor;
}

const NO_RESERVATIONS: ReserveResult = { reservations: [] };
const ZERO_ESTIMATE: CallEstimate = { max: 0, input: 0 };

/** Per-request checks with virtual keys (and the proxy-wide and end-user budgets for every caller). */
export function createAdmission(g: Governance, limiter?: RateLimiter): Admission {
  return new GovernanceAdmission(g, limiter);
}

export class GovernanceAdmission implements Admission {
  readonly ledger: Ledger;
  readonly limiter: RateLimiter;
  private estimator: CostEstimator;
  private readonly plans = new WeakMap<AuthRecord, Plan>();
  private readonly endUsers = new Map<string, { at: number; v: EndUser | null }>();
  private readonly proxy?: BudgetTarget;
  private dbDownLogged = false;
  private endUserSql?: { row: Statement; budget: Statement };

  constructor(
    private readonly g: Governance,
    limiter?: RateLimiter,
  ) {
    const s = g.settings;
    this.proxy = s.proxyMaxBudget !== undefined ? proxyTarget(s.proxyMaxBudget, s.proxyBudgetDuration) : undefined;
    this.ledger = new Ledger(g.store, {
      timezone: s.timezone,
      batchWriteMs: s.batchWriteMs,
      warn: (fields, msg) => g.logger.warn(fields, msg),
      // alerts (soft_budget_crossed): read at the crossing, so alerts set after start are heard
      onSoft: (t, spend, window) => g.alerts?.budget('soft', t, spend, window),
      proxy: this.proxy && { maxBudget: s.proxyMaxBudget as number, duration: s.proxyBudgetDuration, now: g.now() },
    });
    this.limiter = limiter ?? new MemoryRateLimiter();
    this.estimator = new CostEstimator(g.table);
    g.onChange((c) => {
      if (c.kind === 'end_user' || c.kind === 'budget' || c.kind === 'all') this.endUsers.clear();
    });
    g.onClose(() => this.ledger.close());
  }

  admit(p: GovernedPrincipal, req: AdmitRequest): AdmitTicket | undefined | Promise<AdmitTicket | undefined> {
    const rec = p.kind === 'virtual_key' ? p.record : undefined;
    if (rec) checkModelAccess(rec, req.model, this.g.table);
    // the model API replaced the table: prices are estimated from the new one
    if (this.estimator.table !== this.g.table) this.estimator = new CostEstimator(this.g.table);
    const eu = req.endUserId === undefined ? null : this.endUser(req.endUserId);
    if (eu instanceof Promise) return eu.then((e) => this.admitWith(rec, req, e));
    return this.admitWith(rec, req, eu);
  }

  checkBudgets(p: GovernedPrincipal): void | Promise<void> {
    const rec = p.kind === 'virtual_key' ? p.record : undefined;
    const budgeted = rec ? this.planOf(rec).budgeted : EMPTY.budgeted;
    const rows = this.proxy ? [...budgeted, this.proxy] : budgeted;
    if (rows.length === 0) return;
    const now = this.g.now();
    // a reservation of nothing: refused only where the spend already reached the budget
    const refuse = (r: ReserveResult): void => {
      if (r.refused) throw budgetExceeded(r.refused, now);
    };
    const res = this.ledger.reserve(rows, 0, now);
    if (res instanceof Promise) return res.then(refuse);
    refuse(res);
  }

  private admitWith(
    rec: AuthRecord | undefined,
    req: AdmitRequest,
    eu: EndUser | null,
  ): AdmitTicket | undefined | Promise<AdmitTicket | undefined> {
    if (eu?.row.blocked) {
      throw new GatewayError(403, {
        message: `End User=${eu.row.user_id} is blocked. Update via \`/customer/unblock\` if you're an admin.`,
        type: 'auth_error',
        errorClass: 'permission',
      });
    }
    const plan = rec ? this.planOf(rec) : EMPTY;
    let targets = plan.targets;
    let budgeted = plan.budgeted;
    const modelBudget = plan.modelBudgets?.get(req.model);
    if (eu || this.proxy || modelBudget) {
      targets = targets.slice();
      budgeted = budgeted.slice();
      for (const t of [modelBudget, eu?.target, this.proxy]) {
        if (!t) continue;
        targets.push(t);
        if (t.maxBudget !== undefined) budgeted.push(t);
      }
    }
    let limits = plan.limits;
    const modelRpm = plan.modelRpm?.[req.model];
    const modelTpm = plan.modelTpm?.[req.model];
    if (modelRpm !== undefined || modelTpm !== undefined || eu?.limits) {
      limits = limits.slice();
      if (modelRpm !== undefined || modelTpm !== undefined)
        limits.push({ type: 'model_per_key', id: `${plan.keyHash}:${req.model}`, rpm: modelRpm, tpm: modelTpm });
      if (eu?.limits) limits.push(eu.limits);
    }
    if (targets.length === 0 && limits.length === 0) return undefined;
    const now = this.g.now();
    if (budgeted.length === 0) return this.finish(plan, targets, limits, NO_RESERVATIONS, ZERO_ESTIMATE, now);
    const est = this.estimator.estimate(req.endpoint, req.model, req.body);
    let res: ReserveResult | Promise<ReserveResult>;
    try {
      res = this.ledger.reserve(budgeted, est.max, now);
    } catch (e) {
      return this.dbDown(e, plan, targets, limits, est, now);
    }
    if (res instanceof Promise)
      return res.then(
        (r) => this.finish(plan, targets, limits, r, est, now),
        (e) => this.dbDown(e, plan, targets, limits, est, now),
      );
    return this.finish(plan, targets, limits, res, est, now);
  }

  private finish(
    plan: Plan,
    targets: BudgetTarget[],
    limits: LimitDescriptor[],
    res: ReserveResult,
    est: CallEstimate,
    now: number,
  ): AdmitTicket | Promise<AdmitTicket> {
    if (res.refused) {
      // alerts (budget_crossed): a row found at or over its budget is LiteLLM's moment for it
      const r = res.refused;
      this.g.alerts?.budget('max', r.target, r.spend, r.resetAt);
      throw budgetExceeded(r, now);
    }
    const reservations = res.reservations;
    if (limits.length === 0) return new Ticket(this, targets, reservations, limits, est, undefined);
    const refusal = this.limiter.acquire(limits, now);
    if (refusal instanceof Promise)
      return refusal.then(
        (r) => this.limited(plan, targets, limits, reservations, est, r, now),
        (e) => {
          this.undoReservations(reservations);
          throw e;
        },
      );
    return this.limited(plan, targets, limits, reservations, est, refusal, now);
  }

  /** The limiter's answer: a 429 (the reservations given back) or the ticket with the key's x-ratelimit-*. */
  private limited(
    plan: Plan,
    targets: BudgetTarget[],
    limits: LimitDescriptor[],
    reservations: Reservation[],
    est: CallEstimate,
    refusal: LimitRefusal | undefined,
    now: number,
  ): AdmitTicket {
    if (refusal) {
      this.undoReservations(reservations);
      throw rateLimited(refusal, now, plan.key && this.keyHeaders(plan.key, now));
    }
    return new Ticket(this, targets, reservations, limits, est, plan.key && this.keyHeaders(plan.key, now));
  }

  private undoReservations(reservations: readonly Reservation[]): void {
    for (const r of reservations) this.ledger.add(r.target, -r.amount, r.window);
  }

  /** The store did not answer a reservation: let the call through (counted here) or refuse with 503. */
  private dbDown(
    e: unknown,
    plan: Plan,
    targets: BudgetTarget[],
    limits: LimitDescriptor[],
    est: CallEstimate,
    now: number,
  ): AdmitTicket | Promise<AdmitTicket> {
    if (e instanceof GatewayError) throw e;
    const cause = (e as Error).message;
    if (this.g.settings.allowRequestsOnDbUnavailable) {
      if (!this.dbDownLogged) this.g.logger.warn({ error: cause }, 'budget check skipped: database unavailable');
      this.dbDownLogged = true;
      return this.finish(plan, targets, limits, NO_RESERVATIONS, est, now);
    }
    throw new GatewayError(503, {
      message:
        `Budget enforcement unavailable: the database at ${this.g.store.where} did not answer (${cause}). ` +
        'Set general_settings.allow_requests_on_db_unavailable: true to let calls through while it is down.',
      type: 'no_db_connection',
      errorClass: 'overloaded',
    });
  }

  /** x-ratelimit-* of a key with limits (LiteLLM returns the key's when it has them, else the provider's). */
  private keyHeaders(d: LimitDescriptor, now: number): Record<string, string> {
    const st = this.limiter.state(d, now);
    const h: Record<string, string> = {};
    const reset = `${Math.max(0, Math.ceil((st.resetAt - now) / 1000))}s`;
    if (d.rpm !== undefined) {
      h['x-ratelimit-limit-requests'] = String(d.rpm);
      h['x-ratelimit-remaining-requests'] = String(Math.max(0, d.rpm - st.requests));
      h['x-ratelimit-reset-requests'] = reset;
    }
    if (d.tpm !== undefined) {
      h['x-ratelimit-limit-tokens'] = String(d.tpm);
      h['x-ratelimit-remaining-tokens'] = String(Math.max(0, d.tpm - st.tokens));
      h['x-ratelimit-reset-tokens'] = reset;
    }
    return h;
  }

  /** Called once by the ticket when the request settled. */
  settled(t: Ticket, event: SettledEvent): void {
    let cost = event.responseCost ?? 0;
    // a client that left before any usage was reported still cost its input (the upstream read it)
    if (event.status === 'client_abort' && !event.usageReported) cost = t.est.input;
    for (const target of t.targets) {
      let r: Reservation | undefined;
      for (const x of t.reservations) if (x.target === target) r = x;
      if (r) this.ledger.add(target, cost - r.amount, r.window);
      else this.ledger.add(target, cost);
    }
    if (t.limits.length > 0) this.limiter.release(t.limits, event.usage.total, this.g.now());
  }

  private planOf(rec: AuthRecord): Plan {
    let plan = this.plans.get(rec);
    if (plan) return plan;
    const targets = recordTargets(rec);
    const { key, user, team } = rec;
    const limits: LimitDescriptor[] = [];
    const kb = key.budget_id ? rec.budgets.get(key.budget_id) : undefined;
    const keyD = descriptor('api_key', key.token, key, kb);
    if (keyD) limits.push(keyD);
    const userD = user && descriptor('user', user.user_id, user);
    if (userD) limits.push(userD);
    const teamD = team && descriptor('team', team.team_id, team);
    if (teamD) limits.push(teamD);
    const modelRpm = parseJson<Record<string, number>>(key.model_rpm_limit, {});
    const modelTpm = parseJson<Record<string, number>>(key.model_tpm_limit, {});
    let modelBudgets: Map<string, BudgetTarget> | undefined;
    for (const [model, b] of Object.entries(parseJson<Record<string, object>>(key.model_max_budget, {}))) {
      const t = b && typeof b === 'object' ? keyModelTarget(key.token, key.key_alias, model, b) : undefined;
      if (t) (modelBudgets ??= new Map()).set(model, t);
    }
    plan = {
      targets,
      budgeted: targets.filter((t) => t.maxBudget !== undefined),
      limits,
      key: keyD,
      keyHash: key.token,
      modelRpm: Object.keys(modelRpm).length > 0 ? modelRpm : undefined,
      modelTpm: Object.keys(modelTpm).length > 0 ? modelTpm : undefined,
      modelBudgets,
    };
    this.plans.set(rec, plan);
    return plan;
  }

  /** The end user a request names (cached like keys; a change notice drops the cache). */
  private endUser(id: string): EndUser | null | Promise<EndUser | null> {
    const now = this.g.now();
    const c = this.endUsers.get(id);
    if (c && now - c.at < this.g.settings.authCacheTtlMs) return c.v;
    const keep = (v: EndUser | null) => {
      if (this.endUsers.size >= 10_000) this.endUsers.clear();
      this.endUsers.set(id, { at: now, v });
      return v;
    };
    const build = (row: EndUserRow | undefined, budget: BudgetRow | undefined): EndUser | null =>
      row ? { row, target: endUserTarget(row, budget), limits: descriptor('end_user', row.user_id, budget) } : null;
    const sqlite = this.g.store.sqlite;
    if (sqlite) {
      this.endUserSql ??= {
        row: sqlite.prepare('SELECT * FROM end_users WHERE user_id = ?'),
        budget: sqlite.prepare('SELECT * FROM budgets WHERE budget_id = ?'),
      };
      const row = this.endUserSql.row.get(id) as EndUserRow | undefined;
      const budget = row?.budget_id ? (this.endUserSql.budget.get(row.budget_id) as BudgetRow | undefined) : undefined;
      return keep(build(row, budget));
    }
    const db = this.g.store.db;
    return (async () => {
      const row = await db.selectFrom('end_users').selectAll().where('user_id', '=', id).executeTakeFirst();
      const budget = row?.budget_id
        ? await db.selectFrom('budgets').selectAll().where('budget_id', '=', row.budget_id).executeTakeFirst()
        : undefined;
      return keep(build(row, budget));
    })();
  }
}

class Ticket implements AdmitTicket {
  private done = false;
  constructor(
    private readonly adm: GovernanceAdmission,
    readonly targets: readonly BudgetTarget[],
    readonly reservations: readonly Reservation[],
    readonly limits: readonly LimitDescriptor[],
    readonly est: CallEstimate,
    readonly headers: Readonly<Record<string, string>> | undefined,
  ) {}

  settle(event: SettledEvent): void {
    if (this.done) return;
    this.done = true;
    this.adm.settled(this, event);
  }
}

type Limits = {
  rpm_limit: number | null;
  tpm_limit: number | null;
  max_parallel_requests: number | null;
};

/** A descriptor from a row's limits (a `budgets` row's fill what the row leaves unset); undefined: no limit. */
function descriptor(
  type: LimitDescriptor['type'],
  id: string,
  row: Limits | undefined,
  budget?: Limits,
): LimitDescriptor | undefined {
  const rpm = row?.rpm_limit ?? budget?.rpm_limit ?? undefined;
  const tpm = row?.tpm_limit ?? budget?.tpm_limit ?? undefined;
  const maxParallel = row?.max_parallel_requests ?? budget?.max_parallel_requests ?? undefined;
  if (rpm === undefined && tpm === undefined && maxParallel === undefined) return undefined;
  return { type, id, rpm, tpm, maxParallel };
}

/** 429 budget_exceeded naming the budget and its figures; Retry-After: seconds until it resets. */
function budgetExceeded(r: BudgetRefusal, now: number): GatewayError {
  const retry = r.resetAt === null ? undefined : String(Math.max(1, Math.ceil((r.resetAt - now) / 1000)));
  // a per-model budget has its own words in LiteLLM; the others start the same way
  const prefix = r.target.kind === 'model' ? '' : 'Budget has been exceeded! ';
  return new GatewayError(429, {
    message: `${prefix}${r.target.label} Current cost: ${r.spend}, Max budget: ${r.max}`,
    type: 'budget_exceeded',
    errorClass: 'rate_limit',
    retryAfter: retry,
  });
}

/** 429 in the words of LiteLLM's v3 limiter, with retry-after, rate_limit_type and the key's x-ratelimit-*. */
function rateLimited(r: LimitRefusal, now: number, keyHeaders: Record<string, string> | undefined): GatewayError {
  const d = r.descriptor;
  const resetAt = new Date(r.resetAt).toISOString().replace('T', ' ').slice(0, 19);
  const retry = String(Math.max(1, Math.ceil((r.resetAt - now) / 1000)));
  return new GatewayError(429, {
    message:
      `Rate limit exceeded for ${d.type}: ${d.id}. Limit type: ${r.limitType}. ` +
      `Current limit: ${r.limit}, Remaining: 0. Limit resets at: ${resetAt} UTC`,
    errorClass: 'rate_limit',
    retryAfter: retry,
    headers: {
      ...keyHeaders,
      rate_limit_type: r.limitType === 'max_parallel_requests' ? 'concurrent_requests' : r.limitType,
      reset_at: new Date(r.resetAt).toISOString(),
    },
  });
}
