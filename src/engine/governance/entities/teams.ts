/**
 * Teams (LiteLLM_TeamTable) and their members: /team/new|update|delete|info|list|block|unblock and
 * /team/member_add|member_delete|member_update, with LiteLLM's bodies, answers and errors.
 */
import type { Updateable } from 'kysely';
import { GatewayError } from '../../errors.js';
import type { JsonObject } from '../../wire.js';
import { nextResetAt } from '../budgets/reset.js';
import type { TeamRow, TeamsTable, UserRow } from '../db/schema.js';
import { parseJson } from '../db/schema.js';
import type { Governance } from '../governance.js';
import type { GovernedPrincipal } from '../types.js';
import { budgetView, getBudget, insertBudget, patchBudget, readBudgetFields } from './budgets.js';
import {
  actor,
  canReadAll,
  forbidden,
  invalid,
  NO_LIMITS,
  newId,
  notFound,
  optBool,
  optCount,
  optCountMap,
  optDuration,
  optMoney,
  optObject,
  optString,
  optStringList,
  reqString,
  roleName,
} from './common.js';
import {
  addMembership,
  assertTeamManager,
  getTeam,
  type MemberInput,
  readMembers,
  resolveUser,
  teamOr404,
} from './members.js';
import { budgetsById, keyView, membershipView, membersOf, teamView, userView } from './views.js';

/** The team columns a /team/new or /team/update body sets (only the fields sent). */
function readTeamFields(g: Governance, body: JsonObject): Updateable<TeamsTable> {
  const out: Updateable<TeamsTable> = readBudgetFields(g, body);
  const alias = optString(body, 'team_alias');
  if (alias !== undefined) out.team_alias = alias;
  const org = optString(body, 'organization_id');
  if (org !== undefined) out.organization_id = org;
  const models = optStringList(body, 'models');
  if (models) out.models = JSON.stringify(models);
  const tags = optStringList(body, 'tags');
  if (tags) out.tags = JSON.stringify(tags);
  const metadata = optObject(body, 'metadata');
  if (metadata) out.metadata = JSON.stringify(metadata);
  const blocked = optBool(body, 'blocked');
  if (blocked !== undefined) out.blocked = blocked ? 1 : 0;
  for (const k of ['model_rpm_limit', 'model_tpm_limit'] as const) {
    const v = optCountMap(body, k);
    if (v) out[k] = JSON.stringify(v);
  }
  return out;
}

/** `team_member_*` fields sent (validated), for member_defaults. */
function readMemberDefaults(body: JsonObject): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const budget = optMoney(body, 'team_member_budget');
  if (budget !== undefined) out.team_member_budget = budget;
  const bd = optDuration(body, 'team_member_budget_duration');
  if (bd !== undefined) out.team_member_budget_duration = bd;
  for (const k of ['team_member_rpm_limit', 'team_member_tpm_limit'] as const) {
    const v = optCount(body, k);
    if (v !== undefined) out[k] = v;
  }
  const kd = optDuration(body, 'team_member_key_duration');
  if (kd !== undefined) out.team_member_key_duration = kd;
  return out;
}

/**
 * Keep the team's shared member budget (LiteLLM's `team_member_budget_id`) in step with its member defaults:
 * created at the first team_member_budget / _rpm / _tpm, updated after. Returns the defaults to store.
 */
async function syncMemberBudget(
  g: Governance,
  current: Record<string, unknown>,
  sentDefaults: Record<string, unknown>,
  by: string,
): Promise<Record<string, unknown>> {
  const next = { ...current, ...sentDefaults };
  const touches = [
    'team_member_budget',
    'team_member_budget_duration',
    'team_member_rpm_limit',
    'team_member_tpm_limit',
  ];
  if (!touches.some((k) => k in sentDefaults)) return next;
  const duration = (next.team_member_budget_duration as string | null | undefined) ?? null;
  const fields = {
    max_budget: (next.team_member_budget as number | null | undefined) ?? null,
    budget_duration: duration,
    budget_reset_at: duration ? nextResetAt(duration, g.now(), g.settings.timezone) : null,
    rpm_limit: (next.team_member_rpm_limit as number | null | undefined) ?? null,
    tpm_limit: (next.team_member_tpm_limit as number | null | undefined) ?? null,
  };
  const id = typeof next.team_member_budget_id === 'string' ? next.team_member_budget_id : undefined;
  if (id && (await getBudget(g, id))) await patchBudget(g, id, fields, by);
  else next.team_member_budget_id = (await insertBudget(g, fields, by)).budget_id;
  return next;
}

