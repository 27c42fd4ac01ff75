/**
 * LiteLLM's request-body test hooks and per-request control headers (issue 15): what a LiteLLM user's
 * fallback tests and clients send works the same here.
 */
import { AzureOpenAI } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeUpstream, startOpenAIUpstream } from '../fakes/openai-upstream.js';
import { post, startTestEngine, type TestEngine } from './engine-helpers.js';

let up: FakeUpstream;
let engine: TestEngine;

beforeAll(async () => {
  up = await startOpenAIUpstream();
  const mock = (name: string, text: string) => ({
    model_name: name,
    litellm_params: { model: 'openai/x', mock_response: text },
  });
  engine = await startTestEngine({
    model_list: [
      mock('main', 'from main'),
      mock('general', 'from the general fallback'),
      mock('long', 'from the long-context model'),
      mock('safe', 'from the content-policy fallback'),
      { model_name: 'real', litellm_params: { model: 'openai/x', api_base: `${up.url}/v1` } },
      { model_name: 'real2', litellm_params: { model: 'openai/y', api_base: `${up.url}/v1` } },
    ],
    router_settings: {
      fallbacks: [{ main: ['general'] }],
      context_window_fallbacks: [{ main: ['long'] }],
      content_policy_fallbacks: [{ main: ['safe'] }],
      disable_cooldowns: true,
    },
  });
});
afterAll(async () => {
  await engine?.close();
  await up?.close();
});
beforeEach(() => {
  up.setFault(undefined);
  up.requests.length = 0;
});

const chat = (model: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  post(`${engine.url}/v1/chat/completions`, { model, messages: [{ role: 'user', content: 'hi' }], ...extra }, headers);
const answer = (r: Awaited<ReturnType<typeof chat>>) => r.json?.choices?.[0]?.message?.content;

describe("LiteLLM's mock_testing_* hooks fail the requested group only, so its fallbacks answer", () => {
  it('mock_testing_context_fallbacks goes to context_window_fallbacks', async () => {
    const r = await chat('main', { mock_testing_context_fallbacks: true });
    expect(r.status).toBe(200);
    expect(answer(r)).toBe('from the long-context model');
  });

  it('mock_testing_content_policy_fallbacks goes to content_policy_fallbacks', async () => {
    const r = await chat('main', { mock_testing_content_policy_fallbacks: true });
    expect(answer(r)).toBe('from the content-policy fallback');
  });

  it('mock_testing_rate_limit_error is a 429 (a generic fallback answers when there is one)', async () => {
    expect(answer(await chat('main', { mock_testing_rate_limit_error: true }))).toBe('from the general fallback');
    const r = await chat('general', { mock_testing_rate_limit_error: true });
    expect(r.status).toBe(429);
    expect(r.json.error.type).toBe('rate_limit_error');
  });

  it('mock_timeout: a 408 timeout_error once the request timeout has passed', async () => {
    const t0 = Date.now();
    const r = await chat('general', { mock_timeout: true, timeout: 0.3 });
    expect(r.status).toBe(408);
    expect(r.json.error.type).toBe('timeout_error');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
  });

  it('none of the hooks reaches the upstream', async () => {
    await chat('real', { mock_testing_fallbacks: false, mock_testing_context_fallbacks: false });
    expect(up.requests).toHaveLength(1);
    expect(Object.keys(up.requests[0].body ?? {}).filter((k) => k.startsWith('mock_'))).toEqual([]);
  });
});

describe('per-request control headers', () => {
  it('x-litellm-timeout sets the timeout of the call', async () => {
    up.setFault({ kind: 'hang' });
    const r = await chat('real', {}, { 'x-litellm-timeout': '0.3' });
    expect(r.status).toBe(408);
    expect(r.json.error.message).toContain('0.3s');
  });

  it('x-litellm-num-retries (and x-litellm-max-retries) set the retries, capped like the body field', async () => {
    const fail = { kind: 'status', status: 500, body: { error: { message: 'x' } }, headers: { 'retry-after': '0' } };
    up.setFault(fail as never);
    await chat('real', {}, { 'x-litellm-num-retries': '2' });
    expect(up.requests).toHaveLength(3);
    up.requests.length = 0;
    await chat('real', {}, { 'x-litellm-max-retries': '1000000' });
    expect(up.requests).toHaveLength(6); // one call and at most 5 retries without a configured num_retries
  });
});

describe('bare model names through provider wildcards', () => {
  let wild: TestEngine;
  beforeAll(async () => {
    wild = await startTestEngine({
      model_list: [{ model_name: 'openai/*', litellm_params: { model: 'openai/*', api_base: `${up.url}/v1` } }],
    });
  });
  afterAll(() => wild?.close());

  it('with only openai/* configured, gpt-4 is served (the provider inferred from the model map)', async () => {
    const r = await post(`${wild.url}/v1/chat/completions`, {
      model: 'gpt-4',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(r.status).toBe(200);
    expect(up.requests[0].body?.model).toBe('gpt-4');
  });

  it('a name no configured provider serves is still a 400 naming what exists', async () => {
    const r = await post(`${wild.url}/v1/chat/completions`, {
      model: 'claude-sonnet-4-5-20250929',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toContain('Available models: openai/*');
    expect(up.requests).toHaveLength(0);
  });
});

describe('Azure OpenAI paths, for AzureOpenAI clients unchanged', () => {
  it('the AzureOpenAI SDK chats and embeds through /openai/deployments/{model}/... (api-key header)', async () => {
    const azure = new AzureOpenAI({
      endpoint: engine.url,
      apiKey: 'sk-any',
      apiVersion: '2024-10-21',
      deployment: 'real',
    });
    const chatR = await azure.chat.completions.create({
      model: 'ignored',
      messages: [{ role: 'user', content: 'hi az' }],
    });
    expect(chatR.choices[0].message.content).toContain('hi az');
    const emb = await azure.embeddings.create({ model: 'ignored', input: 'x' });
    expect(emb.data.length).toBe(1);
    // the model named by the path wins, as in LiteLLM
    expect(up.requests.map((r) => r.body?.model)).toEqual(['x', 'x']);
  });

  it('the legacy /engines/{model}/chat/completions path', async () => {
    const r = await post(`${engine.url}/engines/main/chat/completions`, {
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(r.status).toBe(200);
    expect(answer(r)).toBe('from main');
  });
});

describe('a provider the engine does not serve', () => {
  it('through a "*" wildcard is a 400 naming the provider, never a call to the wildcard deployment', async () => {
    const star = await startTestEngine({
      model_list: [{ model_name: '*', litellm_params: { model: '*', api_base: `${up.url}/v1` } }],
    });
    try {
      const r = await post(`${star.url}/v1/chat/completions`, {
        model: 'sagemaker/my-endpoint',
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(r.status).toBe(400);
      expect(r.json.error).toMatchObject({ code: 'unsupported_provider', param: 'model' });
      expect(r.json.error.message).toContain('"sagemaker"');
      expect(up.requests).toHaveLength(0);
      // a name without a provider it cannot serve still goes through
      const ok = await post(`${star.url}/v1/chat/completions`, {
        model: 'gpt-4',
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(ok.status).toBe(200);
    } finally {
      await star.close();
    }
  });
});
