/**
 * Who a call is charged to, as LiteLLM charges (reference: "who is charged"): the key; the key's user unless
 * it is a team key (a team key spends the team's budget, not the user's); the team; the user's membership in
 * that team; the org; the end user the request names; and the proxy as a whole (litellm_settings.max_budget).
 * Each is a row with a `spend` column; those with a budget get a reservation before the call.
 */
import type { BudgetRow, EndUserRow } from '../db/schema.js';
import type { AuthRecord } from '../types.js';

export type TargetKind = 'key' | 'model' | 'user' | 'team' | 'member' | 'org' | 'end_user' | 'proxy';
export type SpendTable = 'keys' | 'users' | 'teams' | 'team_members' | 'organizations' | 'end_users' | 'model_spend';

export interface BudgetTarget {
  kind: TargetKind;
  /** unique across kinds (`key:<hash>`): the queue key of its pending writes */
  id: string;
  table: SpendTable;
  /** `token = ?`, `team_id = ? AND user_id = ?`: the row, with `params` */
  where: string;
  params: readonly string[];
  /** USD; undefined: charged after the call, never refused */
  maxBudget?: number;
  softBudget?: number;
  /** budget_duration; undefined: the spend never resets */
  duration?: string;
  /** memberships keep their window on their `budgets` row (shared by every member it is given to) */
  windowBudgetId?: string;
  /** how the refusal names it: `Key=prod (sk-...abcd)`, `Team=t1`, `User=u1 in Team=t1` */
  label: string;
  /** the statement (with `params`) that creates the row when it is missing (per-model spend rows) */
  insert?: string;
}

/** The user row that holds the proxy-wide spend (LiteLLM keeps it in its user table under this id). */
export const PROXY_BUDGET_USER = 'litellm-proxy-budget';

const n = (v: number | null | undefined) => (v === null || v === undefined ? undefined : v);

type BudgetFields = Pick<BudgetRow, 'max_budget' | 'soft_budget' | 'budget_duration'>;

/** A row charged with the budget `b` (its own columns, or the `budgets` row it points at). */
function target(
  kind: TargetKind,
  table: SpendTable,
  where: string,
  params: string[],
  b: BudgetFields | undefined,
  label: string,
): BudgetTarget {
  return {
    kind,
    id: `${kind}:${params.join(':')}`,
    table,
    where,
    params,
    maxBudget: n(b?.max_budget),
    softBudget: n(b?.soft_budget),
    duration: b?.budget_duration ?? undefined,
    label,
  };
}

/** The targets a virtual key's record charges (the end user and the proxy are added per request). */
export function recordTargets(rec: AuthRecord): BudgetTarget[] {
  const { key, team, user, membership, org, budgets } = rec;
  const budgetOf = (id: string | null) => (id ? budgets.get(id) : undefined);
  // the key's own budget, else the budgets row it points at
  const kb = key.max_budget !== null ? key : (budgetOf(key.budget_id) ?? key);
  const out = [target('key', 'keys', 'token = ?', [key.token], kb, `Key=${key.key_alias ?? 'None'} (${key.key_name})`)];
  if (user && !key.team_id)
    out.push(target('user', 'users', 'user_id = ?', [user.user_id], user, `User=${user.user_id}`));
  if (team) out.push(target('team', 'teams', 'team_id = ?', [team.team_id], team, `Team=${team.team_id}`));
  if (team && membership) {
    const b = budgetOf(membership.budget_id);
    const { team_id, user_id } = membership;
    const t = target('member', 'team_members', 'team_id = ? AND user_id = ?', [team_id, user_id], b, '');
    out.push({ ...t, windowBudgetId: b?.budget_id, label: `User=${user_id} in Team=${team_id}` });
  }
  if (org) {
    const id = org.organization_id;
    out.push(
      target('org', 'organizations', 'organization_id = ?', [id], budgetOf(org.budget_id), `Organization=${id}`),
    );
  }
  return out;
}

/** A key's budget for one model (`model_max_budget: {model: {budget_limit, time_period}}`), in `model_spend`. */
export function keyModelTarget(
  keyHash: string,
  keyAlias: string | null,
  model: string,
  budget: { budget_limit?: unknown; time_period?: unknown },
): BudgetTarget | undefined {
  const max = budget.budget_limit;
  if (typeof max !== 'number' || !Number.isFinite(max)) return undefined;
  return {
    kind: 'model',
    id: `model:key:${keyHash}:${model}`,
    table: 'model_spend',
    where: "entity_type = 'key' AND entity_id = ? AND model = ?",
    params: [keyHash, model],
    maxBudget: max,
    duration: typeof budget.time_period === 'string' ? budget.time_period : undefined,
    // LiteLLM's words for a per-model budget
    label: `LiteLLM Virtual Key: ${keyHash}, key_alias: ${keyAlias ?? 'None'}, exceeded budget for model=${model}.`,
    insert:
      "INSERT INTO model_spend (entity_type, entity_id, model, spend) VALUES ('key', ?, ?, 0) ON CONFLICT DO NOTHING",
  };
}

/** An end user's target: its budget is a `budgets` row, its window its own `budget_reset_at`. */
export function endUserTarget(row: EndUserRow, budget: BudgetRow | undefined): BudgetTarget {
  return target('end_user', 'end_users', 'user_id = ?', [row.user_id], budget, `End User=${row.user_id}`);
}

/** The proxy-wide budget (litellm_settings.max_budget / budget_duration). */
export function proxyTarget(maxBudget: number, duration: string | undefined): BudgetTarget {
  const b = { max_budget: maxBudget, soft_budget: null, budget_duration: duration ?? null };
  return target('proxy', 'users', 'user_id = ?', [PROXY_BUDGET_USER], b, 'Proxy=litellm_settings.max_budget');
}