/** POST /team/new */
export async function createTeam(g: Governance, p: GovernedPrincipal, body: JsonObject): Promise<unknown> {
  const teamId = optString(body, 'team_id') || newId();
  const fields = readTeamFields(g, body);
  const defaults = readMemberDefaults(body);
  const members = readMembers(body.members_with_roles, 'members_with_roles');
  if (await getTeam(g, teamId))
    throw invalid('team_id', `Team id = ${teamId} already exists. Please use a different team id.`);
  const by = actor(p);
  const now = g.now();
  await g.store.db
    .insertInto('teams')
    .values({
      team_id: teamId,
      team_alias: null,
      organization_id: null,
      ...NO_LIMITS,
      models: '[]',
      metadata: '{}',
      tags: '[]',
      blocked: 0,
      spend: 0,
      model_max_budget: '{}',
      model_rpm_limit: '{}',
      model_tpm_limit: '{}',
      ...fields,
      member_defaults: JSON.stringify(await syncMemberBudget(g, {}, defaults, by)),
      created_at: now,
      updated_at: now,
    })
    .execute();
  const team = (await getTeam(g, teamId)) as TeamRow;
  await addMembers(g, team, members, undefined, by);
  g.changed({ kind: 'team', id: teamId });
  return (await teamsWithMembers(g, [team]))[0];
}

/** Add members not yet in the team (LiteLLM skips those already in it when creating). */
async function addMembers(
  g: Governance,
  team: TeamRow,
  members: MemberInput[],
  maxBudgetInTeam: number | undefined,
  by: string,
): Promise<{ users: UserRow[]; memberships: Awaited<ReturnType<typeof addMembership>>[] }> {
  const created: UserRow[] = [];
  const users: UserRow[] = [];
  const memberships = [];
  for (const m of members) {
    const u = await resolveUser(g, m, created);
    const inTeam = await g.store.db
      .selectFrom('team_members')
      .select('user_id')
      .where('team_id', '=', team.team_id)
      .where('user_id', '=', u.user_id)
      .executeTakeFirst();
    if (inTeam) continue;
    memberships.push(await addMembership(g, team, u.user_id, m.role, maxBudgetInTeam, by));
    users.push(u);
  }
  return { users, memberships };
}

/** Team views with their members (one query for all). */
async function teamsWithMembers(g: Governance, teams: TeamRow[]): Promise<Record<string, unknown>[]> {
  const members = await membersOf(
    g,
    teams.map((t) => t.team_id),
  );
  return teams.map((t) => teamView(t, members.get(t.team_id) ?? []));
}

/** POST /team/update: only the fields sent change. */
export async function updateTeam(g: Governance, p: GovernedPrincipal, body: JsonObject): Promise<unknown> {
  const teamId = reqString(body, 'team_id');
  const fields = readTeamFields(g, body);
  const defaults = readMemberDefaults(body);
  const team = await teamOr404(g, teamId);
  const current = parseJson<Record<string, unknown>>(team.member_defaults, {});
  const set: Updateable<TeamsTable> = { ...fields, updated_at: g.now() };
  if (Object.keys(defaults).length > 0)
    set.member_defaults = JSON.stringify(await syncMemberBudget(g, current, defaults, actor(p)));
  await g.store.db.updateTable('teams').set(set).where('team_id', '=', teamId).execute();
  g.changed({ kind: 'team', id: teamId });
  const updated = (await getTeam(g, teamId)) as TeamRow;
  return { team_id: teamId, data: (await teamsWithMembers(g, [updated]))[0] };
}

