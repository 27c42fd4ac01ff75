/**
 * Customers / end users (LiteLLM_EndUserTable): the `user` of a request or its x-litellm-customer-id.
 * /customer/new|update|delete|info|list|block|unblock (and the /end_user/* aliases); a customer's limits live
 * in a budgets row it points at, made from the budget fields of /customer/new or /customer/update.
 */
import type { Updateable } from 'kysely';
import type { JsonObject } from '../../wire.js';
import type { EndUserRow, EndUsersTable } from '../db/schema.js';
import { parseJson } from '../db/schema.js';
import type { Governance } from '../governance.js';
import type { GovernedPrincipal } from '../types.js';
import { budgetView, getBudget, insertBudget, patchBudget, readBudgetFields, sentBudgetFields } from './budgets.js';
import {
  actor,
  invalid,
  notFound,
  optBool,
  optMoney,
  optObject,
  optString,
  optStringList,
  reqString,
} from './common.js';
import { budgetsById } from './views.js';

function customerView(c: EndUserRow, budget: ReturnType<typeof budgetView> | null): Record<string, unknown> {
  return {
    user_id: c.user_id,
    alias: c.alias,
    spend: c.spend,
    blocked: c.blocked === 1,
    allowed_model_region: c.allowed_model_region,
    default_model: c.default_model,
    budget_id: c.budget_id,
    metadata: parseJson(c.metadata, {}),
    litellm_budget_table: budget,
  };
}

async function view(g: Governance, id: string): Promise<Record<string, unknown>> {
  const c = (await getCustomer(g, id)) as EndUserRow;
  const b = c.budget_id ? await getBudget(g, c.budget_id) : undefined;
  return customerView(c, b ? budgetView(b) : null);
}

async function getCustomer(g: Governance, id: string): Promise<EndUserRow | undefined> {
  return g.store.db.selectFrom('end_users').selectAll().where('user_id', '=', id).executeTakeFirst();
}

const missing = (id: string, param: string) => notFound(param, `End User Id=${id} does not exist in db`);

/** The end-user columns (not budget ones) a new/update body sets. */
function readCustomerFields(g: Governance, body: JsonObject): Updateable<EndUsersTable> {
  const out: Updateable<EndUsersTable> = {};
  const alias = optString(body, 'alias');
  if (alias !== undefined) out.alias = alias;
  const blocked = optBool(body, 'blocked');
  if (blocked !== undefined) out.blocked = blocked ? 1 : 0;
  const region = optString(body, 'allowed_model_region');
  if (region !== undefined) {
    if (region !== null && region !== 'eu' && region !== 'us')
      throw invalid(
        'allowed_model_region',
        `allowed_model_region must be "eu" or "us". Received: ${JSON.stringify(region)}`,
      );
    out.allowed_model_region = region;
  }
  const model = optString(body, 'default_model');
  if (model !== undefined) {
    if (model !== null && !g.table.groups.has(model) && !g.table.aliases.has(model)) {
      const names = [...g.table.groups.keys()].join(', ');
      throw invalid(
        'default_model',
        'Default Model not on proxy. Configure via `/model/new` or config.yaml. ' +
          `Default_model=${model}, proxy_model_names={${names}}`,
      );
    }
    out.default_model = model;
  }
  const metadata = optObject(body, 'metadata');
  if (metadata) out.metadata = JSON.stringify(metadata);
  const spend = optMoney(body, 'spend');
  if (spend !== undefined && spend !== null) out.spend = spend;
  return out;
}

/** A budget_id the body links to: it must exist. */
async function linkedBudget(g: Governance, body: JsonObject): Promise<string | null | undefined> {
  const id = optString(body, 'budget_id');
  if (id && !(await getBudget(g, id))) throw notFound('budget_id', `Budget not found, passed budget_id=${id}`);
  return id;
}

/** POST /customer/new (and /end_user/new) */
export async function createCustomer(g: Governance, p: GovernedPrincipal, body: JsonObject): Promise<unknown> {
  const userId = reqString(body, 'user_id');
  const fields = readCustomerFields(g, body);
  const budget = readBudgetFields(g, body);
  if (body.max_budget !== undefined && body.max_budget !== null && body.budget_id)
    throw invalid('budget_id', 'Set either max_budget or budget_id, not both.');
  const budgetId = await linkedBudget(g, body);
  if (await getCustomer(g, userId))
    throw invalid('user_id', `Customer already exists, passed user_id=${userId}. Please pass a new user_id.`);
  let link: string | null = budgetId ?? null;
  let resetAt: number | null = null;
  if (sentBudgetFields(body)) {
    const b = await insertBudget(g, budget, actor(p));
    link = b.budget_id;
    resetAt = b.budget_reset_at;
  }
  const now = g.now();
  await g.store.db
    .insertInto('end_users')
    .values({
      user_id: userId,
      alias: null,
      spend: 0,
      blocked: 0,
      allowed_model_region: null,
      default_model: null,
      metadata: '{}',
      ...fields,
      budget_id: link,
      budget_reset_at: resetAt,
      created_at: now,
      updated_at: now,
    })
    .execute();
  g.changed({ kind: 'end_user', id: userId });
  return view(g, userId);
}

