/**
 * Read what authentication needs about one key hash: the key row (or, for an old hash inside its grace period
 * after /key/regenerate, the key it was replaced by), its team, user, membership, org and every budget row
 * they point at. The rows come back as stored (see types.ts AuthRecord).
 */
import type { BudgetRow } from '../db/schema.js';
import type { Governance } from '../governance.js';
import type { AuthRecord } from '../types.js';

export interface LoadedKey {
  record: AuthRecord;
  /** set when the hash is a regenerated key's old one: it works until this epoch ms */
  revokeAt?: number;
}

/** The record for `hash`, or undefined when no key (nor live deprecated key) has it. Throws when the store fails. */
export async function loadAuthRecord(g: Governance, hash: string): Promise<LoadedKey | undefined> {
  const db = g.store.db;
  let key = await db.selectFrom('keys').selectAll().where('token', '=', hash).executeTakeFirst();
  let revokeAt: number | undefined;
  if (!key) {
    const old = await db
      .selectFrom('deprecated_keys')
      .select(['active_token', 'revoke_at'])
      .where('token', '=', hash)
      .executeTakeFirst();
    if (!old || old.revoke_at <= g.now()) return undefined;
    key = await db.selectFrom('keys').selectAll().where('token', '=', old.active_token).executeTakeFirst();
    if (!key) return undefined;
    revokeAt = old.revoke_at;
  }
  const { team_id: teamId, user_id: userId } = key;
  const [team, user, membership] = await Promise.all([
    teamId ? db.selectFrom('teams').selectAll().where('team_id', '=', teamId).executeTakeFirst() : undefined,
    userId ? db.selectFrom('users').selectAll().where('user_id', '=', userId).executeTakeFirst() : undefined,
    teamId && userId
      ? db
          .selectFrom('team_members')
          .selectAll()
          .where('team_id', '=', teamId)
          .where('user_id', '=', userId)
          .executeTakeFirst()
      : undefined,
  ]);
  const orgId = key.organization_id ?? team?.organization_id ?? user?.organization_id ?? null;
  const org = orgId
    ? await db.selectFrom('organizations').selectAll().where('organization_id', '=', orgId).executeTakeFirst()
    : undefined;
  const ids = [key.budget_id, membership?.budget_id, org?.budget_id].filter((x): x is string => !!x);
  const budgets = new Map<string, BudgetRow>();
  if (ids.length > 0) {
    for (const b of await db.selectFrom('budgets').selectAll().where('budget_id', 'in', ids).execute())
      budgets.set(b.budget_id, b);
  }
  return { record: { key, team, user, membership, org, budgets, loadedAt: g.now() }, revokeAt };
}

/** Whether a cached record depends on the changed entity (`id` undefined: any of that kind). */
export function recordRefers(r: AuthRecord, kind: string, id: string | undefined): boolean {
  switch (kind) {
    case 'all':
      return true;
    case 'key':
      return id === undefined || r.key.token === id;
    case 'team':
      return r.key.team_id !== null && (id === undefined || r.key.team_id === id);
    case 'user':
      return r.key.user_id !== null && (id === undefined || r.key.user_id === id);
    case 'org':
      return r.org !== undefined && (id === undefined || r.org.organization_id === id);
    case 'budget':
      return r.budgets.size > 0 && (id === undefined || r.budgets.has(id));
    default:
      return false;
  }
}