/** POST /team/delete `{team_ids}`: the teams, their keys (as LiteLLM does) and their memberships. */
export async function deleteTeams(g: Governance, body: JsonObject): Promise<unknown> {
  const ids = optStringList(body, 'team_ids');
  if (!ids || ids.length === 0) throw invalid('team_ids', 'No team id passed in');
  for (const id of ids) await teamOr404(g, id, 'team_ids');
  const keys = await g.store.db.selectFrom('keys').select('token').where('team_id', 'in', ids).execute();
  const members = await g.store.db.selectFrom('team_members').select('user_id').where('team_id', 'in', ids).execute();
  await g.store.db.transaction().execute(async (tx) => {
    await tx.deleteFrom('keys').where('team_id', 'in', ids).execute();
    await tx.deleteFrom('team_members').where('team_id', 'in', ids).execute();
    await tx.deleteFrom('teams').where('team_id', 'in', ids).execute();
  });
  for (const k of keys) g.changed({ kind: 'key', id: k.token });
  for (const m of new Set(members.map((x) => x.user_id))) g.changed({ kind: 'user', id: m });
  for (const id of ids) g.changed({ kind: 'team', id });
  return { deleted_teams: ids };
}

/** POST /team/block and /team/unblock `{team_id}`: the updated team. */
export async function setTeamBlocked(g: Governance, body: JsonObject, blocked: boolean): Promise<unknown> {
  const teamId = reqString(body, 'team_id');
  await teamOr404(g, teamId);
  await g.store.db
    .updateTable('teams')
    .set({ blocked: blocked ? 1 : 0, updated_at: g.now() })
    .where('team_id', '=', teamId)
    .execute();
  g.changed({ kind: 'team', id: teamId });
  return (await teamsWithMembers(g, [(await getTeam(g, teamId)) as TeamRow]))[0];
}

/** Keys of `teamIds` (views), by team. */
async function keysOfTeams(g: Governance, teamIds: string[]): Promise<Map<string, Record<string, unknown>[]>> {
  const out = new Map<string, Record<string, unknown>[]>();
  if (teamIds.length === 0) return out;
  const rows = await g.store.db
    .selectFrom('keys')
    .selectAll()
    .where('team_id', 'in', teamIds)
    .orderBy('created_at')
    .execute();
  for (const k of rows) {
    const list = out.get(k.team_id as string) ?? [];
    list.push(keyView(k));
    out.set(k.team_id as string, list);
  }
  return out;
}

/** Memberships of `teamIds` with their budgets, by team. */
async function membershipsOfTeams(g: Governance, teamIds: string[]): Promise<Map<string, Record<string, unknown>[]>> {
  const out = new Map<string, Record<string, unknown>[]>();
  if (teamIds.length === 0) return out;
  const rows = await g.store.db
    .selectFrom('team_members')
    .selectAll()
    .where('team_id', 'in', teamIds)
    .orderBy('created_at')
    .orderBy('user_id')
    .execute();
  const budgets = await budgetsById(
    g,
    rows.map((r) => r.budget_id),
  );
  for (const m of rows) {
    const list = out.get(m.team_id) ?? [];
    list.push(membershipView(m, m.budget_id ? budgets.get(m.budget_id) : undefined));
    out.set(m.team_id, list);
  }
  return out;
}

/**
 * GET /team/info?team_id= : `{team_id, team_info, keys, team_memberships}`. Admins and viewers read any team;
 * others only a team they are a member of, or the team of the key they call with (LiteLLM's validate_membership).
 */
export async function teamInfo(g: Governance, p: GovernedPrincipal, query: URLSearchParams): Promise<unknown> {
  const teamId = query.get('team_id');
  if (!teamId) throw invalid('team_id', 'Malformed request. No team id passed in.');
  const team = await getTeam(g, teamId);
  if (!team) throw notFoundTeam(teamId);
  const [view] = await teamsWithMembers(g, [team]);
  const members = view.members_with_roles as { user_id: string }[];
  if (!canReadAll(p) && p.teamId !== teamId && !members.some((m) => m.user_id === p.userId))
    throw forbidden(`User=${p.userId ?? null} not authorized to access this team=${teamId}`);
  const defaults = parseJson<Record<string, unknown>>(team.member_defaults, {});
  if (typeof defaults.team_member_budget_id === 'string') {
    const b = await getBudget(g, defaults.team_member_budget_id);
    view.team_member_budget_table = b ? budgetView(b) : null;
  }
  return {
    team_id: teamId,
    team_info: view,
    keys: (await keysOfTeams(g, [teamId])).get(teamId) ?? [],
    team_memberships: (await membershipsOfTeams(g, [teamId])).get(teamId) ?? [],
  };
}

