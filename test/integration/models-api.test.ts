/**
 * The model API at run time (/model/new, /model/update, /model/delete): models added, changed and removed
 * without a restart, served at once (a fake OpenAI upstream answers them), listed by /v1/models and
 * /model/info; config models read-only; admins only. With store_model_in_db: persisted in both stores,
 * credentials encrypted at rest (LITELLM_SALT_KEY), reloaded after a restart and seen by a second engine.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startOpenAIUpstream } from '../fakes/openai-upstream.js';
import { startTestEngine, type TestEngine } from './engine-helpers.js';
import { type Answer, call, chat, generate, MASTER } from './governance/key-helpers.js';
import { STORES, type TestStore, testStore } from './governance/stores.js';

const UPSTREAM_KEY = 'sk-upstream-secret-4f9a2c7e';
const SALT = 'salt-key-for-model-tests-0123456789';
const CONFIG = {
  model_list: [{ model_name: 'cfg-model', litellm_params: { model: 'openai/cfg', mock_response: 'from config' } }],
  general_settings: { master_key: MASTER },
};

let up: FakeUpstream;
beforeAll(async () => {
  up = await startOpenAIUpstream();
});
afterAll(async () => {
  await up.close();
});

const engines: TestEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

async function start(config: Record<string, unknown>, opts: Parameters<typeof startTestEngine>[1] = {}) {
  const e = await startTestEngine(config, opts);
  engines.push(e);
  return e;
}

const newModel = (name: string, extra: Record<string, unknown> = {}) => ({
  model_name: name,
  litellm_params: { model: 'openai/upstream-model', api_base: `${up.url}/v1`, api_key: UPSTREAM_KEY, ...extra },
});

async function listed(e: TestEngine): Promise<string[]> {
  const r = await call(e, 'GET', '/v1/models');
  return r.json.data.map((m: { id: string }) => m.id);
}

/** Poll `f` until it holds (another engine applies a change within its poll interval). */
async function eventually<T>(f: () => Promise<T>, ok: (v: T) => boolean, ms = 8000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (ok(v) || Date.now() - t0 > ms) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('model API without a database (in memory)', () => {
  it('adds a model that is served at once, updates it, deletes it; /v1/models and /model/info follow', async () => {
    const e = await start(CONFIG);
    expect(await listed(e)).toEqual(['cfg-model']);

    const added = await call(e, 'POST', '/model/new', newModel('runtime-a'));
    expect(added.status).toBe(200);
    expect(added.json.model_name).toBe('runtime-a');
    expect(added.json.model_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(added.json.model_info).toMatchObject({ id: added.json.model_id, db_model: true });
    // the credential never comes back; the answer says the change is not persisted
    expect(JSON.stringify(added.json)).not.toContain(UPSTREAM_KEY);
    expect(added.json.litellm_params.api_key).toBe('****');
    expect(added.json.note).toMatch(/lost when the engine restarts/);
    expect(e.logs.join('\n')).toMatch(/in memory: lost at restart/);

    expect(await listed(e)).toEqual(['cfg-model', 'runtime-a']);
    const before = up.requests.length;
    expect(await chat(e, MASTER, 'runtime-a')).toBe('echo: hi');
    const sent = up.requests.slice(before).find((r) => r.path.endsWith('/chat/completions'));
    expect(sent?.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(sent?.body?.model).toBe('upstream-model');

    const info = await call(e, 'GET', '/model/info');
    const row = info.json.data.find((m: any) => m.model_name === 'runtime-a');
    expect(row.model_info).toMatchObject({ id: added.json.model_id, db_model: true });
    expect(info.json.data.find((m: any) => m.model_name === 'cfg-model').model_info.db_model).toBe(false);
    expect(JSON.stringify(info.json)).not.toContain(UPSTREAM_KEY);
    const v2 = await call(e, 'GET', '/v2/model/info', { search: 'runtime' });
    expect(v2.json.total_count).toBe(1);
    const groups = await call(e, 'GET', '/model_group/info');
    expect(groups.json.data.map((g: any) => g.model_group)).toContain('runtime-a');

    // update: rename and point at another upstream model; litellm_params merge over what was stored
    const upd = await call(e, 'POST', '/model/update', {
      model_name: 'runtime-b',
      litellm_params: { model: 'openai/other-model' },
      model_info: { id: added.json.model_id },
    });
    expect(upd.status).toBe(200);
    expect(upd.json.model_name).toBe('runtime-b');
    expect(await listed(e)).toEqual(['cfg-model', 'runtime-b']);
    const n = up.requests.length;
    expect(await chat(e, MASTER, 'runtime-b')).toBe('echo: hi');
    const again = up.requests.slice(n).find((r) => r.path.endsWith('/chat/completions'));
    expect(again?.body?.model).toBe('other-model');
    expect(again?.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`); // kept from the first add

    const del = await call(e, 'POST', '/model/delete', { id: added.json.model_id });
    expect(del).toEqual({ status: 200, json: { message: `Model: ${added.json.model_id} deleted successfully` } });
    expect(await listed(e)).toEqual(['cfg-model']);
    const gone = await chat(e, MASTER, 'runtime-b');
    expect(gone.status).toBe(400);
  });

  it("an upstream error that echoes an API model's key reaches the client masked", async () => {
    const e = await start(CONFIG);
    await call(e, 'POST', '/model/new', newModel('echoing'));
    up.setFault({ kind: 'status', status: 401, body: { error: { message: `Incorrect API key: ${UPSTREAM_KEY}` } } });
    try {
      const r = await fetch(`${e.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'echoing', messages: [{ role: 'user', content: 'hi' }] }),
      });
      const text = await r.text();
      expect(r.status).toBe(401);
      expect(text).toContain('Incorrect API key');
      expect(text).not.toContain(UPSTREAM_KEY);
    } finally {
      up.setFault(undefined);
    }
  });

  it('PATCH /model/{id}/update changes one field', async () => {
    const e = await start(CONFIG);
    const added = await call(e, 'POST', '/model/new', { ...newModel('p'), model_info: { id: 'my-id' } });
    expect(added.json.model_id).toBe('my-id');
    const r = await fetch(`${e.url}/model/my-id/update`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
      body: JSON.stringify({ litellm_params: { mock_response: 'patched' } }),
    });
    expect(r.status).toBe(200);
    expect(await chat(e, MASTER, 'p')).toBe('patched');
  });

  it('config models are read-only; unknown ids, bad bodies and unservable models get a clear 400', async () => {
    const e = await start(CONFIG);
    const cfgId = (await call(e, 'GET', '/model/info')).json.data[0].model_info.id;
    const upd = await call(e, 'POST', '/model/update', { model_info: { id: cfgId }, litellm_params: { rpm: 1 } });
    expect(upd.status).toBe(400);
    expect(upd.json.error.message).toMatch(/defined in the config file/);
    const del = await call(e, 'POST', '/model/delete', { id: cfgId });
    expect(del.status).toBe(400);
    expect(del.json.error.message).toMatch(/defined in the config file/);
    expect(await listed(e)).toEqual(['cfg-model']);

    expect((await call(e, 'POST', '/model/delete', { id: 'nope' })).json.error.message).toMatch(/not found/);
    const noName = await call(e, 'POST', '/model/new', { litellm_params: { model: 'openai/x' } });
    expect(noName.status).toBe(400);
    expect(noName.json.error.param).toBe('model_name');
    const badProvider = await call(e, 'POST', '/model/new', {
      model_name: 'x',
      litellm_params: { model: 'nosuchprovider/x' },
    });
    expect(badProvider.status).toBe(400);
    expect(badProvider.json.error.message).toMatch(/cannot be served: unknown provider "nosuchprovider"/);
    const dup = await call(e, 'POST', '/model/new', { ...newModel('d'), model_info: { id: cfgId } });
    expect(dup.status).toBe(400);
    expect(dup.json.error.message).toMatch(/already exists/);
    expect(await listed(e)).toEqual(['cfg-model']);
  });

  it('only proxy admins may change models', async () => {
    const e = await start(CONFIG);
    const key = (await generate(e)).key;
    const r = await call(e, 'POST', '/model/new', newModel('x'), key);
    expect(r.status).toBe(403);
    expect(r.json.error.message).toMatch(/Only a proxy admin/);
    const noKey = await fetch(`${e.url}/model/new`, { method: 'POST', body: JSON.stringify(newModel('x')) });
    expect(noKey.status).toBe(401);
    const open = await start({ model_list: CONFIG.model_list });
    const anon = await fetch(`${open.url}/model/new`, { method: 'POST', body: JSON.stringify(newModel('x')) });
    expect(anon.status).toBe(403);
    expect(((await anon.json()) as any).error.message).toMatch(/needs a master key/);
    expect(await listed(e)).toEqual(['cfg-model']);
    const routes = (await (await fetch(`${e.url}/routes`)).json()) as any;
    expect(routes.routes).toContainEqual({ path: '/model/new', methods: ['POST'] });
  });

  it('a change keeps the router state of unchanged deployments (a cooling deployment stays cooling)', async () => {
    const bad = await startOpenAIUpstream();
    try {
      bad.setFault({ kind: 'status', status: 500 });
      const dep = (u: FakeUpstream, id: string) => ({
        model_name: 'pair',
        litellm_params: { model: 'openai/m', api_base: `${u.url}/v1`, api_key: 'sk-x-0000' },
        model_info: { id },
      });
      const e = await start({
        ...CONFIG,
        model_list: [...CONFIG.model_list, dep(bad, 'bad'), dep(up, 'good')],
        router_settings: { allowed_fails: 0, cooldown_time: 60, num_retries: 2 },
      });
      // until a request met the failing deployment (and cooled it down): it answers through the other one
      for (let i = 0; i < 20 && bad.requests.length === 0; i++) expect(await chat(e, MASTER, 'pair')).toBe('echo: hi');
      expect(bad.requests.length).toBeGreaterThan(0);
      expect((await call(e, 'POST', '/model/new', newModel('another'))).status).toBe(200);
      const n = bad.requests.length;
      for (let i = 0; i < 10; i++) expect(await chat(e, MASTER, 'pair')).toBe('echo: hi');
      expect(bad.requests.length).toBe(n);
    } finally {
      await bad.close();
    }
  });

  it('a request in flight keeps the table it started with', async () => {
    const e = await start(CONFIG);
    const added = await call(e, 'POST', '/model/new', newModel('slow'));
    up.setFault({ kind: 'delay', ms: 400 });
    try {
      const before = up.requests.length;
      const pending = chat(e, MASTER, 'slow');
      // deleted once the call reached the upstream (a fixed sleep loses the race on a loaded machine)
      while (up.requests.length === before) await new Promise((r) => setTimeout(r, 5));
      await call(e, 'POST', '/model/delete', { id: added.json.model_id });
      expect(await pending).toBe('echo: hi');
    } finally {
      up.setFault(undefined);
    }
  });
});

