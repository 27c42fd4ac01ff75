/**
 * The key management operations behind /key/* (LiteLLM's key_management_endpoints): who may do what, the store
 * writes, and the change notices that make this engine's auth cache forget at once. Internal users manage only
 * their own keys; viewer roles read; proxy admins (the master key included) do everything.
 */
import { badRequest, GatewayError } from '../../errors.js';
import type { JsonObject } from '../../wire.js';
import { type KeyRow, type KeyUpdate, type NewKeyRow, parseJson, type UserRole } from '../db/schema.js';
import type { Governance } from '../governance.js';
import type { GovernedPrincipal } from '../types.js';
import { addDuration, parseDuration } from './duration.js';
import { customKey, keyColumns } from './fields.js';
import { abbreviate, hashKey, newKey, tokenOf } from './secret.js';

/** Who calls, as the key rules see it. */
export interface Caller {
  role: UserRole;
  /** proxy_admin: everything */
  admin: boolean;
  /** proxy_admin or proxy_admin_viewer: reads everything */
  readsAll: boolean;
  /** not a viewer role */
  writes: boolean;
  userId?: string;
  keyHash?: string;
  /** for created_by / updated_by: the user, else the key's hash (LiteLLM records the caller's user_id) */
  by: string;
}

export function callerOf(p: GovernedPrincipal, g: Governance): Caller {
  // api/index.ts roleOf's rule (not imported: that module imports these routes); a virtual key without a
  // user manages as an internal user that owns only itself
  const role: UserRole = p.kind === 'master' ? 'proxy_admin' : (p.role ?? 'internal_user');
  const admin = role === 'proxy_admin';
  return {
    role,
    admin,
    readsAll: admin || role === 'proxy_admin_viewer',
    writes: role !== 'proxy_admin_viewer' && role !== 'internal_user_viewer',
    userId: p.userId,
    keyHash: p.keyHash,
    by: p.kind === 'master' ? 'default_user_id' : (p.userId ?? p.keyHash ?? g.settings.masterKeyHash),
  };
}

function forbidden(message: string): GatewayError {
  return new GatewayError(403, { message, type: 'auth_error', code: '403', errorClass: 'permission' });
}

function notFound(message: string, param: string): GatewayError {
  return new GatewayError(404, { message, type: 'not_found_error', param, code: '404', errorClass: 'not_found' });
}

/** Whether `row` belongs to the caller: its user's key, or (a key without a user) the calling key itself. */
function owns(c: Caller, row: KeyRow): boolean {
  return (c.userId !== undefined && row.user_id === c.userId) || row.token === c.keyHash;
}

function mustWrite(c: Caller, what: string): void {
  if (!c.writes) throw forbidden(`A ${c.role} can only read keys; ${what} needs an internal_user or a proxy_admin.`);
}

/** The row for a key or hash, or 404 naming the parameter. */
async function rowOf(g: Governance, keyOrHash: string, param: string): Promise<KeyRow> {
  const row = await g.store.db
    .selectFrom('keys')
    .selectAll()
    .where('token', '=', tokenOf(keyOrHash))
    .executeTakeFirst();
  if (!row) throw notFound(`Key not found: ${keyOrHash.startsWith('sk-') ? abbreviate(keyOrHash) : keyOrHash}`, param);
  return row;
}

/** A row the caller may change (its own, or any for an admin), else 403/404. */
async function ownedRow(g: Governance, c: Caller, keyOrHash: string, param: string, what: string): Promise<KeyRow> {
  mustWrite(c, what);
  const row = await rowOf(g, keyOrHash, param);
  if (!c.admin && !owns(c, row))
    throw forbidden(`You can only ${what} your own keys (this key belongs to another user).`);
  return row;
}

function requiredString(body: JsonObject, name: string): string {
  const v = body[name];
  if (typeof v !== 'string' || v === '') throw badRequest(`${name} is required (a key or its hash).`, name);
  return v;
}

/** LiteLLM refuses a second key with the same alias. */
async function checkAlias(g: Governance, alias: string | null | undefined, self?: string): Promise<void> {
  if (!alias) return;
  let q = g.store.db.selectFrom('keys').select('token').where('key_alias', '=', alias);
  if (self) q = q.where('token', '!=', self);
  if (await q.executeTakeFirst())
    throw badRequest(
      `Key with alias '${alias}' already exists. Unique key aliases across all keys are required.`,
      'key_alias',
    );
}

