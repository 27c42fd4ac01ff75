/**
 * Helpers for the admission tests: rows written straight into the store (the management API is another
 * area's), and an engine whose authenticator reads virtual keys from that store once and caches them (a
 * stand-in for the keys area's authenticator: admission sees the same AuthRecord shape).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import OpenAI from 'openai';
import { loadLiteLLMConfig } from '../../../src/config/litellm/load.js';
import type { Authenticator, Principal } from '../../../src/engine/auth/principal.js';
import { GatewayError } from '../../../src/engine/errors.js';
import type { GovernanceDb } from '../../../src/engine/governance/db/open.js';
import type { BudgetRow, GovernanceTables } from '../../../src/engine/governance/db/schema.js';
import type { AuthRecord, GovernedPrincipal } from '../../../src/engine/governance/types.js';
import { createLogger, type EngineHandle, startEngine } from '../../../src/engine/index.js';
import type { TestStore } from './stores.js';

export const MASTER = 'sk-master-limits-0123456789';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** An authenticator over the store: the master key, else a key row (read once, then cached, as keys are). */
export function storeAuth(db: GovernanceDb): Authenticator {
  const cache = new Map<string, AuthRecord>();
  return {
    enabled: true,
    name: 'test_store_keys',
    async authenticate(headers: IncomingHttpHeaders): Promise<Principal> {
      const bearer = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1] ?? '';
      if (bearer === MASTER) return { kind: 'master', keyHash: sha(MASTER) };
      const record = cache.get(sha(bearer)) ?? (await loadRecord(db, sha(bearer)));
      if (!record) throw new GatewayError(401, { message: 'Authentication Error, invalid key', type: 'auth_error' });
      cache.set(sha(bearer), record);
      const k = record.key;
      const p: GovernedPrincipal = {
        kind: 'virtual_key',
        keyHash: k.token,
        keyAlias: k.key_alias ?? undefined,
        userId: k.user_id ?? undefined,
        teamId: k.team_id ?? undefined,
        record,
        role: 'internal_user',
      };
      return p;
    },
  };
}

async function loadRecord(store: GovernanceDb, token: string): Promise<AuthRecord | undefined> {
  const db = store.db;
  const key = await db.selectFrom('keys').selectAll().where('token', '=', token).executeTakeFirst();
  if (!key) return undefined;
  const team = key.team_id
    ? await db.selectFrom('teams').selectAll().where('team_id', '=', key.team_id).executeTakeFirst()
    : undefined;
  const user = key.user_id
    ? await db.selectFrom('users').selectAll().where('user_id', '=', key.user_id).executeTakeFirst()
    : undefined;
  const membership =
    key.team_id && key.user_id
      ? await db
          .selectFrom('team_members')
          .selectAll()
          .where('team_id', '=', key.team_id)
          .where('user_id', '=', key.user_id)
          .executeTakeFirst()
      : undefined;
  const orgId = key.organization_id ?? team?.organization_id;
  const org = orgId
    ? await db.selectFrom('organizations').selectAll().where('organization_id', '=', orgId).executeTakeFirst()
    : undefined;
  const budgets = new Map<string, BudgetRow>();
  for (const id of [key.budget_id, membership?.budget_id, org?.budget_id]) {
    if (!id) continue;
    const b = await db.selectFrom('budgets').selectAll().where('budget_id', '=', id).executeTakeFirst();
    if (b) budgets.set(id, b);
  }
  return { key, team, user, membership, org, budgets, loadedAt: Date.now() };
}

type Values<T extends keyof GovernanceTables> = Partial<Record<keyof GovernanceTables[T], unknown>>;

/** Rows for a test, inserted with the columns every row needs. */
export function fixtures(store: GovernanceDb) {
  const db = store.db;
  const at = { created_at: 1, updated_at: 1 };
  return {
    /** a key; answers the secret to present */
    async key(v: Values<'keys'> = {}): Promise<string> {
      const secret = `sk-${randomBytes(12).toString('hex')}`;
      await db
        .insertInto('keys')
        .values({ token: sha(secret), key_name: `sk-...${secret.slice(-4)}`, ...at, ...v } as never)
        .execute();
      return secret;
    },
    user: (v: Values<'users'>) =>
      db
        .insertInto('users')
        .values({ ...at, ...v } as never)
        .execute(),
    team: (v: Values<'teams'>) =>
      db
        .insertInto('teams')
        .values({ ...at, ...v } as never)
        .execute(),
    member: (v: Values<'team_members'>) =>
      db
        .insertInto('team_members')
        .values({ created_at: 1, ...v } as never)
        .execute(),
    budget: (v: Values<'budgets'>) =>
      db
        .insertInto('budgets')
        .values({ ...at, ...v } as never)
        .execute(),
    endUser: (v: Values<'end_users'>) =>
      db
        .insertInto('end_users')
        .values({ ...at, ...v } as never)
        .execute(),
    async spendOf(table: 'keys' | 'users' | 'teams' | 'end_users', where: Record<string, string>): Promise<number> {
      let q = db.selectFrom(table as 'keys').select('spend');
      for (const [k, v] of Object.entries(where)) q = q.where(k as 'token', '=', v);
      return Number((await q.executeTakeFirstOrThrow()).spend);
    },
    sha,
  };
}

export interface LimitsEngine extends EngineHandle {
  logs: string[];
  /** an openai client presenting `key` */
  client(key: string): OpenAI;
}

/** An engine on `store` with virtual keys read from `db` (a second connection to the same store). */
export async function startLimitsEngine(
  config: Record<string, unknown>,
  store: TestStore,
  db: GovernanceDb,
  opts: { now?: () => number } = {},
): Promise<LimitsEngine> {
  const full = { ...config, general_settings: { master_key: MASTER, ...(config.general_settings as object) } };
  const loaded = loadLiteLLMConfig({ kind: 'object', value: full, label: 'test-config' }, { env: {} });
  const logs: string[] = [];
  const logger = createLogger({ level: 'info', secrets: loaded.secretValues, write: (l) => logs.push(l) });
  const engine = await startEngine({
    loaded,
    port: 0,
    logger,
    env: {},
    drainTimeoutMs: 2000,
    governance: store.options,
    authenticator: storeAuth(db),
    now: opts.now,
  });
  const client = (key: string) =>
    new OpenAI({ baseURL: `${engine.url}/v1`, apiKey: key, maxRetries: 0, timeout: 10_000 });
  return Object.assign(engine, { logs, client });
}

/** Wait until `fn` holds (spend is written off the request path), up to 3 s. */
export async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() - t0 > 3000) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
}
