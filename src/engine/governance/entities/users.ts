/**
 * Internal users (LiteLLM_UserTable): /user/new|update|delete|info|list with LiteLLM's bodies and answers.
 * /user/new also makes the user's first key unless `auto_create_key: false`, as LiteLLM does.
 */
import type { Updateable } from 'kysely';
import type { JsonObject } from '../../wire.js';
import type { TeamRow, UserRole, UserRow, UsersTable } from '../db/schema.js';
import type { Governance } from '../governance.js';
import type { GovernedPrincipal } from '../types.js';
import { readBudgetFields } from './budgets.js';
import {
  actor,
  canReadAll,
  forbidden,
  invalid,
  NO_LIMITS,
  newId,
  newVirtualKey,
  notFound,
  optBool,
  optMoney,
  optObject,
  optString,
  optStringList,
  roleName,
} from './common.js';
import { addMembership, getTeam, insertUser } from './members.js';
import { keyView, membersOf, teamView, userView } from './views.js';

/** The roles /user/new and /user/update accept (NewUserRequest.user_role). */
const USER_ROLES: readonly UserRole[] = ['proxy_admin', 'proxy_admin_viewer', 'internal_user', 'internal_user_viewer'];

function readUserFields(g: Governance, body: JsonObject): Updateable<UsersTable> {
  const out: Updateable<UsersTable> = readBudgetFields(g, body);
  for (const k of ['user_alias', 'user_email', 'organization_id'] as const) {
    const v = optString(body, k);
    if (v !== undefined) out[k] = v;
  }
  const role = optString(body, 'user_role');
  if (role !== undefined && role !== null) {
    if (!USER_ROLES.includes(role as UserRole))
      throw invalid(
        'user_role',
        `user_role must be one of ${USER_ROLES.join(', ')}. Received: ${JSON.stringify(role)}`,
      );
    out.user_role = role as UserRole;
  }
  const models = optStringList(body, 'models');
  if (models) out.models = JSON.stringify(models);
  const metadata = optObject(body, 'metadata');
  if (metadata) out.metadata = JSON.stringify(metadata);
  return out;
}

/** `teams`: ids, or `{team_id, max_budget_in_team, user_role}` (NewUserRequest). */
function readTeams(body: JsonObject): { team_id: string; max_budget_in_team?: number; role: string }[] {
  // `team_id` is LiteLLM's older single-team form of the same thing
  const one = optString(body, 'team_id');
  const v = one ? [one, ...((Array.isArray(body.teams) ? body.teams : []) as unknown[])] : body.teams;
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid('teams', `teams must be a list. Received: ${JSON.stringify(v)}`);
  const list = v.map((t, i) => {
    if (typeof t === 'string') return { team_id: t, role: 'user' };
    if (!t || typeof t !== 'object' || Array.isArray(t) || typeof (t as JsonObject).team_id !== 'string')
      throw invalid('teams', `teams[${i}] must be a team id or {team_id, max_budget_in_team, user_role}`);
    const o = t as JsonObject;
    const role = o.user_role ?? 'user';
    if (role !== 'admin' && role !== 'user')
      throw invalid('teams', `teams[${i}].user_role must be "admin" or "user". Received: ${JSON.stringify(role)}`);
    return { team_id: o.team_id as string, max_budget_in_team: optMoney(o, 'max_budget_in_team') ?? undefined, role };
  });
  // a team named twice joins once
  return list.filter((t, i) => list.findIndex((x) => x.team_id === t.team_id) === i);
}

const userMissing = (id: string, param = 'user_id') => notFound(param, `User not found, passed user_id=${id}`);

async function getUser(g: Governance, id: string): Promise<UserRow | undefined> {
  return g.store.db.selectFrom('users').selectAll().where('user_id', '=', id).executeTakeFirst();
}

async function teamIdsOf(g: Governance, userId: string): Promise<string[]> {
  const rows = await g.store.db
    .selectFrom('team_members')
    .select('team_id')
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .execute();
  return rows.map((r) => r.team_id);
}

