/**
 * Team memberships: who is in a team with which role, and each member's budget inside it. Shared by
 * /team/member_* , /team/new's `members_with_roles` and /user/new's `teams`.
 */

import type { Updateable } from 'kysely';
import type { JsonObject } from '../../wire.js';
import type { TeamMemberRow, TeamRow, UserRow, UsersTable } from '../db/schema.js';
import { parseJson } from '../db/schema.js';
import type { Governance } from '../governance.js';
import type { GovernedPrincipal } from '../types.js';
import { insertBudget } from './budgets.js';
import { forbidden, invalid, isAdmin, NO_LIMITS, newId, notFound } from './common.js';

/** One entry of `member` / `members_with_roles`: `{role, user_id | user_email}`. */
export interface MemberInput {
  role: 'admin' | 'user';
  user_id?: string;
  user_email?: string;
}

/** Read `member` (one object or a list) from `field`; 400 naming the field when malformed. */
export function readMembers(v: unknown, field: string): MemberInput[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((m, i) => {
    const at = Array.isArray(v) ? `${field}[${i}]` : field;
    if (!m || typeof m !== 'object' || Array.isArray(m))
      throw invalid(field, `${at} must be an object {role, user_id | user_email}. Received: ${JSON.stringify(m)}`);
    const o = m as JsonObject;
    const role = o.role ?? 'user';
    if (role !== 'admin' && role !== 'user')
      throw invalid(field, `${at}.role must be "admin" or "user". Received: ${JSON.stringify(o.role)}`);
    const userId = typeof o.user_id === 'string' && o.user_id !== '' ? o.user_id : undefined;
    const email = typeof o.user_email === 'string' && o.user_email !== '' ? o.user_email : undefined;
    if (!userId && !email) throw invalid(field, `${at} needs a user_id or a user_email`);
    return { role, user_id: userId, user_email: email };
  });
}

/**
 * The user a member entry names, created when unknown (as LiteLLM's /team/member_add does): by id, else by
 * email (a new user by email gets a uuid). `created` lists users made here.
 */
export async function resolveUser(
  g: Governance,
  m: { user_id?: string; user_email?: string },
  created: UserRow[],
): Promise<UserRow> {
  const db = g.store.db;
  let u: UserRow | undefined;
  if (m.user_id) u = await db.selectFrom('users').selectAll().where('user_id', '=', m.user_id).executeTakeFirst();
  else if (m.user_email)
    u = await db.selectFrom('users').selectAll().where('user_email', '=', m.user_email).executeTakeFirst();
  if (u) return u;
  const made = await insertUser(g, { user_id: m.user_id ?? newId(), user_email: m.user_email ?? null });
  created.push(made);
  return made;
}

/** Insert a user row: `fields` over the defaults (an internal_user with no limits); returns it. */
export async function insertUser(
  g: Governance,
  fields: Updateable<UsersTable> & { user_id: string },
): Promise<UserRow> {
  const now = g.now();
  await g.store.db
    .insertInto('users')
    .values({
      user_alias: null,
      user_email: null,
      user_role: 'internal_user',
      organization_id: null,
      ...NO_LIMITS,
      models: '[]',
      metadata: '{}',
      model_max_budget: '{}',
      spend: 0,
      ...fields,
      created_at: now,
      updated_at: now,
    })
    .execute();
  return g.store.db.selectFrom('users').selectAll().where('user_id', '=', fields.user_id).executeTakeFirstOrThrow();
}

/**
 * Add `userId` to `team` (the caller checked they are not in it yet). Its budget in the team: a new budget
 * row for `maxBudgetInTeam`, else the team's shared member budget (`team_member_budget`), else none.
 */
export async function addMembership(
  g: Governance,
  team: TeamRow,
  userId: string,
  role: string,
  maxBudgetInTeam: number | undefined,
  by: string,
): Promise<TeamMemberRow> {
  let budgetId: string | null = null;
  if (maxBudgetInTeam !== undefined) budgetId = (await insertBudget(g, { max_budget: maxBudgetInTeam }, by)).budget_id;
  else {
    const d = parseJson<Record<string, unknown>>(team.member_defaults, {});
    if (typeof d.team_member_budget_id === 'string') budgetId = d.team_member_budget_id;
  }
  const row = { team_id: team.team_id, user_id: userId, role, spend: 0, budget_id: budgetId, created_at: g.now() };
  await g.store.db.insertInto('team_members').values(row).execute();
  g.changed({ kind: 'user', id: userId });
  return row;
}

export async function getTeam(g: Governance, teamId: string): Promise<TeamRow | undefined> {
  return g.store.db.selectFrom('teams').selectAll().where('team_id', '=', teamId).executeTakeFirst();
}

/** The team or LiteLLM's 404 for it. */
export async function teamOr404(g: Governance, teamId: string, param = 'team_id'): Promise<TeamRow> {
  const t = await getTeam(g, teamId);
  if (!t) throw notFound(param, `Team not found, passed team_id=${teamId}`);
  return t;
}

/** Whether the caller is an admin member of the team. */
export async function isTeamAdmin(g: Governance, p: GovernedPrincipal, teamId: string): Promise<boolean> {
  if (!p.userId) return false;
  const m = await g.store.db
    .selectFrom('team_members')
    .select('role')
    .where('team_id', '=', teamId)
    .where('user_id', '=', p.userId)
    .executeTakeFirst();
  return m?.role === 'admin';
}

/** Proxy admins and the team's admins may manage its members (LiteLLM's wording otherwise). */
export async function assertTeamManager(g: Governance, p: GovernedPrincipal, teamId: string, route: string) {
  if (isAdmin(p) || (await isTeamAdmin(g, p, teamId))) return;
  throw forbidden(`Call not allowed. User not proxy admin OR team admin. route=${route}, team_id=${teamId}`);
}
