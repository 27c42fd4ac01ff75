import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLiteLLMConfig } from '../../src/config/litellm/load.js';
import { engineSecrets } from '../../src/engine/index.js';
import { type Listening, sendJson, startFake } from '../fakes/fake-server.js';
import { post, startTestEngine, type TestEngine } from './engine-helpers.js';

// keys from the config, from an os.environ/ reference, and from the provider's default variable
const KEYS = { cfg: 'sk-config-secret-111111', ref: 'sk-ref-secret-333333', env: 'sk-env-secret-222222' };
const ENV = { OPENAI_API_KEY: KEYS.env, MY_KEY: KEYS.ref };
let upstream: Listening;
let engine: TestEngine;

beforeAll(async () => {
  // a careless upstream that echoes the credential it got in its error message
  upstream = await startFake((call, res) => {
    const auth = String(call.headers.authorization);
    // OpenAI's own form shows the first 8 and last 4 characters of a wrong key
    const shown = call.path.startsWith('/partial/') ? `${auth.slice(7, 15)}****${auth.slice(-4)}` : auth;
    sendJson(res, 401, { error: { message: `Invalid API key: ${shown}` } });
  });
  const base = `${upstream.url}/v1`;
  engine = await startTestEngine(
    {
      model_list: [
        { model_name: 'cfg', litellm_params: { model: 'openai/x', api_base: base, api_key: KEYS.cfg } },
        { model_name: 'ref', litellm_params: { model: 'openai/x', api_base: base, api_key: 'os.environ/MY_KEY' } },
        { model_name: 'env', litellm_params: { model: 'openai/x', api_base: base } },
      ],
    },
    { env: ENV, debug: true },
  );
});
afterAll(async () => {
  await engine?.close();
  await upstream?.close();
});

const leaks = (text: string) => Object.values(KEYS).filter((k) => text.includes(k));

describe('provider keys never reach clients or logs, even when an upstream echoes them', () => {
  it('OpenAI-shape errors, streams included', async () => {
    for (const model of ['cfg', 'ref', 'env']) {
      for (const stream of [false, true]) {
        const r = await post(`${engine.url}/v1/chat/completions`, {
          model,
          stream,
          messages: [{ role: 'user', content: 'x' }],
        });
        expect(r.status).toBe(401);
        expect(r.text).toContain('Invalid API key');
        expect(leaks(r.text)).toEqual([]);
      }
    }
  });

  it('Anthropic-shape errors on /v1/messages', async () => {
    const r = await post(`${engine.url}/v1/messages`, {
      model: 'env',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(r.status).toBe(401);
    expect(leaks(r.text)).toEqual([]);
  });

  it('/health errors and the debug log', async () => {
    const h = await (await fetch(`${engine.url}/health`)).text();
    expect(JSON.parse(h).unhealthy_count).toBe(3);
    expect(leaks(h)).toEqual([]);
    expect(leaks(engine.logs.join('\n'))).toEqual([]);
  });

  it('a partial echo of a key (its first and last characters) is masked as well', async () => {
    const params = { model: 'openai/x', api_base: `${upstream.url}/partial/v1`, api_key: KEYS.cfg };
    const ask = { model: 'p', messages: [{ role: 'user', content: 'y' }] };
    const config = { model_list: [{ model_name: 'p', litellm_params: params }] };
    const partial = await startTestEngine(config, { debug: true });
    try {
      const r = await post(`${partial.url}/v1/chat/completions`, ask);
      expect(r.status).toBe(401);
      expect(r.json.error.message).toMatch(/Invalid API key: \*{4}/);
      for (const text of [r.text, partial.logs.join('\n')]) expect(text).not.toContain(KEYS.cfg.slice(0, 8));
    } finally {
      await partial.close();
    }
  });

  it('engineSecrets masks key-like environment variables the adapters may read', () => {
    const loaded = loadLiteLLMConfig({ kind: 'object', value: { model_list: [] }, label: 't' }, { env: {} });
    const { secretValues } = engineSecrets(loaded, {
      OPENAI_API_KEY: KEYS.env,
      AWS_SECRET_ACCESS_KEY: 'aws-secret-value-1',
      HOME: '/home/user-directory',
    });
    expect(secretValues).toEqual(expect.arrayContaining([KEYS.env, 'aws-secret-value-1']));
    expect(secretValues).not.toContain('/home/user-directory');
  });
});