/** POST /user/new */
export async function createUser(g: Governance, p: GovernedPrincipal, body: JsonObject): Promise<unknown> {
  const userId = optString(body, 'user_id') || newId();
  const fields = readUserFields(g, body);
  const teams = readTeams(body);
  const autoKey = optBool(body, 'auto_create_key') ?? true;
  if (await getUser(g, userId)) throw invalid('user_id', `User with id=${userId} already exists`);
  if (fields.user_email) {
    const same = await g.store.db
      .selectFrom('users')
      .select('user_id')
      .where('user_email', '=', fields.user_email)
      .executeTakeFirst();
    if (same) throw invalid('user_email', `User with email ${fields.user_email} already exists`);
  }
  const teamRows: TeamRow[] = [];
  for (const t of teams) {
    const row = await getTeam(g, t.team_id);
    if (!row) throw notFound('teams', `Team not found, passed team_id=${t.team_id}`);
    teamRows.push(row);
  }
  await insertUser(g, { ...fields, user_id: userId });
  const now = g.now();
  const by = actor(p);
  for (const [i, t] of teams.entries()) {
    await addMembership(g, teamRows[i], userId, t.role, t.max_budget_in_team, by);
    g.changed({ kind: 'team', id: t.team_id });
  }
  let key: ReturnType<typeof newVirtualKey> | undefined;
  if (autoKey) {
    key = newVirtualKey();
    await g.store.db
      .insertInto('keys')
      .values({
        token: key.token,
        key_name: key.keyName,
        key_alias: null,
        user_id: userId,
        team_id: null,
        organization_id: null,
        models: '[]',
        aliases: '{}',
        metadata: '{}',
        tags: '[]',
        blocked: 0,
        expires: null,
        spend: 0,
        ...NO_LIMITS,
        model_max_budget: '{}',
        model_rpm_limit: '{}',
        model_tpm_limit: '{}',
        budget_id: null,
        key_type: 'default',
        created_at: now,
        created_by: by,
        updated_at: now,
        updated_by: by,
        last_active: null,
      })
      .execute();
  }
  g.changed({ kind: 'user', id: userId });
  const user = (await getUser(g, userId)) as UserRow;
  return {
    ...userView(
      user,
      teams.map((t) => t.team_id),
    ),
    // the key itself is shown here once and never again (only its hash is stored)
    key: key?.key ?? null,
    key_name: key?.keyName ?? null,
    token: key?.token ?? null,
    token_id: key?.token ?? null,
    expires: null,
  };
}

/** POST /user/update `{user_id | user_email, ...}`: only the fields sent change. */
export async function updateUser(g: Governance, body: JsonObject): Promise<unknown> {
  const byId = optString(body, 'user_id');
  const byEmail = optString(body, 'user_email');
  if (!byId && !byEmail) throw invalid('user_id', 'user_id or user_email is required');
  const fields = readUserFields(g, body);
  let user: UserRow | undefined;
  if (byId) user = await getUser(g, byId);
  else
    user = await g.store.db
      .selectFrom('users')
      .selectAll()
      .where('user_email', '=', byEmail as string)
      .executeTakeFirst();
  if (!user) throw byId ? userMissing(byId) : notFound('user_email', `User not found, passed user_email=${byEmail}`);
  await g.store.db
    .updateTable('users')
    .set({ ...fields, updated_at: g.now() })
    .where('user_id', '=', user.user_id)
    .execute();
  g.changed({ kind: 'user', id: user.user_id });
  const after = (await getUser(g, user.user_id)) as UserRow;
  return { user_id: after.user_id, data: userView(after, await teamIdsOf(g, after.user_id)) };
}

