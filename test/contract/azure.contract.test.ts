/** Azure OpenAI through the provider contract suite, plus Azure-only behaviour (AD token, default api-version). */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLiteLLMConfig } from '../../src/config/litellm/load.js';
import { createLogger, type EngineHandle, startEngine } from '../../src/engine/index.js';
import {
  AZURE_FAKE_AD_TOKEN,
  AZURE_FAKE_DEPLOYMENT,
  AZURE_FAKE_KEY,
  AZURE_FAKE_VERSION,
  startAzureUpstream,
} from '../fakes/azure-upstream.js';
import { type FakeUpstream, startOpenAIUpstream } from '../fakes/openai-upstream.js';
import { type ContractFake, CONTRACT_INPUTS as I, type RecordedCall, runContractSuite } from './harness.js';

function commonChecks(call: RecordedCall): void {
  expect(call.path).toBe(
    `/openai/deployments/${AZURE_FAKE_DEPLOYMENT}/chat/completions?api-version=${AZURE_FAKE_VERSION}`,
  );
  expect(call.headers['api-key']).toBe(AZURE_FAKE_KEY);
  expect(call.headers.authorization).toBeUndefined();
}

runContractSuite({
  name: 'Azure OpenAI',
  startFake: startAzureUpstream,
  deploymentParams: (url) => ({
    model: `azure/${AZURE_FAKE_DEPLOYMENT}`,
    api_base: `${url}/`,
    api_version: AZURE_FAKE_VERSION,
  }),
  env: { AZURE_API_KEY: AZURE_FAKE_KEY },
  expect: {
    plain(call) {
      commonChecks(call);
      expect(call.body).toEqual({
        model: AZURE_FAKE_DEPLOYMENT,
        messages: [
          { role: 'system', content: I.system },
          { role: 'user', content: I.user },
        ],
        temperature: I.temperature,
        top_p: I.top_p,
        max_tokens: I.max_tokens,
        stop: I.stop,
        user: I.endUser,
      });
    },
    stream(call) {
      commonChecks(call);
      expect(call.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    },
    tools(call) {
      commonChecks(call);
      expect(call.body.tools).toEqual([{ type: 'function', function: I.tool }]);
      expect(call.body.tool_choice).toBe('auto');
    },
    toolResult(call) {
      commonChecks(call);
      expect(call.body.messages.slice(2)).toEqual([
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: I.toolCallId,
              type: 'function',
              function: { name: I.tool.name, arguments: JSON.stringify(I.toolArgs) },
            },
          ],
        },
        { role: 'tool', tool_call_id: I.toolCallId, content: I.toolResult },
      ]);
    },
    imageDataUrl(call) {
      commonChecks(call);
      expect(call.body.messages[0].content[1]).toEqual({ type: 'image_url', image_url: { url: I.dataUrl } });
    },
    imageHttpsUrl(call) {
      commonChecks(call);
      expect(call.body.messages[0].content[1]).toEqual({ type: 'image_url', image_url: { url: I.httpsUrl } });
    },
  },
});