describe.each(STORES)('model API with store_model_in_db (%s)', (kind) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await testStore(kind);
  });
  afterAll(async () => {
    await store.cleanup();
  });
  const config = { ...CONFIG, general_settings: { ...CONFIG.general_settings, store_model_in_db: true } };
  const startWith = (env: NodeJS.ProcessEnv) => start(config, { env, governance: store.options });

  it('refuses to store credentials without LITELLM_SALT_KEY, and stores references', async () => {
    const e = await startWith({});
    const r = await call(e, 'POST', '/model/new', newModel('no-salt'));
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/LITELLM_SALT_KEY is not set.*\(api_key\)/);
    expect(await listed(e)).toEqual(['cfg-model']);
    const ref = await call(e, 'POST', '/model/new', newModel('by-ref', { api_key: 'os.environ/NOT_SET_HERE' }));
    expect(ref.status).toBe(400);
    expect(ref.json.error.message).toMatch(/NOT_SET_HERE, which is not set/);
  });

  it('persists models (credentials encrypted), reloads them after a restart, another engine sees changes', async () => {
    const env = { LITELLM_SALT_KEY: SALT };
    const a = await startWith(env);
    const b = await startWith(env);
    const added: Answer = await call(a, 'POST', '/model/new', newModel('stored'));
    expect(added.status).toBe(200);
    expect(added.json.note).toBeUndefined();
    const id = added.json.model_id;

    // at rest: the row holds no plaintext key
    const db = await store.open();
    try {
      const row = await db.db
        .selectFrom('proxy_models')
        .selectAll()
        .where('model_id', '=', id)
        .executeTakeFirstOrThrow();
      expect(row.model_name).toBe('stored');
      expect(row.litellm_params).not.toContain(UPSTREAM_KEY);
      expect(JSON.parse(row.litellm_params).api_key).toMatch(/^enc:v1:/);
      expect(JSON.parse(row.litellm_params).api_base).toBe(`${up.url}/v1`);
    } finally {
      await db.close();
    }

    // the other engine applies it within its poll interval, and calls the upstream with the decrypted key
    expect(
      await eventually(
        () => listed(b),
        (l) => l.includes('stored'),
      ),
    ).toContain('stored');
    const n = up.requests.length;
    expect(await chat(b, MASTER, 'stored')).toBe('echo: hi');
    expect(up.requests.slice(n).find((r) => r.path.endsWith('/chat/completions'))?.headers.authorization).toBe(
      `Bearer ${UPSTREAM_KEY}`,
    );

    // a restart loads it from the store before serving
    await a.close();
    engines.splice(engines.indexOf(a), 1);
    const a2 = await startWith(env);
    expect(await listed(a2)).toEqual(['cfg-model', 'stored']);
    expect(await chat(a2, MASTER, 'stored')).toBe('echo: hi');

    // a deletion on one engine reaches the other
    expect((await call(a2, 'POST', '/model/delete', { id })).status).toBe(200);
    expect(
      await eventually(
        () => listed(b),
        (l) => !l.includes('stored'),
      ),
    ).toEqual(['cfg-model']);

    // a wrong salt key cannot read stored credentials: that model is not served, the engine says why
    await call(a2, 'POST', '/model/new', newModel('salted'));
    const wrong = await startWith({ LITELLM_SALT_KEY: 'another-salt-key-000000000' });
    expect(await listed(wrong)).toEqual(['cfg-model']);
    expect(wrong.logs.join('\n')).toMatch(/LITELLM_SALT_KEY differs/);
  });
});
