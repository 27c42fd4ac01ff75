/**
 * Virtual keys end to end, on SQLite and Postgres: made with /key/generate, used with the official openai SDK.
 * Model access (lists, access groups, wildcards, aliases, team lists), expiry on an injected clock, block and
 * unblock, delete and regenerate taking effect on this engine at once, the grace period of a regenerated key,
 * and a key surviving an engine restart on the same store.
 */
import { createHash } from 'node:crypto';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { recordSettled, startTestEngine, type TestEngine } from '../engine-helpers.js';
import { CONFIG, call, chat, client, generate, MASTER } from './key-helpers.js';
import { STORES, type TestStore, testStore } from './stores.js';

describe.each(STORES)('virtual keys on %s', (kind) => {
  let store: TestStore;
  let engine: TestEngine;
  let clock = Date.parse('2026-03-04T10:00:00Z');
  const start = () => startTestEngine(CONFIG, { apiKey: MASTER, governance: store.options, now: () => clock });

  beforeAll(async () => {
    store = await testStore(kind);
    engine = await start();
  });
  afterAll(async () => {
    await engine?.close();
    await store?.cleanup();
  });

  it('generates sk- keys shown once, stores only their sha256, and the openai SDK calls with them', async () => {
    const k = await generate(engine, { key_alias: 'first', metadata: { team: 'x' } });
    expect(k.key).toMatch(/^sk-[A-Za-z0-9_-]{22}$/);
    const hash = createHash('sha256').update(k.key).digest('hex');
    expect(k).toMatchObject({ key_name: `sk-...${k.key.slice(-4)}`, token: hash, token_id: hash, key_alias: 'first' });
    expect(await chat(engine, k.key)).toBe('from a');
    // the key is in no stored column and in no later answer
    const db = await store.open();
    const rows = await db.db.selectFrom('keys').selectAll().execute();
    await db.close();
    expect(JSON.stringify(rows)).not.toContain(k.key);
    expect(rows.find((r) => r.token === hash)).toMatchObject({ key_alias: 'first', key_name: k.key_name });
    const info = await call(engine, 'GET', '/key/info', { key: hash });
    expect(info.status).toBe(200);
    expect(info.json.info).toMatchObject({ token: hash, key_alias: 'first', metadata: { team: 'x' }, blocked: false });
    expect(JSON.stringify(info.json)).not.toContain(k.key);
    // LiteLLM's own header works too
    const r = await fetch(`${engine.url}/v1/models`, { headers: { 'x-litellm-api-key': k.key } });
    expect(r.status).toBe(200);
  });

  it('a key calls only the models it lists: names, aliases, access groups, wildcards', async () => {
    const k = await generate(engine, { models: ['gpt-a', 'beta-models', 'vendor/*'] });
    expect(await chat(engine, k.key, 'gpt-a')).toBe('from a');
    expect(await chat(engine, k.key, 'a-alias')).toBe('from a');
    expect(await chat(engine, k.key, 'gpt-b')).toBe('from b');
    expect(await chat(engine, k.key, 'vendor/x1')).toBe('from vendor');
    const e = await chat(engine, k.key, 'gpt-c');
    expect(e).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(e.status).toBe(403);
    expect(e.error).toEqual({
      message:
        "key not allowed to access model. This key can only access models=['gpt-a', 'beta-models', 'vendor/*']. " +
        'Tried to access gpt-c',
      type: 'key_model_access_denied',
      param: 'model',
      code: '403',
    });
    // /v1/models and /v1/model/info list what it may call, nothing else
    const models = await client(engine, k.key).models.list();
    expect(models.data.map((m) => m.id).sort()).toEqual(['a-alias', 'gpt-a', 'gpt-b']);
    const info = await call(engine, 'GET', '/v1/model/info', {}, k.key);
    expect(info.json.data.map((d: any) => d.model_name).sort()).toEqual(['gpt-a', 'gpt-b', 'vendor/*']);
    // /v1/messages (the Anthropic SDK's x-api-key header): the same rule, in Anthropic's error shape
    const messages = (model: string) =>
      fetch(`${engine.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': k.key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
      });
    expect((await messages('gpt-a')).status).toBe(200);
    const refused = await messages('gpt-c');
    expect(refused.status).toBe(403);
    expect((await refused.json()).error.type).toBe('permission_error');
    // an empty list means every model
    const all = await generate(engine, { models: [] });
    expect(await chat(engine, all.key, 'gpt-c')).toBe('from c');
  });

  it("a team key is held to its team's models too", async () => {
    const db = await store.open();
    const now = Date.now();
    await db.db
      .insertInto('teams')
      .values({ team_id: 'team-m', models: JSON.stringify(['gpt-a', 'gpt-b']), created_at: now, updated_at: now })
      .execute();
    await db.close();
    const k = await generate(engine, { team_id: 'team-m', models: ['gpt-b', 'gpt-c'] });
    expect(await chat(engine, k.key, 'gpt-b')).toBe('from b');
    const e = await chat(engine, k.key, 'gpt-c');
    expect(e.status).toBe(403);
    expect(e.error.type).toBe('team_model_access_denied');
    const inherit = await generate(engine, { team_id: 'team-m', models: ['all-team-models'], key_alias: 'inherit' });
    const seen = recordSettled(engine);
    const { response } = await client(engine, inherit.key)
      .chat.completions.create({ model: 'gpt-a', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    // the request carries the key's principal: what sinks and spend logs name it by
    expect((await seen.eventOf(response.headers.get('x-request-id'))).principal).toMatchObject({
      kind: 'virtual_key',
      keyHash: inherit.token,
      keyAlias: 'inherit',
      teamId: 'team-m',
      role: 'internal_user',
      models: ['gpt-a', 'gpt-b'],
    });
    expect((await chat(engine, inherit.key, 'gpt-c')).error.type).toBe('team_model_access_denied');
  });

  it('an expired key is refused with expired_key and its abbreviation', async () => {
    const k = await generate(engine, { duration: '1h' });
    expect(k.expires).toBe(new Date(clock + 3_600_000).toISOString());
    expect(await chat(engine, k.key)).toBe('from a');
    clock += 3_600_000;
    const e = await chat(engine, k.key);
    expect(e).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(e.error).toMatchObject({ type: 'expired_key', param: `sk-...${k.key.slice(-4)}`, code: '401' });
    expect(e.error.message).toMatch(/^Authentication Error - Expired Key\. Key Expiry time /);
  });

  it('block, unblock and delete take effect on the next request', async () => {
    const k = await generate(engine);
    expect(await chat(engine, k.key)).toBe('from a');
    expect((await call(engine, 'POST', '/key/block', { key: k.key })).json.blocked).toBe(true);
    const e = await chat(engine, k.key);
    expect(e.status).toBe(401);
    expect(e.error).toMatchObject({
      type: 'auth_error',
      message: "Authentication Error, Key is blocked. Update via `/key/unblock` if you're an admin.",
    });
    await call(engine, 'POST', '/key/unblock', { key: k.token });
    expect(await chat(engine, k.key)).toBe('from a');
    const del = await call(engine, 'POST', '/key/delete', { keys: [k.key] });
    expect(del).toEqual({ status: 200, json: { deleted_keys: [k.key] } });
    const gone = await chat(engine, k.key);
    expect(gone.status).toBe(401);
    expect(gone.error.message).toMatch(/^Authentication Error, Invalid proxy server token passed/);
    expect(gone.error.message).not.toContain(k.key);
  });

  it('a blocked team refuses its keys', async () => {
    const db = await store.open();
    const now = Date.now();
    await db.db.insertInto('teams').values({ team_id: 'team-b', created_at: now, updated_at: now }).execute();
    const k = await generate(engine, { team_id: 'team-b' });
    expect(await chat(engine, k.key)).toBe('from a');
    await db.db.updateTable('teams').set({ blocked: 1 }).where('team_id', '=', 'team-b').execute();
    await db.close();
    // the people area's /team/block sends this notice; here the row was changed behind the engine's back
    clock += 60_000;
    await chat(engine, k.key); // served from the stale entry while it refreshes
    await new Promise((r) => setTimeout(r, 50));
    const e = await chat(engine, k.key);
    expect(e.status).toBe(401);
    expect(e.error.message).toBe(
      "Authentication Error, Team=team-b is blocked. Update via `/team/unblock` if you're an admin.",
    );
  });

  it('regenerate with a grace period: both keys work until revoke_at, then only the new one', async () => {
    const k = await generate(engine, { key_alias: 'rotating', max_budget: 5 });
    const r = await call(engine, 'POST', `/key/${k.token}/regenerate`, { grace_period: '2h' });
    expect(r.status).toBe(200);
    expect(r.json.key).not.toBe(k.key);
    expect(r.json).toMatchObject({ key_alias: 'rotating', max_budget: 5, key_name: `sk-...${r.json.key.slice(-4)}` });
    expect(await chat(engine, r.json.key)).toBe('from a');
    expect(await chat(engine, k.key)).toBe('from a');
    clock += 2 * 3_600_000;
    expect((await chat(engine, k.key)).status).toBe(401);
    expect(await chat(engine, r.json.key)).toBe('from a');
    // without a grace period the old key stops at once
    const again = await call(engine, 'POST', '/key/regenerate', { key: r.json.key });
    expect((await chat(engine, r.json.key)).status).toBe(401);
    expect(await chat(engine, again.json.key)).toBe('from a');
  });

  it('a key still works after the engine restarts on the same store', async () => {
    const k = await generate(engine, { models: ['gpt-b'] });
    expect(await chat(engine, k.key, 'gpt-b')).toBe('from b');
    await engine.close();
    // last_active is written in batches; closing the engine writes what is queued
    const db = await store.open();
    const row = await db.db.selectFrom('keys').select('last_active').where('token', '=', k.token).executeTakeFirst();
    await db.close();
    expect(row?.last_active).toBe(clock);
    engine = await start();
    expect(await chat(engine, k.key, 'gpt-b')).toBe('from b');
    expect((await chat(engine, k.key, 'gpt-a')).status).toBe(403);
  });
});

describe('virtual keys across two engines sharing one store', () => {
  let store: TestStore;
  const engines: TestEngine[] = [];
  let clock = Date.parse('2026-03-04T10:00:00Z');
  afterEach(async () => {
    for (const e of engines.splice(0)) await e.close();
    await store?.cleanup();
  });
  /** two engines on one fresh SQLite file, on the test's clock */
  const twoEngines = async () => {
    store = await testStore('sqlite');
    const opts = { apiKey: MASTER, governance: store.options, now: () => clock };
    engines.push(await startTestEngine(CONFIG, opts), await startTestEngine(CONFIG, opts));
    return engines;
  };

  it('a block on one engine reaches the other once its cache entry is older than the TTL', async () => {
    const [a, b] = await twoEngines();
    const k = await generate(a);
    expect(await chat(b, k.key)).toBe('from a');
    await call(a, 'POST', '/key/block', { key: k.key });
    expect((await chat(a, k.key)).status).toBe(401);
    // b still trusts its entry within the TTL (5 s by default), then re-reads it
    expect(await chat(b, k.key)).toBe('from a');
    clock += 5_000;
    await chat(b, k.key);
    await new Promise((r) => setTimeout(r, 50));
    expect((await chat(b, k.key)).status).toBe(401);
  });

  it('a key made on one engine is found by the other (unknown keys are forgotten after a second)', async () => {
    const [a, b] = await twoEngines();
    const custom = 'sk-custom-shared-key-1';
    expect((await chat(b, custom)).status).toBe(401);
    await generate(a, { key: custom });
    clock += 1_000;
    expect(await chat(b, custom)).toBe('from a');
  });
});
