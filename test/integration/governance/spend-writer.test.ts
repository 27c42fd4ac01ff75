/**
 * The spend-log writer on its own (a governance runtime on a test store, settled events made here): rollups
 * per key, user, team, end user, org, model and tag; nothing lost while the database is unavailable (SQLite:
 * another connection holds the write lock; Postgres: the table is gone for a while); the bounded queue
 * dropping its oldest rows with the totals intact; retention deleting old rows only.
 */
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { loadLiteLLMConfig } from '../../../src/config/litellm/load.js';
import { SPEND_ROUTES } from '../../../src/engine/governance/api/spend.js';
import { loadNodeSqlite } from '../../../src/engine/governance/db/sqlite.js';
import { type Governance, startGovernance } from '../../../src/engine/governance/governance.js';
import { reportByDay } from '../../../src/engine/governance/spend/reports.js';
import { startSpendWriter } from '../../../src/engine/governance/spend/writer.js';
import type { GovernedPrincipal } from '../../../src/engine/governance/types.js';
import { createLogger, type SettledEvent } from '../../../src/engine/index.js';
import { isSqlite, STORES, TEST_PG_URL, type TestStore, testStore } from './stores.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-03-10T12:00:00Z');

function event(id: string, over: Partial<SettledEvent> = {}): SettledEvent {
  return {
    callId: id,
    principal: { kind: 'virtual_key', keyHash: 'h'.repeat(64), userId: 'u1', teamId: 't1', orgId: 'o1' },
    endpoint: 'chat',
    requestedModel: 'gpt-x',
    modelGroup: 'gpt-x',
    provider: 'openai',
    stream: false,
    status: 'success',
    httpStatus: 200,
    usage: { prompt: 10, completion: 5, total: 15, cached: 2, cacheCreation: 1, reasoning: 0 },
    usageReported: true,
    responseCost: 0.01,
    startTime: T0,
    endTime: T0 + 100,
    durationMs: 100,
    upstreamMs: 90,
    attemptedRetries: 0,
    attemptedFallbacks: 0,
    attempts: 1,
    cacheHit: false,
    tags: ['a'],
    ...over,
  };
}

