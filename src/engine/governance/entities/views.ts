/**
 * Rows as LiteLLM's management API answers them: JSON columns parsed, 0/1 as booleans, epoch ms as ISO
 * times, and the fields LiteLLM's clients read (`members_with_roles`, `litellm_budget_table`, ...).
 */
import type { BudgetRow, KeyRow, TeamMemberRow, TeamRow, UserRow } from '../db/schema.js';
import { parseJson } from '../db/schema.js';
import type { Governance } from '../governance.js';
import { budgetView } from './budgets.js';
import { iso } from './common.js';

/**
 * A key row without the key itself (never stored): `token` is its sha256, what /key/info and /key/delete take.
 * TODO(keys): the keys area answers /key/info with its own view; use it here at merge so both agree.
 */
export function keyView(k: KeyRow): Record<string, unknown> {
  return {
    token: k.token,
    key_name: k.key_name,
    key_alias: k.key_alias,
    user_id: k.user_id,
    team_id: k.team_id,
    organization_id: k.organization_id,
    models: parseJson(k.models, []),
    aliases: parseJson(k.aliases, {}),
    metadata: parseJson(k.metadata, {}),
    tags: parseJson(k.tags, []),
    blocked: k.blocked === 1,
    expires: iso(k.expires),
    spend: k.spend,
    max_budget: k.max_budget,
    soft_budget: k.soft_budget,
    budget_duration: k.budget_duration,
    budget_reset_at: iso(k.budget_reset_at),
    tpm_limit: k.tpm_limit,
    rpm_limit: k.rpm_limit,
    max_parallel_requests: k.max_parallel_requests,
    model_max_budget: parseJson(k.model_max_budget, {}),
    budget_id: k.budget_id,
    key_type: k.key_type,
    created_at: iso(k.created_at),
    created_by: k.created_by,
    updated_at: iso(k.updated_at),
    updated_by: k.updated_by,
    last_active: iso(k.last_active),
  };
}

/** A user row (LiteLLM_UserTable), with `teams` (ids) as LiteLLM keeps them on the row. */
export function userView(u: UserRow, teams: string[] = []): Record<string, unknown> {
  return {
    user_id: u.user_id,
    user_alias: u.user_alias,
    user_email: u.user_email,
    user_role: u.user_role,
    organization_id: u.organization_id,
    teams,
    models: parseJson(u.models, []),
    metadata: parseJson(u.metadata, {}),
    spend: u.spend,
    max_budget: u.max_budget,
    soft_budget: u.soft_budget,
    budget_duration: u.budget_duration,
    budget_reset_at: iso(u.budget_reset_at),
    tpm_limit: u.tpm_limit,
    rpm_limit: u.rpm_limit,
    max_parallel_requests: u.max_parallel_requests,
    model_max_budget: parseJson(u.model_max_budget, {}),
    created_at: iso(u.created_at),
    updated_at: iso(u.updated_at),
  };
}

/** LiteLLM's `Member`: `{role, user_id, user_email}`. */
export interface MemberView {
  role: string;
  user_id: string;
  user_email: string | null;
}

/** A team row with its members as LiteLLM lists them (`members_with_roles`, `admins`, `members`). */
export function teamView(t: TeamRow, members: MemberView[] = []): Record<string, unknown> {
  const meta = parseJson<Record<string, unknown>>(t.metadata, {});
  const defaults = parseJson<Record<string, unknown>>(t.member_defaults, {});
  return {
    team_id: t.team_id,
    team_alias: t.team_alias,
    organization_id: t.organization_id,
    admins: members.filter((m) => m.role === 'admin').map((m) => m.user_id),
    members: members.map((m) => m.user_id),
    members_with_roles: members,
    // LiteLLM keeps the member budget's id in the team's metadata; so do our answers
    metadata: defaults.team_member_budget_id
      ? { ...meta, team_member_budget_id: defaults.team_member_budget_id }
      : meta,
    models: parseJson(t.models, []),
    tags: parseJson(t.tags, []),
    blocked: t.blocked === 1,
    spend: t.spend,
    max_budget: t.max_budget,
    soft_budget: t.soft_budget,
    budget_duration: t.budget_duration,
    budget_reset_at: iso(t.budget_reset_at),
    tpm_limit: t.tpm_limit,
    rpm_limit: t.rpm_limit,
    max_parallel_requests: t.max_parallel_requests,
    model_max_budget: parseJson(t.model_max_budget, {}),
    model_rpm_limit: parseJson(t.model_rpm_limit, {}),
    model_tpm_limit: parseJson(t.model_tpm_limit, {}),
    ...memberDefaultsView(defaults),
    created_at: iso(t.created_at),
    updated_at: iso(t.updated_at),
  };
}

/** The `team_member_*` settings a team was created with (member_defaults). */
function memberDefaultsView(d: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of MEMBER_DEFAULT_FIELDS) if (d[k] !== undefined) out[k] = d[k];
  return out;
}

/** NewTeamRequest's settings for new members, kept in `teams.member_defaults`. */
export const MEMBER_DEFAULT_FIELDS = [
  'team_member_budget',
  'team_member_budget_duration',
  'team_member_rpm_limit',
  'team_member_tpm_limit',
  'team_member_key_duration',
] as const;

/** LiteLLM_TeamMembership: `{team_id, user_id, spend, budget_id, litellm_budget_table}`. */
export function membershipView(m: TeamMemberRow, budget: BudgetRow | undefined): Record<string, unknown> {
  return {
    team_id: m.team_id,
    user_id: m.user_id,
    spend: m.spend,
    budget_id: m.budget_id,
    litellm_budget_table: budget ? budgetView(budget) : null,
  };
}

/** Members of `teamIds` with their emails, by team (one query each for members and users). */
export async function membersOf(g: Governance, teamIds: string[]): Promise<Map<string, MemberView[]>> {
  const out = new Map<string, MemberView[]>();
  if (teamIds.length === 0) return out;
  const rows = await g.store.db
    .selectFrom('team_members')
    .leftJoin('users', 'users.user_id', 'team_members.user_id')
    .select(['team_members.team_id', 'team_members.user_id', 'team_members.role', 'users.user_email'])
    .where('team_members.team_id', 'in', teamIds)
    .orderBy('team_members.created_at')
    .orderBy('team_members.user_id')
    .execute();
  for (const r of rows) {
    const list = out.get(r.team_id) ?? [];
    list.push({ role: r.role, user_id: r.user_id, user_email: r.user_email ?? null });
    out.set(r.team_id, list);
  }
  return out;
}

/** Budget rows by id for the given ids (memberships, end users). */
export async function budgetsById(g: Governance, ids: (string | null)[]): Promise<Map<string, BudgetRow>> {
  const want = [...new Set(ids.filter((x): x is string => !!x))];
  if (want.length === 0) return new Map();
  const rows = await g.store.db.selectFrom('budgets').selectAll().where('budget_id', 'in', want).execute();
  return new Map(rows.map((b) => [b.budget_id, b]));
}
