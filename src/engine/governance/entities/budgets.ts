/**
 * Budgets (LiteLLM's LiteLLM_BudgetTable): reusable limits that end users, team memberships, orgs and keys
 * point at through `budget_id`. The budget and limit fields of a request body are read here for every entity
 * that has them (budgets, users, teams, customers' budget rows).
 */
import type { Insertable, Updateable } from 'kysely';
import type { JsonObject } from '../../wire.js';
import { nextResetAt } from '../budgets/reset.js';
import type { BudgetRow, BudgetsTable } from '../db/schema.js';
import { parseJson } from '../db/schema.js';
import type { Governance } from '../governance.js';
import type { GovernedPrincipal } from '../types.js';
import {
  actor,
  invalid,
  iso,
  NO_LIMITS,
  newId,
  notFound,
  optCount,
  optDuration,
  optModelMaxBudget,
  optMoney,
  optString,
  sent,
} from './common.js';

type BudgetFields = Updateable<BudgetsTable>;

/** The names /budget/new reads (BudgetNewRequest), budget_id aside. */
export const BUDGET_FIELDS = [
  'max_budget',
  'soft_budget',
  'max_parallel_requests',
  'tpm_limit',
  'rpm_limit',
  'budget_duration',
  'model_max_budget',
  'budget_reset_at',
] as const;

/**
 * The budget and limit fields `body` sent (validated; 400 naming the first bad one): the columns budgets share
 * with users and teams. A new `budget_duration` without an explicit `budget_reset_at` starts its first window
 * now, aligned (LiteLLM's get_budget_reset_time).
 */
export function readBudgetFields(g: Governance, body: JsonObject): BudgetFields {
  const out: BudgetFields = {};
  const max = optMoney(body, 'max_budget');
  if (max !== undefined) out.max_budget = max;
  const soft = optMoney(body, 'soft_budget');
  if (soft !== undefined) out.soft_budget = soft;
  for (const k of ['max_parallel_requests', 'tpm_limit', 'rpm_limit'] as const) {
    const v = optCount(body, k);
    if (v !== undefined) out[k] = v;
  }
  const mmb = optModelMaxBudget(body, 'model_max_budget');
  if (mmb !== undefined) out.model_max_budget = JSON.stringify(mmb);
  const duration = optDuration(body, 'budget_duration');
  if (duration !== undefined) {
    out.budget_duration = duration;
    out.budget_reset_at = duration === null ? null : nextResetAt(duration, g.now(), g.settings.timezone);
  }
  const resetAt = optString(body, 'budget_reset_at');
  if (resetAt !== undefined && resetAt !== null) {
    const t = Date.parse(resetAt);
    if (Number.isNaN(t))
      throw invalid(
        'budget_reset_at',
        `budget_reset_at must be an ISO 8601 time. Received: ${JSON.stringify(resetAt)}`,
      );
    out.budget_reset_at = t;
  }
  return out;
}

/** Whether `body` sent any budget field (customers and memberships create a budget row only then). */
export const sentBudgetFields = (body: JsonObject): boolean => BUDGET_FIELDS.some((k) => sent(body, k));

/** A budget row as LiteLLM answers it (JSON parsed, times ISO). */
export function budgetView(b: BudgetRow): Record<string, unknown> {
  return {
    budget_id: b.budget_id,
    max_budget: b.max_budget,
    soft_budget: b.soft_budget,
    max_parallel_requests: b.max_parallel_requests,
    tpm_limit: b.tpm_limit,
    rpm_limit: b.rpm_limit,
    model_max_budget: parseJson(b.model_max_budget, {}),
    budget_duration: b.budget_duration,
    budget_reset_at: iso(b.budget_reset_at),
    created_at: iso(b.created_at),
    created_by: b.created_by,
    updated_at: iso(b.updated_at),
    updated_by: b.updated_by,
  };
}

/** Insert a budget row from validated fields; returns it. */
export async function insertBudget(
  g: Governance,
  fields: BudgetFields,
  by: string,
  budgetId: string = newId(),
): Promise<BudgetRow> {
  const now = g.now();
  const row: Insertable<BudgetsTable> = {
    budget_id: budgetId,
    ...NO_LIMITS,
    model_max_budget: '{}',
    ...fields,
    created_at: now,
    created_by: by,
    updated_at: now,
    updated_by: by,
  };
  await g.store.db.insertInto('budgets').values(row).execute();
  return (await getBudget(g, budgetId)) as BudgetRow;
}

export async function getBudget(g: Governance, id: string): Promise<BudgetRow | undefined> {
  return g.store.db.selectFrom('budgets').selectAll().where('budget_id', '=', id).executeTakeFirst();
}