describe.each(STORES)('spend writer on %s', (kind) => {
  let store: TestStore;
  let g: Governance | undefined;
  const logs: string[] = [];
  afterEach(async () => {
    await g?.close();
    g = undefined;
    await store?.cleanup();
  });

  async function governance(general: Record<string, unknown> = {}, now = () => T0): Promise<Governance> {
    store = await testStore(kind);
    const loaded = loadLiteLLMConfig(
      { kind: 'object', value: { model_list: [], general_settings: { proxy_batch_write_at: 3600, ...general } } },
      { env: {} },
    );
    g = await startGovernance({
      loaded,
      env: {},
      masterKeyHash: 'm'.repeat(64),
      logger: createLogger({ level: 'info', secrets: [], write: (l) => logs.push(l) }),
      table: {} as never,
      prices: {} as never,
      db: store.options,
      now,
    });
    return g;
  }

  const count = async (gv: Governance) =>
    Number(
      (
        await gv.store.db
          .selectFrom('spend_logs')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('adds each call to the rollups of its key, user, team, end user, org, model and tags', async () => {
    const gv = await governance();
    const w = startSpendWriter(gv);
    w(event('r1', { principal: { ...event('x').principal, endUserId: 'c1' }, tags: ['a', 'b'] }));
    w(event('r2', { status: 'failure', httpStatus: 429, responseCost: undefined }));
    await w.flush();
    const rows = await gv.store.db.selectFrom('daily_spend').selectAll().orderBy('entity_type').execute();
    const of = (t: string, id: string) => rows.filter((r) => r.entity_type === t && r.entity_id === id);
    for (const [t, id] of [
      ['key', 'h'.repeat(64)],
      ['user', 'u1'],
      ['team', 't1'],
      ['org', 'o1'],
      ['model', 'gpt-x'],
      ['tag', 'a'],
    ]) {
      expect(of(t, id), `${t} ${id}`).toHaveLength(1);
      expect(of(t, id)[0]).toMatchObject({
        date: '2026-03-10',
        api_requests: 2,
        successful_requests: 1,
        failed_requests: 1,
        prompt_tokens: 20,
        cache_read_input_tokens: 4,
        cache_creation_input_tokens: 2,
      });
      expect(of(t, id)[0].spend).toBeCloseTo(0.01, 12);
    }
    expect(of('tag', 'b')[0].api_requests).toBe(1);
    expect(of('end_user', 'c1')[0].api_requests).toBe(1);
    // the call without an end user is counted under '' (reports call it unassigned)
    expect(of('end_user', '')[0].api_requests).toBe(1);
    const log = await gv.store.db
      .selectFrom('spend_logs')
      .selectAll()
      .where('request_id', '=', 'r1')
      .executeTakeFirst();
    expect(log).toMatchObject({ user_id: 'u1', team_id: 't1', organization_id: 'o1', end_user: 'c1', spend: 0.01 });
    expect(log?.cache_read_input_tokens).toBe(2);
    // the team report names a team by its alias, and sums its day
    await gv.store.db
      .insertInto('teams')
      .values({ team_id: 't1', team_alias: 'Team One', created_at: T0, updated_at: T0 })
      .execute();
    const report = await reportByDay(gv, { start: '2026-03-01', end: '2026-03-31' }, 'team');
    expect(report).toEqual([
      {
        group_by_day: '2026-03-10T00:00:00+00:00',
        teams: [
          {
            team_name: 'Team One',
            total_spend: expect.closeTo(0.01, 12),
            metadata: [{ model: 'gpt-x', api_key: 'h'.repeat(64), spend: expect.closeTo(0.01, 12), total_tokens: 30 }],
          },
        ],
      },
    ]);
  });

  it('keeps everything queued while the database is unavailable and writes it all when it is back', async () => {
    const gv = await governance();
    const w = startSpendWriter(gv);
    const release = await outage(gv);
    try {
      for (let i = 0; i < 30; i++) w(event(`down-${i}`));
      await w.flush();
      expect(w.pending).toBe(30);
      w(event('down-30'));
      await w.flush();
      expect(w.pending).toBe(31);
      expect(logs.some((l) => l.includes('cannot write spend logs'))).toBe(true);
    } finally {
      await release();
    }
    await w.flush();
    expect(w.pending).toBe(0);
    expect(await count(gv)).toBe(31);
    const key = await gv.store.db
      .selectFrom('daily_spend')
      .selectAll()
      .where('entity_type', '=', 'key')
      .executeTakeFirstOrThrow();
    expect(key.api_requests).toBe(31);
    expect(key.spend).toBeCloseTo(0.31, 10);
    expect(logs.some((l) => l.includes('spend log writes recovered'))).toBe(true);
  });

  it('drops the oldest rows past its bound during a long outage, and the totals still count every call', async () => {
    const gv = await governance();
    const w = startSpendWriter(gv, { maxQueue: 5 });
    const release = await outage(gv);
    try {
      for (let i = 0; i < 8; i++) w(event(`q-${i}`));
      await w.flush();
      expect(w.pending).toBe(5);
      expect(w.dropped).toBe(3);
    } finally {
      await release();
    }
    await w.flush();
    const ids = (await gv.store.db.selectFrom('spend_logs').select('request_id').execute()).map((r) => r.request_id);
    expect(ids.sort()).toEqual(['q-3', 'q-4', 'q-5', 'q-6', 'q-7']);
    const key = await gv.store.db
      .selectFrom('daily_spend')
      .select('api_requests')
      .where('entity_type', '=', 'key')
      .executeTakeFirstOrThrow();
    expect(key.api_requests).toBe(8);
  });

  it('retention deletes rows older than the period, in batches, and keeps the rest', async () => {
    let now = T0;
    const gv = await governance({ maximum_spend_logs_retention_period: '7d' }, () => now);
    const w = startSpendWriter(gv, { pruneBatch: 3 });
    for (let i = 0; i < 7; i++) w(event(`old-${i}`, { startTime: T0 - 10 * DAY, endTime: T0 - 10 * DAY + 5 }));
    for (let i = 0; i < 2; i++) w(event(`new-${i}`, { startTime: T0 - DAY, endTime: T0 - DAY + 5 }));
    await w.flush();
    expect(await w.prune()).toBe(7);
    const left = (await gv.store.db.selectFrom('spend_logs').select('request_id').execute()).map((r) => r.request_id);
    expect(left.sort()).toEqual(['new-0', 'new-1']);
    now = T0 + 7 * DAY;
    expect(await w.prune()).toBe(2);
    expect(await count(gv)).toBe(0);
    // the daily totals are not the logs: they stay
    expect((await gv.store.db.selectFrom('daily_spend').selectAll().execute()).length).toBeGreaterThan(0);
  });

  it('/spend/logs shows internal users only their own keys; admins and viewers everything', async () => {
    const gv = await governance();
    const w = startSpendWriter(gv);
    const mine = { kind: 'virtual_key' as const, keyHash: 'a'.repeat(64), userId: 'u1' };
    const theirs = { kind: 'virtual_key' as const, keyHash: 'b'.repeat(64), userId: 'u2' };
    w(event('mine-1', { principal: mine }));
    w(event('theirs-1', { principal: theirs }));
    await w.flush();
    const route = SPEND_ROUTES.find((r) => r.path === '/spend/logs')!;
    const call = (principal: GovernedPrincipal, q: string) =>
      route.handle(gv, { principal, query: new URLSearchParams(q), body: {}, params: {}, headers: {} });
    const ids = (rows: unknown) => (rows as { request_id: string }[]).map((r) => r.request_id).sort();
    const user = { ...mine, role: 'internal_user' as const };
    expect(ids(await call(user, 'summarize=false'))).toEqual(['mine-1']);
    await expect(call(user, `api_key=${'b'.repeat(64)}`)).rejects.toMatchObject({ status: 403 });
    await expect(call(user, 'user_id=u2')).rejects.toMatchObject({ status: 403 });
    const day = await call(user, 'start_date=2026-03-10&end_date=2026-03-10');
    expect(Object.keys((day as Record<string, unknown>[])[0])).not.toContain('b'.repeat(64));
    const viewer = { ...theirs, role: 'proxy_admin_viewer' as const };
    expect(ids(await call(viewer, ''))).toEqual(['mine-1', 'theirs-1']);
    const [both] = (await call(viewer, 'start_date=2026-03-10&end_date=2026-03-10')) as Record<string, any>[];
    expect(both).toMatchObject({ startTime: '2026-03-10', users: { u1: 0.01, u2: 0.01 }, models: { 'gpt-x': 0.02 } });
    expect(both.spend).toBeCloseTo(0.02, 12);
    expect(both['a'.repeat(64)]).toBeCloseTo(0.01, 12);
    const [onlyU2] = (await call(viewer, 'start_date=2026-03-10&end_date=2026-03-10&user_id=u2')) as any[];
    expect(onlyU2.users).toEqual({ u2: 0.01 });
    expect(onlyU2['a'.repeat(64)]).toBeUndefined();
  });

  it('closing the runtime writes what is queued', async () => {
    const gv = await governance();
    const w = startSpendWriter(gv);
    w(event('at-close'));
    await gv.close();
    g = undefined;
    const db = await store.open();
    try {
      expect((await db.db.selectFrom('spend_logs').select('request_id').execute()).map((r) => r.request_id)).toEqual([
        'at-close',
      ]);
    } finally {
      await db.close();
    }
  });

  /** Make writes fail until the returned function is called. */
  async function outage(gv: Governance): Promise<() => Promise<void>> {
    if (isSqlite(kind)) {
      // a connection through the same SQLite library: two libraries in one process do not see each other's locks
      // (POSIX locks belong to the process), so better-sqlite3's would not hold off node:sqlite's writer
      const path = store.options.path!;
      const other = kind === 'node:sqlite' ? new (loadNodeSqlite()!.DatabaseSync)(path) : new Sqlite(path);
      other.exec('BEGIN EXCLUSIVE');
      return async () => {
        other.exec('COMMIT');
        other.close();
      };
    }
    // Postgres: the table is gone for a while (another session renames it away, then back)
    const c = new pg.Client({ connectionString: TEST_PG_URL });
    await c.connect();
    const schema = store.options.schema!;
    await c.query(`ALTER TABLE ${schema}.spend_logs RENAME TO spend_logs_away`);
    void gv;
    return async () => {
      await c.query(`ALTER TABLE ${schema}.spend_logs_away RENAME TO spend_logs`);
      await c.end();
    };
  }
});