/**
 * POST /customer/update: only the fields sent change. Budget fields update the customer's budget row (a new
 * one when it has none); `budget_id` links another budget.
 */
export async function updateCustomer(g: Governance, p: GovernedPrincipal, body: JsonObject): Promise<unknown> {
  const userId = reqString(body, 'user_id');
  const fields = readCustomerFields(g, body);
  const budget = readBudgetFields(g, body);
  const budgetId = await linkedBudget(g, body);
  const c = await getCustomer(g, userId);
  if (!c) throw missing(userId, 'user_id');
  const set: Updateable<EndUsersTable> = { ...fields, updated_at: g.now() };
  if (budgetId !== undefined) set.budget_id = budgetId;
  if (sentBudgetFields(body)) {
    const current = set.budget_id !== undefined ? set.budget_id : c.budget_id;
    if (current) await patchBudget(g, current, budget, actor(p));
    else set.budget_id = (await insertBudget(g, budget, actor(p))).budget_id;
    if (budget.budget_reset_at !== undefined) set.budget_reset_at = budget.budget_reset_at;
  }
  await g.store.db.updateTable('end_users').set(set).where('user_id', '=', userId).execute();
  g.changed({ kind: 'end_user', id: userId });
  return view(g, userId);
}

/** Python's str() of a list of strings, as LiteLLM's delete message shows the ids. */
const pyList = (ids: string[]) => `[${ids.map((i) => `'${i}'`).join(', ')}]`;

/** POST /customer/delete `{user_ids}`: every id must exist (LiteLLM's 404 lists the missing ones). */
export async function deleteCustomers(g: Governance, body: JsonObject): Promise<unknown> {
  const ids = optStringList(body, 'user_ids');
  if (!ids || ids.length === 0)
    throw invalid('user_ids', `user_id is required, passed user_id = ${JSON.stringify(ids ?? null)}`);
  const found = await g.store.db.selectFrom('end_users').select('user_id').where('user_id', 'in', ids).execute();
  const have = new Set(found.map((r) => r.user_id));
  const absent = ids.filter((i) => !have.has(i));
  if (absent.length > 0) throw notFound('user_ids', `End User Id(s)=${absent.join(', ')} do not exist in db`);
  const r = await g.store.db.deleteFrom('end_users').where('user_id', 'in', ids).executeTakeFirst();
  for (const id of ids) g.changed({ kind: 'end_user', id });
  return {
    deleted_customers: Number(r.numDeletedRows),
    message: `Successfully deleted customers with ids: ${pyList(ids)}`,
  };
}

/** GET /customer/info?end_user_id= */
export async function customerInfo(g: Governance, query: URLSearchParams): Promise<unknown> {
  const id = query.get('end_user_id');
  if (!id) throw invalid('end_user_id', 'end_user_id is required');
  if (!(await getCustomer(g, id))) throw missing(id, 'end_user_id');
  return view(g, id);
}

/** GET /customer/list */
export async function listCustomers(g: Governance): Promise<unknown> {
  const rows = await g.store.db.selectFrom('end_users').selectAll().orderBy('created_at').orderBy('user_id').execute();
  const budgets = await budgetsById(
    g,
    rows.map((r) => r.budget_id),
  );
  return rows.map((c) => {
    const b = c.budget_id ? budgets.get(c.budget_id) : undefined;
    return customerView(c, b ? budgetView(b) : null);
  });
}

/**
 * POST /customer/block and /customer/unblock `{user_ids}`: as LiteLLM's block, an unknown id is created
 * blocked (so a customer can be refused before its first request). Answers the records.
 */
export async function setCustomersBlocked(g: Governance, body: JsonObject, blocked: boolean): Promise<unknown> {
  const ids = optStringList(body, 'user_ids');
  if (!ids || ids.length === 0) throw invalid('user_ids', 'user_ids is required: a list of customer ids');
  const now = g.now();
  for (const id of ids) {
    const r = await g.store.db
      .updateTable('end_users')
      .set({ blocked: blocked ? 1 : 0, updated_at: now })
      .where('user_id', '=', id)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0 && blocked)
      await g.store.db
        .insertInto('end_users')
        .values({
          user_id: id,
          alias: null,
          spend: 0,
          budget_id: null,
          blocked: 1,
          allowed_model_region: null,
          default_model: null,
          metadata: '{}',
          budget_reset_at: null,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.column('user_id').doUpdateSet({ blocked: 1, updated_at: now }))
        .execute();
    g.changed({ kind: 'end_user', id });
  }
  const rows = await g.store.db.selectFrom('end_users').selectAll().where('user_id', 'in', ids).execute();
  const records = rows.map((c) => customerView(c, null));
  return blocked ? { blocked_users: records } : { unblocked_users: records };
}