/** Update a budget row's fields (those given); tells caches. */
export async function patchBudget(g: Governance, id: string, fields: BudgetFields, by: string): Promise<void> {
  await g.store.db
    .updateTable('budgets')
    .set({ ...fields, updated_at: g.now(), updated_by: by })
    .where('budget_id', '=', id)
    .execute();
  g.changed({ kind: 'budget', id });
}

const budgetMissing = (id: string) => notFound('budget_id', `Budget not found, passed budget_id=${id}`);

/** POST /budget/new */
export async function createBudget(g: Governance, p: GovernedPrincipal, body: JsonObject): Promise<unknown> {
  const id = optString(body, 'budget_id') ?? newId();
  const fields = readBudgetFields(g, body);
  if (await getBudget(g, id)) throw invalid('budget_id', `Budget with id '${id}' already exists.`);
  return budgetView(await insertBudget(g, fields, actor(p), id));
}

/** POST /budget/update: only the fields sent change. */
export async function updateBudget(g: Governance, p: GovernedPrincipal, body: JsonObject): Promise<unknown> {
  const id = optString(body, 'budget_id');
  if (!id) throw invalid('budget_id', 'budget_id is required');
  const fields = readBudgetFields(g, body);
  if (!(await getBudget(g, id))) throw budgetMissing(id);
  await patchBudget(g, id, fields, actor(p));
  return budgetView((await getBudget(g, id)) as BudgetRow);
}

/** POST /budget/info `{budgets: [ids]}` */
export async function budgetInfo(g: Governance, body: JsonObject): Promise<unknown> {
  const ids = body.budgets;
  if (!Array.isArray(ids) || ids.length === 0 || ids.some((x) => typeof x !== 'string'))
    throw invalid('budgets', `Specify list of budget id's to query. Passed in=${JSON.stringify(ids ?? null)}`);
  const rows = await g.store.db
    .selectFrom('budgets')
    .selectAll()
    .where('budget_id', 'in', ids as string[])
    .execute();
  return rows.map(budgetView);
}

/** GET /budget/list */
export async function listBudgets(g: Governance): Promise<unknown> {
  const rows = await g.store.db.selectFrom('budgets').selectAll().orderBy('created_at').orderBy('budget_id').execute();
  return rows.map(budgetView);
}

const SETTINGS: { name: (typeof BUDGET_FIELDS)[number]; type: string; description: string }[] = [
  { name: 'max_budget', type: 'Float', description: 'Max spend (USD) in one budget window.' },
  { name: 'soft_budget', type: 'Float', description: 'Spend (USD) at which an alert is sent; calls still pass.' },
  { name: 'max_parallel_requests', type: 'Integer', description: 'Max requests in flight at once.' },
  { name: 'tpm_limit', type: 'Integer', description: 'Max tokens per minute.' },
  { name: 'rpm_limit', type: 'Integer', description: 'Max requests per minute.' },
  { name: 'budget_duration', type: 'String', description: 'Window after which spend resets (30s, 1h, 1d, 30d).' },
  { name: 'model_max_budget', type: 'Object', description: 'Per-model budgets: {model: {budget_limit, time_period}}.' },
];

/** GET /budget/settings?budget_id= : each configurable field with its current value (LiteLLM's ConfigList). */
export async function budgetSettings(g: Governance, query: URLSearchParams): Promise<unknown> {
  const id = query.get('budget_id');
  if (!id) throw invalid('budget_id', 'budget_id is required');
  const row = await getBudget(g, id);
  const view = row ? budgetView(row) : {};
  return SETTINGS.map((s) => ({
    field_name: s.name,
    field_type: s.type,
    field_description: s.description,
    field_value: view[s.name] ?? null,
    stored_in_db: true,
    field_default_value: null,
  }));
}

/**
 * POST /budget/delete `{id}`: the row goes, and whatever pointed at it (end users, memberships, keys, orgs)
 * is left without a budget rather than pointing at nothing.
 */
export async function deleteBudget(g: Governance, body: JsonObject): Promise<unknown> {
  const id = optString(body, 'id');
  if (!id) throw invalid('id', 'id is required: the budget_id to delete');
  const row = await getBudget(g, id);
  if (!row) throw budgetMissing(id);
  await g.store.db.transaction().execute(async (tx) => {
    await tx.updateTable('end_users').set({ budget_id: null }).where('budget_id', '=', id).execute();
    await tx.updateTable('team_members').set({ budget_id: null }).where('budget_id', '=', id).execute();
    await tx.updateTable('keys').set({ budget_id: null }).where('budget_id', '=', id).execute();
    await tx.updateTable('organizations').set({ budget_id: null }).where('budget_id', '=', id).execute();
    await tx.deleteFrom('budgets').where('budget_id', '=', id).execute();
  });
  // keys, memberships and end users that held it were cached with it
  g.changed({ kind: 'budget', id });
  g.changed({ kind: 'all' });
  return budgetView(row);
}