// /team/info words it differently from the other routes (LiteLLM's team_info)
const notFoundTeam = (teamId: string) => notFound('team_id', `Team not found, passed team id: ${teamId}.`);

/**
 * GET /team/list[?user_id=&organization_id=]: teams with their keys and memberships, sorted by alias. Admins
 * and viewers see every team; anyone else only the teams they are a member of.
 */
export async function listTeams(g: Governance, p: GovernedPrincipal, query: URLSearchParams): Promise<unknown> {
  let userId = query.get('user_id') ?? undefined;
  const orgId = query.get('organization_id') ?? undefined;
  if (!canReadAll(p)) {
    if (userId !== undefined && userId !== p.userId)
      throw forbidden(`Only admin users can query all teams/other teams. Your user role=${roleName(p)}`);
    userId = p.userId ?? '';
  }
  let q = g.store.db.selectFrom('teams').selectAll();
  if (userId !== undefined)
    q = q.where('team_id', 'in', (eb) =>
      eb
        .selectFrom('team_members')
        .select('team_id')
        .where('user_id', '=', userId as string),
    );
  if (orgId === 'default_organization') q = q.where('organization_id', 'is', null);
  else if (orgId !== undefined) q = q.where('organization_id', '=', orgId);
  const teams = await q.execute();
  const ids = teams.map((t) => t.team_id);
  const [views, keys, memberships] = await Promise.all([
    teamsWithMembers(g, teams),
    keysOfTeams(g, ids),
    membershipsOfTeams(g, ids),
  ]);
  const out: Record<string, unknown>[] = views.map((v) => ({
    ...v,
    keys: keys.get(v.team_id as string) ?? [],
    team_memberships: memberships.get(v.team_id as string) ?? [],
  }));
  out.sort((a, b) => String(a.team_alias ?? '').localeCompare(String(b.team_alias ?? '')));
  return out;
}

/**
 * POST /team/member_add `{team_id, member, max_budget_in_team}`: unknown users are created; a member already
 * in the team is refused (LiteLLM's team_member_already_in_team). Answers the team plus `updated_users` and
 * `updated_team_memberships`.
 */
export async function memberAdd(g: Governance, p: GovernedPrincipal, body: JsonObject): Promise<unknown> {
  const teamId = reqString(body, 'team_id');
  if (body.member === undefined || body.member === null) throw invalid('member', 'member is required');
  const members = readMembers(body.member, 'member');
  const maxBudget = optMoney(body, 'max_budget_in_team') ?? undefined;
  const team = await teamOr404(g, teamId);
  await assertTeamManager(g, p, teamId, '/team/member_add');
  const existing = await membersOf(g, [teamId]);
  const current = existing.get(teamId) ?? [];
  for (const m of members) {
    const dup = current.find(
      (c) => (m.user_id && c.user_id === m.user_id) || (m.user_email && c.user_email === m.user_email),
    );
    if (dup)
      throw new GatewayError(400, {
        message:
          `User=${m.user_id ?? m.user_email} already in team. ` +
          `Existing members=${JSON.stringify(current.map((c) => c.user_id))}`,
        type: 'team_member_already_in_team',
        param: 'member',
        code: '400',
        errorClass: 'bad_request',
      });
  }
  const added = await addMembers(g, team, members, maxBudget, actor(p));
  g.changed({ kind: 'team', id: teamId });
  const [view] = await teamsWithMembers(g, [(await getTeam(g, teamId)) as TeamRow]);
  const budgets = await budgetsById(
    g,
    added.memberships.map((m) => m.budget_id),
  );
  return {
    ...view,
    updated_users: added.users.map((u) => userView(u, [teamId])),
    updated_team_memberships: added.memberships.map((m) =>
      membershipView(m, m.budget_id ? budgets.get(m.budget_id) : undefined),
    ),
  };
}