/** POST /user/delete `{user_ids}`: the users, their keys and their team memberships (as LiteLLM does). */
export async function deleteUsers(g: Governance, body: JsonObject): Promise<unknown> {
  const ids = optStringList(body, 'user_ids');
  if (!ids || ids.length === 0) throw invalid('user_ids', 'user_ids is required: a list of user ids to delete');
  for (const id of ids) if (!(await getUser(g, id))) throw userMissing(id, 'user_ids');
  const keys = await g.store.db.selectFrom('keys').select('token').where('user_id', 'in', ids).execute();
  await g.store.db.transaction().execute(async (tx) => {
    await tx.deleteFrom('keys').where('user_id', 'in', ids).execute();
    await tx.deleteFrom('team_members').where('user_id', 'in', ids).execute();
    await tx.deleteFrom('users').where('user_id', 'in', ids).execute();
  });
  for (const k of keys) g.changed({ kind: 'key', id: k.token });
  for (const id of ids) g.changed({ kind: 'user', id });
  return { deleted_users: ids };
}

/**
 * GET /user/info?user_id= : `{user_id, user_info, keys, teams}`. Admins and viewers read anyone; other callers
 * only themselves (no user_id: the caller's own user).
 */
export async function userInfo(g: Governance, p: GovernedPrincipal, query: URLSearchParams): Promise<unknown> {
  const userId = query.get('user_id') || p.userId;
  if (!userId) throw invalid('user_id', 'user_id is required');
  if (!canReadAll(p) && userId !== p.userId)
    throw forbidden(
      `User=${p.userId ?? null} (role ${roleName(p)}) may only view their own user info, not user_id=${userId}`,
    );
  const user = await getUser(g, userId);
  if (!user) throw userMissing(userId);
  const teamIds = await teamIdsOf(g, userId);
  const keys = await g.store.db
    .selectFrom('keys')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .execute();
  const teams =
    teamIds.length === 0
      ? []
      : await g.store.db.selectFrom('teams').selectAll().where('team_id', 'in', teamIds).execute();
  const members = await membersOf(g, teamIds);
  return {
    user_id: userId,
    user_info: userView(user, teamIds),
    keys: keys.map(keyView),
    teams: teams.map((t) => teamView(t, members.get(t.team_id) ?? [])),
  };
}

/** GET /user/list?page=&page_size=&role=&user_ids= : `{users, total, page, page_size, total_pages}`. */
export async function listUsers(g: Governance, query: URLSearchParams): Promise<unknown> {
  const page = positiveInt(query, 'page', 1);
  const pageSize = positiveInt(query, 'page_size', 25);
  if (pageSize > 100) throw invalid('page_size', `page_size must be at most 100. Received: ${pageSize}`);
  const role = query.get('role') || undefined;
  const ids = query
    .get('user_ids')
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const email = query.get('user_email') || undefined;
  let q = g.store.db.selectFrom('users');
  if (role) q = q.where('user_role', '=', role as UserRole);
  if (ids && ids.length > 0) q = q.where('user_id', 'in', ids);
  if (email) q = q.where('user_email', 'like', `%${email.replace(/[%_]/g, '')}%`);
  const { n } = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  const total = Number(n);
  const users = await q
    .selectAll()
    .orderBy('created_at', 'desc')
    .orderBy('user_id')
    .limit(pageSize)
    .offset((page - 1) * pageSize)
    .execute();
  const userIds = users.map((u) => u.user_id);
  const memberships =
    userIds.length === 0
      ? []
      : await g.store.db
          .selectFrom('team_members')
          .select(['user_id', 'team_id'])
          .where('user_id', 'in', userIds)
          .execute();
  const keyCounts =
    userIds.length === 0
      ? []
      : await g.store.db
          .selectFrom('keys')
          .select(['user_id', (eb) => eb.fn.countAll<number>().as('n')])
          .where('user_id', 'in', userIds)
          .groupBy('user_id')
          .execute();
  return {
    users: users.map((u) => ({
      ...userView(
        u,
        memberships.filter((m) => m.user_id === u.user_id).map((m) => m.team_id),
      ),
      key_count: Number(keyCounts.find((k) => k.user_id === u.user_id)?.n ?? 0),
    })),
    total,
    page,
    page_size: pageSize,
    total_pages: Math.ceil(total / pageSize),
  };
}

function positiveInt(q: URLSearchParams, k: string, dflt: number): number {
  const v = q.get(k);
  if (v === null || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw invalid(k, `${k} must be a positive integer. Received: ${JSON.stringify(v)}`);
  return n;
}
