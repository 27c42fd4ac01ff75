/**
 * The /key/* management API on SQLite and Postgres: LiteLLM's bodies and answers, 400s naming the field,
 * unique aliases, list pagination and filters, budget fields, and what each role may do (internal users
 * their own keys only, viewers read, proxy admins everything).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, type TestEngine } from '../engine-helpers.js';
import { CONFIG, call, chat, generate, MASTER } from './key-helpers.js';
import { STORES, type TestStore, testStore } from './stores.js';

describe.each(STORES)('key management on %s', (kind) => {
  let store: TestStore;
  let engine: TestEngine;
  // a Wednesday, mid-morning
  const clock = Date.parse('2026-03-04T10:17:00Z');

  beforeAll(async () => {
    store = await testStore(kind);
    engine = await startTestEngine(CONFIG, { apiKey: MASTER, governance: store.options, now: () => clock });
    const db = await store.open();
    const now = Date.now();
    const user = (user_id: string, user_role: 'internal_user' | 'internal_user_viewer' | 'proxy_admin_viewer') =>
      db.db.insertInto('users').values({ user_id, user_role, created_at: now, updated_at: now }).execute();
    await user('alice', 'internal_user');
    await user('bob', 'internal_user');
    await user('vera', 'proxy_admin_viewer');
    await user('ivy', 'internal_user_viewer');
    await db.db.insertInto('teams').values({ team_id: 'team-1', created_at: now, updated_at: now }).execute();
    await db.db
      .insertInto('team_members')
      .values({ team_id: 'team-1', user_id: 'alice', role: 'user', created_at: now })
      .execute();
    await db.close();
  });
  afterAll(async () => {
    await engine?.close();
    await store?.cleanup();
  });

  it('stores every LiteLLM field and answers them as LiteLLM does', async () => {
    const fields = {
      key_alias: 'full',
      models: ['gpt-a'],
      aliases: { short: 'gpt-a' },
      max_budget: 10,
      soft_budget: 8,
      budget_duration: '7d',
      tpm_limit: 1000,
      rpm_limit: 10,
      max_parallel_requests: 2,
      tags: ['prod'],
      model_max_budget: { 'gpt-a': { budget_limit: 1, time_period: '1d' } },
      model_rpm_limit: { 'gpt-a': 5 },
      model_tpm_limit: { 'gpt-a': 500 },
      key_type: 'llm_api',
      user_id: 'alice',
      team_id: 'team-1',
    };
    const k = await generate(engine, { ...fields, metadata: { owner: 'ops' }, send_invite_email: false });
    expect(k).toMatchObject({
      ...fields,
      // 7d resets at the next Monday midnight (UTC)
      budget_reset_at: '2026-03-09T00:00:00.000Z',
      metadata: { owner: 'ops', model_rpm_limit: { 'gpt-a': 5 }, model_tpm_limit: { 'gpt-a': 500 } },
      spend: 0,
      expires: null,
      blocked: false,
    });
    const upd = await call(engine, 'POST', '/key/update', { key: k.key, max_budget: 20, budget_duration: '1mo' });
    expect(upd.status).toBe(200);
    // only the fields sent change
    expect(upd.json).toMatchObject({
      max_budget: 20,
      budget_reset_at: '2026-04-01T00:00:00.000Z',
      rpm_limit: 10,
      key_alias: 'full',
    });
  });

  it('refuses bad fields with a 400 naming them', async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ max_budget: -1 }, 'max_budget', /max_budget must be a non-negative finite number. Received: -1/],
      [{ models: 'gpt-a' }, 'models', /models must be a list of strings/],
      [{ duration: '3 days' }, 'duration', /duration must be a duration such as/],
      [{ budget_duration: 'weekly' }, 'budget_duration', /budget_duration must be a duration/],
      [{ rpm_limit: 1.5 }, 'rpm_limit', /rpm_limit must be a non-negative integer/],
      [{ key_type: 'admin' }, 'key_type', /key_type must be one of llm_api, management, read_only, default/],
      [{ model_max_budget: { 'gpt-a': 3 } }, 'model_max_budget', /model_max_budget must be an object of/],
      [{ key: 'not-an-sk-key' }, 'key', /must start with 'sk-'/],
      [{ team_id: 'no-such-team' }, 'team_id', /team_id=no-such-team does not exist/],
    ];
    for (const [body, param, message] of cases) {
      const r = await call(engine, 'POST', '/key/generate', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error).toMatchObject({ param, code: '400' });
      expect(r.json.error.message).toMatch(message);
    }
    expect((await call(engine, 'POST', '/key/update', { max_budget: 1 })).json.error.param).toBe('key');
    expect((await call(engine, 'POST', '/key/delete', {})).json.error.param).toBe('keys');
  });

  it('refuses a second key with the same alias', async () => {
    await generate(engine, { key_alias: 'unique-one' });
    const r = await call(engine, 'POST', '/key/generate', { key_alias: 'unique-one' });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toBe(
      "Key with alias 'unique-one' already exists. Unique key aliases across all keys are required.",
    );
  });

  it('lists with pagination and filters; hashes unless return_full_object=true', async () => {
    for (let i = 0; i < 3; i++) await generate(engine, { user_id: 'bob', key_alias: `bob-${i}` });
    const page1 = await call(engine, 'GET', '/key/list', { user_id: 'bob', size: 2 });
    expect(page1.json).toMatchObject({ total_count: 3, current_page: 1, total_pages: 2 });
    expect(page1.json.keys).toHaveLength(2);
    expect(page1.json.keys[0]).toMatch(/^[0-9a-f]{64}$/);
    const page2 = await call(engine, 'GET', '/key/list', { user_id: 'bob', size: 2, page: 2 });
    expect(page2.json.keys).toHaveLength(1);
    expect(new Set([...page1.json.keys, ...page2.json.keys]).size).toBe(3);
    const full = await call(engine, 'GET', '/key/list', { key_alias: 'bob-1', return_full_object: true });
    expect(full.json.keys).toEqual([expect.objectContaining({ key_alias: 'bob-1', user_id: 'bob' })]);
    expect(JSON.stringify(full.json)).not.toMatch(/"key":/);
    expect((await call(engine, 'GET', '/key/list', { size: 500 })).json.error.param).toBe('size');
  });

  it('deletes by alias, and refuses unknown keys without deleting any', async () => {
    const k = await generate(engine, { key_alias: 'to-delete' });
    const bad = await call(engine, 'POST', '/key/delete', { keys: [k.key, 'sk-unknown-key-0000'] });
    expect(bad.status).toBe(404);
    expect(bad.json.error.message).toBe('Keys not found: sk-...0000');
    expect(await chat(engine, k.key)).toBe('from a');
    expect((await call(engine, 'POST', '/key/delete', { key_aliases: ['to-delete'] })).status).toBe(200);
    expect((await chat(engine, k.key)).status).toBe(401);
  });

  it('an internal user manages only their own keys', async () => {
    const alice = (await generate(engine, { user_id: 'alice' })).key;
    const bobKey = await generate(engine, { user_id: 'bob' });
    // generate: for themselves only (user_id forced), team keys only for their teams
    const own = await call(engine, 'POST', '/key/generate', { key_alias: 'alice-own' }, alice);
    expect(own.status).toBe(200);
    expect(own.json.user_id).toBe('alice');
    expect((await call(engine, 'POST', '/key/generate', { user_id: 'bob' }, alice)).status).toBe(403);
    expect((await call(engine, 'POST', '/key/generate', { team_id: 'team-1' }, alice)).status).toBe(200);
    // list: only theirs, whatever the filter says
    const list = await call(engine, 'GET', '/key/list', { return_full_object: true, size: 100 }, alice);
    expect(list.json.keys.length).toBeGreaterThan(0);
    expect(list.json.keys.every((x: any) => x.user_id === 'alice')).toBe(true);
    expect((await call(engine, 'GET', '/key/list', { user_id: 'bob' }, alice)).json.total_count).toBe(0);
    // info / delete / update of another user's key: 403
    expect((await call(engine, 'GET', '/key/info', { key: bobKey.token }, alice)).status).toBe(403);
    expect((await call(engine, 'POST', '/key/delete', { keys: [bobKey.token] }, alice)).status).toBe(403);
    expect((await call(engine, 'POST', '/key/update', { key: bobKey.token, max_budget: 1 }, alice)).status).toBe(403);
    expect((await call(engine, 'GET', '/key/info', { key: own.json.token }, alice)).status).toBe(200);
    // on their own keys: alias, metadata and tags; not what an admin granted
    const rename = await call(engine, 'POST', '/key/update', { key: own.json.token, key_alias: 'alice-2' }, alice);
    expect(rename.json.key_alias).toBe('alice-2');
    const raise = await call(engine, 'POST', '/key/update', { key: own.json.token, max_budget: 1000 }, alice);
    expect(raise.status).toBe(403);
    expect(raise.json.error.message).toMatch(/^Only a proxy admin can change max_budget of an existing key/);
    const rotated = await call(engine, 'POST', '/key/regenerate', { key: own.json.key }, alice);
    expect(rotated.status).toBe(200);
    own.json.key = rotated.json.key;
    own.json.token = rotated.json.token;
    // /key/info without ?key= is the calling key itself
    expect((await call(engine, 'GET', '/key/info', {}, alice)).json.info.user_id).toBe('alice');
    // block is admin-only
    const blk = await call(engine, 'POST', '/key/block', { key: own.json.token }, alice);
    expect(blk.status).toBe(403);
    expect(blk.json.error.type).toBe('auth_error');
    expect((await call(engine, 'POST', '/key/delete', { keys: [own.json.key] }, alice)).status).toBe(200);
  });

  it('viewers read; a key without a user sees only itself', async () => {
    const vera = (await generate(engine, { user_id: 'vera' })).key;
    const ivy = (await generate(engine, { user_id: 'ivy' })).key;
    const other = await generate(engine, { user_id: 'bob' });
    expect((await call(engine, 'GET', '/key/info', { key: other.token }, vera)).status).toBe(200);
    expect((await call(engine, 'GET', '/key/list', { user_id: 'bob' }, vera)).json.total_count).toBeGreaterThan(0);
    expect((await call(engine, 'POST', '/key/generate', {}, vera)).status).toBe(403);
    expect((await call(engine, 'POST', '/key/generate', {}, ivy)).status).toBe(403);
    expect((await call(engine, 'GET', '/key/info', { key: other.token }, ivy)).status).toBe(403);
    const lone = await generate(engine);
    const mine = await call(engine, 'GET', '/key/list', {}, lone.key);
    expect(mine.json).toMatchObject({ keys: [lone.token], total_count: 1 });
    expect((await call(engine, 'POST', '/key/generate', {}, lone.key)).status).toBe(403);
  });
});