describe('Azure OpenAI specifics', () => {
  let fake: ContractFake;
  let engine: EngineHandle;
  let client: OpenAI;
  beforeAll(async () => {
    fake = await startAzureUpstream();
    const config = {
      model_list: [
        // no api_version: AZURE_API_VERSION from the environment; azure_ad_token instead of a key
        {
          model_name: 'ad',
          litellm_params: {
            model: `azure/${AZURE_FAKE_DEPLOYMENT}`,
            api_base: `${fake.url}/openai`,
            azure_ad_token: 'os.environ/AD_TOKEN',
          },
        },
      ],
    };
    const env = { AZURE_API_VERSION: AZURE_FAKE_VERSION, AD_TOKEN: AZURE_FAKE_AD_TOKEN };
    const loaded = loadLiteLLMConfig({ kind: 'object', value: config, label: 'azure-specifics' }, { env });
    engine = await startEngine({
      loaded,
      port: 0,
      env,
      logger: createLogger({ level: 'warn', write: () => undefined }),
      drainTimeoutMs: 500,
    });
    client = new OpenAI({ baseURL: `${engine.url}/v1`, apiKey: 'none', maxRetries: 0 });
  });
  afterAll(async () => {
    await engine?.close();
    await fake?.close();
  });

  it(
    'sends azure_ad_token as a Bearer token, ' +
      'takes the api-version from AZURE_API_VERSION and an api_base ending in /openai',
    async () => {
      fake.script({ type: 'text', text: 'hi', usage: { input: 3, output: 1 } });
      const r = await client.chat.completions.create({ model: 'ad', messages: [{ role: 'user', content: 'x' }] });
      expect(r.choices[0].message.content).toBe('hi');
      const call = fake.calls.at(-1)!;
      expect(call.path).toBe(
        `/openai/deployments/${AZURE_FAKE_DEPLOYMENT}/chat/completions?api-version=${AZURE_FAKE_VERSION}`,
      );
      expect(call.headers.authorization).toBe(`Bearer ${AZURE_FAKE_AD_TOKEN}`);
      expect(call.headers['api-key']).toBeUndefined();
    },
  );

  it('drops the prompt_filter_results chunk that has no choices from streams', async () => {
    fake.script({ type: 'text', text: 'a b', usage: { input: 3, output: 2 } });
    const s = await client.chat.completions.create({
      model: 'ad',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of s) chunks.push(c);
    expect(chunks.every((c) => c.choices.length === 1)).toBe(true);
    expect(chunks.map((c) => c.choices[0].delta.content ?? '').join('')).toBe('a b');
  });
});

describe('Azure AI (azure_ai/)', () => {
  let up: FakeUpstream;
  let engine: EngineHandle;
  let client: OpenAI;
  beforeAll(async () => {
    up = await startOpenAIUpstream();
    const config = {
      model_list: [
        { model_name: 'foundry', litellm_params: { model: 'azure_ai/mistral-large', api_base: `${up.url}/v1` } },
        {
          model_name: 'foundry-versioned',
          litellm_params: {
            model: 'azure_ai/mistral-large',
            api_base: `${up.url}/v1`,
            api_key: 'explicit-key-123',
            api_version: '2024-05-01-preview',
          },
        },
      ],
    };
    const env = { AZURE_AI_API_KEY: 'foundry-key-abc' };
    const loaded = loadLiteLLMConfig({ kind: 'object', value: config, label: 'azure-ai' }, { env });
    engine = await startEngine({
      loaded,
      port: 0,
      env,
      logger: createLogger({ level: 'warn', write: () => undefined }),
      drainTimeoutMs: 500,
    });
    client = new OpenAI({ baseURL: `${engine.url}/v1`, apiKey: 'none', maxRetries: 0 });
  });
  afterAll(async () => {
    await engine?.close();
    await up?.close();
  });

  it(
    'sends OpenAI-style {api_base}/chat/completions with the key as api-key and Bearer, ' + 'api-version when set',
    async () => {
      const r = await client.chat.completions.create({ model: 'foundry', messages: [{ role: 'user', content: 'hi' }] });
      expect(r.choices[0].message.content).toBe('echo: hi');
      expect(up.requests.at(-1)!.path).toBe('/v1/chat/completions');
      expect(up.requests.at(-1)!.headers['api-key']).toBe('foundry-key-abc');
      expect(up.requests.at(-1)!.headers.authorization).toBe('Bearer foundry-key-abc');
      await client.chat.completions.create({ model: 'foundry-versioned', messages: [{ role: 'user', content: 'hi' }] });
      expect(up.requests.at(-1)!.path).toBe('/v1/chat/completions?api-version=2024-05-01-preview');
      expect(up.requests.at(-1)!.headers['api-key']).toBe('explicit-key-123');
    },
  );

  it('maps an Azure content filter answer to 400 content_policy_violation', async () => {
    up.setFault({
      kind: 'status',
      status: 400,
      body: {
        error: {
          message: 'The prompt was filtered',
          code: 'content_filter',
          innererror: { code: 'ResponsibleAIPolicyViolation' },
        },
      },
    });
    const err = await client.chat.completions
      .create({ model: 'foundry', messages: [{ role: 'user', content: 'hi' }] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    up.setFault(undefined);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('content_policy_violation');
  });
});
