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

/** The targets a virtual key's record charges (the end user and the proxy are added per request). */
export function recordTargets(rec: AuthRecord): BudgetTarget[] {
  const out: BudgetTarget[] = [];
  const { key, team, user, membership, org, budgets } = rec;
  const keyBudget = key.budget_id ? budgets.get(key.budget_id) : undefined;
  out.push({
    kind: 'key',
    id: `key:${key.token}`,
    table: 'keys',
    where: 'token = ?',
    params: [key.token],
    maxBudget: n(key.max_budget) ?? n(keyBudget?.max_budget),
    softBudget: n(key.soft_budget) ?? n(keyBudget?.soft_budget),
    duration: (key.max_budget !== null ? key.budget_duration : keyBudget?.budget_duration) ?? undefined,
    label: `Key=${key.key_alias ?? 'None'} (${key.key_name})`,
  });
  if (user && !key.team_id) {
    out.push({
      kind: 'user',
      id: `user:${user.user_id}`,
      table: 'users',
      where: 'user_id = ?',
      params: [user.user_id],
      maxBudget: n(user.max_budget),
      softBudget: n(user.soft_budget),
      duration: user.budget_duration ?? undefined,
      label: `User=${user.user_id}`,
    });
  }
  if (team) {
    out.push({
      kind: 'team',
      id: `team:${team.team_id}`,
      table: 'teams',
      where: 'team_id = ?',
      params: [team.team_id],
      maxBudget: n(team.max_budget),
      softBudget: n(team.soft_budget),
      duration: team.budget_duration ?? undefined,
      label: `Team=${team.team_id}`,
    });
  }
  if (team && membership) {
    const b = membership.budget_id ? budgets.get(membership.budget_id) : undefined;
    out.push({
      kind: 'member',
      id: `member:${membership.team_id}:${membership.user_id}`,
      table: 'team_members',
      where: 'team_id = ? AND user_id = ?',
      params: [membership.team_id, membership.user_id],
      maxBudget: n(b?.max_budget),
      softBudget: n(b?.soft_budget),
      duration: b?.budget_duration ?? undefined,
      windowBudgetId: b?.budget_id,
      label: `User=${membership.user_id} in Team=${membership.team_id}`,
    });
  }
  if (org) {
    const b = org.budget_id ? budgets.get(org.budget_id) : undefined;
    out.push({
      kind: 'org',
      id: `org:${org.organization_id}`,
      table: 'organizations',
      where: 'organization_id = ?',
      params: [org.organization_id],
      maxBudget: n(b?.max_budget),
      softBudget: n(b?.soft_budget),
      duration: b?.budget_duration ?? undefined,
      label: `Organization=${org.organization_id}`,
    });
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
  return {
    kind: 'end_user',
    id: `end_user:${row.user_id}`,
    table: 'end_users',
    where: 'user_id = ?',
    params: [row.user_id],
    maxBudget: n(budget?.max_budget),
    softBudget: n(budget?.soft_budget),
    duration: budget?.budget_duration ?? undefined,
    label: `End User=${row.user_id}`,
  };
}

/** The proxy-wide budget (litellm_settings.max_budget / budget_duration). */
export function proxyTarget(maxBudget: number, duration: string | undefined): BudgetTarget {
  return {
    kind: 'proxy',
    id: `proxy:${PROXY_BUDGET_USER}`,
    table: 'users',
    where: 'user_id = ?',
    params: [PROXY_BUDGET_USER],
    maxBudget,
    duration,
    label: 'Proxy=litellm_settings.max_budget',
  };
}