async function checkTeam(g: Governance, c: Caller, teamId: string | null | undefined): Promise<void> {
  if (!teamId) return;
  const team = await g.store.db.selectFrom('teams').select('team_id').where('team_id', '=', teamId).executeTakeFirst();
  if (!team) throw badRequest(`team_id=${teamId} does not exist: create it with /team/new first.`, 'team_id');
  if (c.admin || !c.userId) return;
  const member = await g.store.db
    .selectFrom('team_members')
    .select('user_id')
    .where('team_id', '=', teamId)
    .where('user_id', '=', c.userId)
    .executeTakeFirst();
  if (!member) throw forbidden(`You are not a member of team_id=${teamId}: only its members can make keys for it.`);
}

/** What an owner may change on an existing key: naming and notes, not what an admin granted or limited. */
const OWNER_EDITABLE = new Set(['key_alias', 'metadata', 'tags']);

/**
 * Narrow what a non-admin may set: keys only for themselves; on an existing key (`existing`), only its alias,
 * metadata and tags (raising a budget, limit, model list or expiry an admin set is the admin's call).
 */
function checkOwnerFields(c: Caller, cols: KeyUpdate, existing = false): void {
  if (c.admin) return;
  if (cols.user_id !== undefined && cols.user_id !== c.userId)
    throw forbidden('You can only give keys to yourself (user_id must be your own).');
  if (!existing) return;
  const locked = Object.keys(cols).filter((k) => !OWNER_EDITABLE.has(k));
  if (locked.length > 0)
    throw forbidden(
      `Only a proxy admin can change ${locked.join(', ')} of an existing key; you may change its ` +
        'key_alias, metadata and tags.',
    );
}

/** The key as LiteLLM shows it (no raw key; times as ISO strings, JSON columns parsed). */
export function keyView(r: KeyRow): JsonObject {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  const metadata = parseJson<JsonObject>(r.metadata, {});
  const rpm = parseJson<JsonObject>(r.model_rpm_limit, {});
  const tpm = parseJson<JsonObject>(r.model_tpm_limit, {});
  return {
    token: r.token,
    key_name: r.key_name,
    key_alias: r.key_alias,
    spend: r.spend,
    max_budget: r.max_budget,
    soft_budget: r.soft_budget,
    expires: iso(r.expires),
    models: parseJson<string[]>(r.models, []),
    aliases: parseJson<JsonObject>(r.aliases, {}),
    config: {},
    user_id: r.user_id,
    team_id: r.team_id,
    organization_id: r.organization_id,
    permissions: {},
    max_parallel_requests: r.max_parallel_requests,
    // LiteLLM keeps the per-model limits in metadata too; its UI reads them there
    metadata: {
      ...metadata,
      ...(Object.keys(rpm).length ? { model_rpm_limit: rpm } : {}),
      ...(Object.keys(tpm).length ? { model_tpm_limit: tpm } : {}),
    },
    tags: parseJson<string[]>(r.tags, []),
    blocked: r.blocked === 1,
    tpm_limit: r.tpm_limit,
    rpm_limit: r.rpm_limit,
    budget_duration: r.budget_duration,
    budget_reset_at: iso(r.budget_reset_at),
    allowed_cache_controls: parseJson<string[]>(r.allowed_cache_controls, []),
    allowed_routes: [],
    model_spend: {},
    model_max_budget: parseJson<JsonObject>(r.model_max_budget, {}),
    model_rpm_limit: rpm,
    model_tpm_limit: tpm,
    budget_id: r.budget_id,
    key_type: r.key_type,
    created_at: iso(r.created_at),
    created_by: r.created_by,
    updated_at: iso(r.updated_at),
    updated_by: r.updated_by,
    last_active: iso(r.last_active),
  };
}

