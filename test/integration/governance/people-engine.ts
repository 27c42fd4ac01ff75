/**
 * An engine for the people-area tests: a master key, a fresh store of one kind, an injected clock, and an
 * authenticator that also takes the virtual keys /user/new hands out (read from the store: key -> user ->
 * role), so role refusals are tested with real keys. TODO(keys): once virtual-key auth is merged, drop the
 * authenticator here and let the engine's own do it.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { loadLiteLLMConfig } from '../../../src/config/litellm/load.js';
import { presentedKey } from '../../../src/engine/auth/master-key.js';
import type { Authenticator, Principal } from '../../../src/engine/auth/principal.js';
import { GatewayError } from '../../../src/engine/errors.js';
import type { GovernanceDb } from '../../../src/engine/governance/db/open.js';
import type { Change, Governance } from '../../../src/engine/governance/governance.js';
import type { GovernedPrincipal } from '../../../src/engine/governance/types.js';
import { createLogger, type EngineHandle, startEngine } from '../../../src/engine/index.js';
import { type StoreKind, type TestStore, testStore } from './stores.js';

export const MASTER = 'sk-master-people-test';
/** Monday 2026-11-30 12:00 UTC */
export const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);

export interface PeopleEngine {
  engine: EngineHandle;
  g: Governance;
  store: TestStore;
  db: GovernanceDb;
  changes: Change[];
  /** call a management route; `key` defaults to the master key */
  call(method: 'GET' | 'POST', path: string, body?: unknown, key?: string): Promise<{ status: number; json: any }>;
  close(): Promise<void>;
}

class StoreKeyAuth implements Authenticator {
  readonly name = 'test_store_keys';
  readonly enabled = true;
  constructor(private readonly db: () => GovernanceDb) {}
  async authenticate(headers: IncomingHttpHeaders): Promise<Principal> {
    const key = presentedKey(headers);
    if (key === MASTER) return { kind: 'master' };
    const token = createHash('sha256')
      .update(key ?? '')
      .digest('hex');
    const row = await this.db()
      .db.selectFrom('keys')
      .leftJoin('users', 'users.user_id', 'keys.user_id')
      .select(['keys.token', 'keys.user_id', 'keys.team_id', 'users.user_role'])
      .where('keys.token', '=', token)
      .executeTakeFirst();
    if (!row) throw new GatewayError(401, { message: 'Authentication Error: invalid proxy API key.' });
    const p: GovernedPrincipal = {
      kind: 'virtual_key',
      keyHash: row.token,
      userId: row.user_id ?? undefined,
      teamId: row.team_id ?? undefined,
      role: row.user_role ?? 'internal_user',
    };
    return p;
  }
}

export async function startPeopleEngine(kind: StoreKind): Promise<PeopleEngine> {
  const store = await testStore(kind);
  const config = {
    model_list: [{ model_name: 'gpt-4o-mini', litellm_params: { model: 'openai/gpt-4o-mini', mock_response: 'hi' } }],
    general_settings: { master_key: MASTER },
  };
  const loaded = loadLiteLLMConfig({ kind: 'object', value: config, label: 'people-test' }, { env: {} });
  let db: GovernanceDb | undefined;
  const engine = await startEngine({
    loaded,
    port: 0,
    env: {},
    logger: createLogger({ level: 'warn', secrets: [MASTER], write: () => {} }),
    drainTimeoutMs: 1000,
    governance: store.options,
    now: () => NOW,
    authenticator: new StoreKeyAuth(() => db as GovernanceDb),
  });
  db = await store.open();
  const g = engine.governance as Governance;
  const changes: Change[] = [];
  g.onChange((c) => changes.push(c));
  return {
    engine,
    g,
    store,
    db,
    changes,
    async call(method, path, body, key = MASTER) {
      const res = await fetch(`${engine.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined || typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    },
    async close() {
      await engine.close();
      await db?.close();
      await store.cleanup();
    },
  };
}