/** The member a member_delete / member_update body names (by id, else email); 400 when it names none. */
async function memberNamed(g: Governance, teamId: string, body: JsonObject): Promise<string | undefined> {
  const userId = optString(body, 'user_id');
  const email = optString(body, 'user_email');
  if (!userId && !email) throw invalid('user_id', 'Either user_id or user_email needs to be passed in');
  const members = (await membersOf(g, [teamId])).get(teamId) ?? [];
  return members.find((m) => (userId ? m.user_id === userId : m.user_email === email))?.user_id;
}

/** POST /team/member_delete `{team_id, user_id | user_email}`: the team after. */
export async function memberDelete(g: Governance, p: GovernedPrincipal, body: JsonObject): Promise<unknown> {
  const teamId = reqString(body, 'team_id', 'No team id passed in');
  await teamOr404(g, teamId);
  await assertTeamManager(g, p, teamId, '/team/member_delete');
  const userId = await memberNamed(g, teamId, body);
  if (!userId) throw invalid('user_id', 'User not found in team');
  await g.store.db.deleteFrom('team_members').where('team_id', '=', teamId).where('user_id', '=', userId).execute();
  g.changed({ kind: 'user', id: userId });
  g.changed({ kind: 'team', id: teamId });
  return (await teamsWithMembers(g, [(await getTeam(g, teamId)) as TeamRow]))[0];
}

/**
 * POST /team/member_update `{team_id, user_id | user_email, role, max_budget_in_team, tpm_limit, rpm_limit}`.
 * The member's own budget row is updated; a member on the team's shared member budget gets a row of its own.
 */
export async function memberUpdate(g: Governance, p: GovernedPrincipal, body: JsonObject): Promise<unknown> {
  const teamId = reqString(body, 'team_id', 'No team id passed in');
  const role = optString(body, 'role');
  if (role !== undefined && role !== null && role !== 'admin' && role !== 'user')
    throw invalid('role', `role must be "admin" or "user". Received: ${JSON.stringify(role)}`);
  const maxBudget = optMoney(body, 'max_budget_in_team');
  const tpm = optCount(body, 'tpm_limit');
  const rpm = optCount(body, 'rpm_limit');
  const team = await teamOr404(g, teamId);
  await assertTeamManager(g, p, teamId, '/team/member_update');
  const userId = await memberNamed(g, teamId, body);
  if (!userId) throw invalid('user_id', `User id doesn't exist in team table. Data=${JSON.stringify(body)}`);
  const m = await g.store.db
    .selectFrom('team_members')
    .selectAll()
    .where('team_id', '=', teamId)
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  const fields: Record<string, number | null> = {};
  if (maxBudget !== undefined) fields.max_budget = maxBudget;
  if (tpm !== undefined) fields.tpm_limit = tpm;
  if (rpm !== undefined) fields.rpm_limit = rpm;
  const set: { role?: string; budget_id?: string } = {};
  if (role) set.role = role;
  if (Object.keys(fields).length > 0) {
    const shared = parseJson<Record<string, unknown>>(team.member_defaults, {}).team_member_budget_id;
    if (m.budget_id && m.budget_id !== shared) await patchBudget(g, m.budget_id, fields, actor(p));
    else set.budget_id = (await insertBudget(g, fields, actor(p))).budget_id;
  }
  if (Object.keys(set).length > 0)
    await g.store.db
      .updateTable('team_members')
      .set(set)
      .where('team_id', '=', teamId)
      .where('user_id', '=', userId)
      .execute();
  g.changed({ kind: 'user', id: userId });
  g.changed({ kind: 'team', id: teamId });
  const user = await g.store.db
    .selectFrom('users')
    .select('user_email')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return {
    team_id: teamId,
    user_id: userId,
    user_email: user?.user_email ?? null,
    role: role ?? m.role,
    max_budget_in_team: maxBudget ?? null,
    tpm_limit: tpm ?? null,
    rpm_limit: rpm ?? null,
  };
}