/** POST /key/generate: the new key, shown this once. */
export async function generateKey(g: Governance, c: Caller, body: JsonObject): Promise<JsonObject> {
  mustWrite(c, 'creating a key');
  const now = g.now();
  const cols = keyColumns(body, now, g.settings.timezone);
  if (!c.admin) {
    if (!c.userId)
      throw forbidden('This key has no user_id: it can only read itself. Ask a proxy admin for a key with a user.');
    checkOwnerFields(c, cols);
    cols.user_id = c.userId;
  }
  await checkAlias(g, cols.key_alias);
  await checkTeam(g, c, cols.team_id);
  const key = customKey(body, 'key') ?? newKey();
  const token = hashKey(key);
  if (await g.store.db.selectFrom('keys').select('token').where('token', '=', token).executeTakeFirst())
    throw badRequest('This key value is already in use: pick another (or leave `key` out to get a random one).', 'key');
  await g.store.db
    .insertInto('keys')
    .values({
      ...cols,
      token,
      key_name: abbreviate(key),
      created_at: now,
      created_by: c.by,
      updated_at: now,
      updated_by: c.by,
    } as NewKeyRow)
    .execute();
  g.changed({ kind: 'key', id: token });
  const row = await rowOf(g, token, 'key');
  g.alerts?.keyCreated(row, { by: c.by, role: c.role });
  return { ...keyView(row), key, token_id: token, duration: body.duration ?? null };
}

/** POST /key/update: change the fields sent; returns the key as stored now. */
export async function updateKey(g: Governance, c: Caller, body: JsonObject): Promise<JsonObject> {
  const row = await ownedRow(g, c, requiredString(body, 'key'), 'key', 'update');
  const cols = keyColumns(body, g.now(), g.settings.timezone);
  checkOwnerFields(c, cols, true);
  if (cols.key_alias !== undefined) await checkAlias(g, cols.key_alias, row.token);
  if (cols.team_id !== undefined && cols.team_id !== row.team_id) await checkTeam(g, c, cols.team_id);
  await write(g, row.token, cols, c);
  return keyView(await rowOf(g, row.token, 'key'));
}

async function write(g: Governance, token: string, cols: KeyUpdate, c: Caller): Promise<void> {
  await g.store.db
    .updateTable('keys')
    .set({ ...cols, updated_at: g.now(), updated_by: c.by })
    .where('token', '=', token)
    .execute();
  g.changed({ kind: 'key', id: token });
}

/** POST /key/block and /key/unblock (admins: the route's access says so). */
export async function setBlocked(g: Governance, c: Caller, body: JsonObject, blocked: boolean): Promise<JsonObject> {
  const row = await rowOf(g, requiredString(body, 'key'), 'key');
  await write(g, row.token, { blocked: blocked ? 1 : 0 }, c);
  return keyView(await rowOf(g, row.token, 'key'));
}

/** POST /key/delete: `keys` (keys or hashes) or `key_aliases`; all or nothing. */
export async function deleteKeys(g: Governance, c: Caller, body: JsonObject): Promise<JsonObject> {
  mustWrite(c, 'deleting a key');
  const keys = body.keys;
  const aliases = body.key_aliases;
  const list = (v: unknown, name: string) => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === ''))
      throw badRequest(`${name} must be a list of strings.`, name);
    return v as string[];
  };
  const ks = list(keys, 'keys');
  const as = list(aliases, 'key_aliases');
  if (ks.length === 0 && as.length === 0)
    throw badRequest(
      'Send `keys` (keys or their hashes) or `key_aliases` to delete: at least one is required.',
      'keys',
    );
  const db = g.store.db;
  const rows: KeyRow[] = [];
  if (ks.length > 0) {
    const tokens = ks.map(tokenOf);
    const found = await db.selectFrom('keys').selectAll().where('token', 'in', tokens).execute();
    const missing = ks.filter((_, i) => !found.some((r) => r.token === tokens[i]));
    if (missing.length > 0)
      throw notFound(
        `Keys not found: ${missing.map((k) => (k.startsWith('sk-') ? abbreviate(k) : k)).join(', ')}`,
        'keys',
      );
    rows.push(...found);
  }
  if (as.length > 0) {
    const found = await db.selectFrom('keys').selectAll().where('key_alias', 'in', as).execute();
    const missing = as.filter((a) => !found.some((r) => r.key_alias === a));
    if (missing.length > 0) throw notFound(`No key has the alias: ${missing.join(', ')}`, 'key_aliases');
    for (const r of found) if (!rows.some((x) => x.token === r.token)) rows.push(r);
  }
  if (!c.admin && rows.some((r) => !owns(c, r)))
    throw forbidden('You can only delete your own keys (one of these belongs to another user).');
  const tokens = rows.map((r) => r.token);
  await db.transaction().execute(async (tx) => {
    await tx.deleteFrom('deprecated_keys').where('active_token', 'in', tokens).execute();
    await tx.deleteFrom('keys').where('token', 'in', tokens).execute();
  });
  for (const t of tokens) g.changed({ kind: 'key', id: t });
  return { deleted_keys: [...ks, ...as] };
}

