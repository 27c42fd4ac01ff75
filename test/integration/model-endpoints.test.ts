/**
 * The model endpoints LiteLLM clients call besides /v1/models: models.retrieve (GET /v1/models/{id}), one
 * deployment's /v1/model/info, /v2/model/info, /model_group/info, the access-group listing, and the open
 * GET /routes; a virtual key sees only the models it may call on each of them.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, type TestEngine } from './engine-helpers.js';
import { CONFIG, call, client, generate, MASTER } from './governance/key-helpers.js';

const config = {
  ...CONFIG,
  model_list: [
    ...CONFIG.model_list,
    // a second deployment of gpt-a (another provider, limits, an explicit id) and a priced, model-mapped one
    {
      model_name: 'gpt-a',
      litellm_params: { model: 'anthropic/claude-x', mock_response: 'from a2', rpm: 30, tpm: 1000 },
      model_info: { id: 'dep-a2', max_input_tokens: 200_000, supports_vision: true },
    },
    {
      model_name: 'mini',
      litellm_params: { model: 'openai/gpt-4o-mini', mock_response: 'mini', rpm: 10 },
      model_info: { id: 'dep-mini', supports_function_calling: true },
    },
  ],
};

describe('model endpoints', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine(config, { apiKey: MASTER });
  });
  afterAll(async () => {
    await engine?.close();
  });

  it('models.retrieve answers a served model and a 404 NotFoundError in OpenAI shape for an unknown one', async () => {
    const m = await engine.openai.models.retrieve('gpt-a');
    expect(m).toMatchObject({ id: 'gpt-a', object: 'model', owned_by: 'openai' });
    expect((await engine.openai.models.retrieve('a-alias')).id).toBe('a-alias');
    const e = await engine.openai.models.retrieve('nope').catch((x) => x);
    expect(e).toBeInstanceOf(OpenAI.NotFoundError);
    expect(e.error).toMatchObject({ type: 'invalid_request_error', param: 'model', code: 'model_not_found' });
    expect(e.error.message).toContain("'nope'");
    // a name with a slash, as the SDK sends it (unencoded)
    const r = await fetch(`${engine.url}/v1/models/vendor/x`, { headers: { authorization: `Bearer ${MASTER}` } });
    expect(r.status).toBe(404);
    // without a key: 401, as every other model endpoint
    expect((await fetch(`${engine.url}/v1/models/gpt-a`)).status).toBe(401);
  });

  it('/v1/model/info?litellm_model_id= answers that one deployment; an unknown id is a 400 naming it', async () => {
    const one = await call(engine, 'GET', '/v1/model/info', { litellm_model_id: 'dep-a2' });
    expect(one.status).toBe(200);
    expect(one.json.data).toHaveLength(1);
    expect(one.json.data[0]).toMatchObject({ model_name: 'gpt-a', model_info: { id: 'dep-a2' } });
    const none = await call(engine, 'GET', '/v1/model/info', { litellm_model_id: 'dep-zzz' });
    expect(none.status).toBe(400);
    expect(none.json.error.message).toContain('dep-zzz');
    expect((await call(engine, 'GET', '/model/info')).json.data).toHaveLength(6);
  });

  it('/v2/model/info pages and filters the deployments with LiteLLM paging fields', async () => {
    const all = await call(engine, 'GET', '/v2/model/info');
    expect(all.status).toBe(200);
    expect(all.json).toMatchObject({ total_count: 6, current_page: 1, total_pages: 1, size: 50 });
    expect(all.json.data.map((d: any) => d.model_name)).toEqual([
      'gpt-a',
      'gpt-b',
      'gpt-c',
      'vendor/*',
      'gpt-a',
      'mini',
    ]);
    const page2 = await call(engine, 'GET', '/v2/model/info', { page: 2, size: 4 });
    expect(page2.json).toMatchObject({ total_count: 6, current_page: 2, total_pages: 2, size: 4 });
    expect(page2.json.data.map((d: any) => d.model_info.id)).toEqual(['dep-a2', 'dep-mini']);
    expect((await call(engine, 'GET', '/v2/model/info', { model: 'gpt-a' })).json.total_count).toBe(2);
    expect((await call(engine, 'GET', '/v2/model/info', { search: 'GPT-' })).json.total_count).toBe(4);
    expect((await call(engine, 'GET', '/v2/model/info', { modelId: 'dep-mini' })).json.data[0].model_name).toBe('mini');
    // no key material in it
    expect(JSON.stringify(all.json)).not.toContain(MASTER);
  });

  it('/model_group/info merges each group: providers, limits, prices, summed tpm/rpm, supports_* flags', async () => {
    const r = await call(engine, 'GET', '/model_group/info');
    expect(r.status).toBe(200);
    const by = Object.fromEntries(r.json.data.map((g: any) => [g.model_group, g]));
    expect(Object.keys(by).sort()).toEqual(['a-alias', 'gpt-a', 'gpt-b', 'gpt-c', 'mini', 'vendor/*']);
    expect(by['gpt-a']).toMatchObject({
      providers: ['openai', 'anthropic'],
      max_input_tokens: 200_000,
      mode: 'chat',
      rpm: 30,
      tpm: 1000,
      supports_vision: true,
      supports_function_calling: false,
    });
    // the price map's prices and limits for a model it knows
    expect(by.mini).toMatchObject({
      providers: ['openai'],
      input_cost_per_token: 1.5e-7,
      output_cost_per_token: 6e-7,
      max_input_tokens: 128000,
      max_output_tokens: 16384,
      rpm: 10,
      supports_function_calling: true,
    });
    expect(by['a-alias']).toMatchObject({ ...by['gpt-a'], model_group: 'a-alias' });
    const only = await call(engine, 'GET', '/model_group/info', { model_group: 'mini' });
    expect(only.json.data.map((g: any) => g.model_group)).toEqual(['mini']);
  });

  it('/v1/models?only_model_access_groups=True lists the access groups', async () => {
    const r = await call(engine, 'GET', '/v1/models', { only_model_access_groups: 'True' });
    expect(r.json).toMatchObject({ object: 'list', data: [{ id: 'beta-models', object: 'model' }] });
    expect(r.json.data).toHaveLength(1);
  });

  it('GET /routes answers without a key and lists the inference, model and management routes', async () => {
    const r = await fetch(`${engine.url}/routes`);
    expect(r.status).toBe(200);
    const { routes } = (await r.json()) as { routes: { path: string; methods: string[] }[] };
    const paths = new Map(routes.map((x) => [x.path, x.methods]));
    expect(paths.get('/v1/chat/completions')).toEqual(['POST']);
    expect(paths.get('/v1/models/{model_id}')).toEqual(['GET']);
    expect(paths.get('/model_group/info')).toEqual(['GET']);
    expect(paths.get('/key/generate')).toEqual(['POST']);
  });

  it('a virtual key sees only what it may call, on every one of them', async () => {
    const k = await generate(engine, { models: ['gpt-a', 'beta-models'] });
    const c = client(engine, k.key);
    expect((await c.models.retrieve('gpt-b')).id).toBe('gpt-b');
    expect(await c.models.retrieve('gpt-c').catch((x) => x)).toBeInstanceOf(OpenAI.NotFoundError);
    expect(await c.models.retrieve('mini').catch((x) => x)).toBeInstanceOf(OpenAI.NotFoundError);
    const info = await call(engine, 'GET', '/v1/model/info', { litellm_model_id: 'dep-mini' }, k.key);
    expect(info.status).toBe(400);
    const v2 = await call(engine, 'GET', '/v2/model/info', {}, k.key);
    expect(v2.json.data.map((d: any) => d.model_name).sort()).toEqual(['gpt-a', 'gpt-a', 'gpt-b']);
    expect(v2.json.total_count).toBe(3);
    const groups = await call(engine, 'GET', '/model_group/info', {}, k.key);
    expect(groups.json.data.map((g: any) => g.model_group).sort()).toEqual(['a-alias', 'gpt-a', 'gpt-b']);
    const ag = await call(engine, 'GET', '/v1/models', { only_model_access_groups: 'true' }, k.key);
    expect(ag.json.data.map((m: any) => m.id)).toEqual(['beta-models']);
    const k2 = await generate(engine, { models: ['gpt-c'] });
    const ag2 = await call(engine, 'GET', '/v1/models', { only_model_access_groups: 'true' }, k2.key);
    expect(ag2.json.data).toEqual([]);
  });
});