/** GET /key/info?key=: one key (without `key`: the calling key itself, as LiteLLM). */
export async function keyInfo(g: Governance, c: Caller, query: URLSearchParams): Promise<JsonObject> {
  const asked = query.get('key') ?? c.keyHash;
  if (!asked) throw badRequest('key is required: GET /key/info?key=<key or its hash>.', 'key');
  const row = await rowOf(g, asked, 'key');
  if (!c.readsAll && !owns(c, row)) throw forbidden("You can only read your own keys' info.");
  return { key: asked, info: keyView(row) };
}

/** GET /key/list: page, size, filters; hashes, or whole keys with return_full_object=true. */
export async function listKeys(g: Governance, c: Caller, query: URLSearchParams): Promise<JsonObject> {
  const int = (name: string, dflt: number, max: number) => {
    const v = query.get(name);
    if (v === null || v === '') return dflt;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1 || n > max)
      throw badRequest(`${name} must be a whole number from 1 to ${max}. Received: ${v}`, name);
    return n;
  };
  const page = int('page', 1, Number.MAX_SAFE_INTEGER);
  const size = int('size', 10, 100);
  let q = g.store.db.selectFrom('keys');
  for (const name of ['user_id', 'team_id', 'key_alias', 'organization_id'] as const) {
    const v = query.get(name);
    if (v) q = q.where(name, '=', v);
  }
  const keyHash = query.get('key_hash');
  if (keyHash) q = q.where('token', '=', tokenOf(keyHash));
  if (!c.readsAll) {
    const { userId, keyHash: own } = c;
    q = userId ? q.where('user_id', '=', userId) : q.where('token', '=', own ?? '');
  }
  const total = Number((await q.select((e) => e.fn.countAll<number>().as('n')).executeTakeFirst())?.n ?? 0);
  const rows = await q
    .selectAll()
    .orderBy('created_at', 'desc')
    .orderBy('token')
    .limit(size)
    .offset((page - 1) * size)
    .execute();
  const full = query.get('return_full_object') === 'true';
  return {
    keys: full ? rows.map(keyView) : rows.map((r) => r.token),
    total_count: total,
    current_page: page,
    total_pages: Math.ceil(total / size),
  };
}

/**
 * POST /key/regenerate and /key/{key_id}/regenerate: a new key value for the same row (spend, limits and
 * settings kept). With `grace_period` ("24h", "2d") the old key keeps working until then; without, it stops now.
 */
export async function regenerateKey(
  g: Governance,
  c: Caller,
  body: JsonObject,
  keyId: string | undefined,
): Promise<JsonObject> {
  const row = await ownedRow(g, c, keyId ?? requiredString(body, 'key'), 'key', 'regenerate');
  const now = g.now();
  const grace = body.grace_period;
  let revokeAt: number | undefined;
  if (grace !== undefined && grace !== null && grace !== '') {
    const d = typeof grace === 'string' ? parseDuration(grace) : undefined;
    if (!d)
      throw badRequest(
        `grace_period must be a duration such as "24h" or "2d". Received: ${JSON.stringify(grace)}`,
        'grace_period',
      );
    revokeAt = addDuration(now, d);
  }
  const rest = { ...body };
  for (const k of ['key', 'new_key', 'new_master_key', 'grace_period']) delete rest[k];
  const cols = keyColumns(rest, now, g.settings.timezone);
  checkOwnerFields(c, cols, true);
  if (cols.key_alias !== undefined) await checkAlias(g, cols.key_alias, row.token);
  const key = customKey(body, 'new_key') ?? newKey();
  const token = hashKey(key);
  await g.store.db.transaction().execute(async (tx) => {
    await tx
      .updateTable('keys')
      .set({ ...cols, token, key_name: abbreviate(key), updated_at: now, updated_by: c.by })
      .where('token', '=', row.token)
      .execute();
    // earlier old values still inside their grace period now lead to the new one
    await tx
      .updateTable('deprecated_keys')
      .set({ active_token: token })
      .where('active_token', '=', row.token)
      .execute();
    if (revokeAt !== undefined)
      await tx
        .insertInto('deprecated_keys')
        .values({ token: row.token, active_token: token, revoke_at: revokeAt, created_at: now })
        .execute();
  });
  g.changed({ kind: 'key', id: row.token });
  g.changed({ kind: 'key', id: token });
  return { ...keyView(await rowOf(g, token, 'key')), key, token_id: token };
}
