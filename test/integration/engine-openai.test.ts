import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeUpstream, startOpenAIUpstream } from '../fakes/openai-upstream.js';
import { post, startTestEngine, type TestEngine } from './engine-helpers.js';

const MASTER = 'sk-master-0123456789';
const UPSTREAM_KEY = 'sk-upstream-secret-abcdef';

let up: FakeUpstream;
let engine: TestEngine;

beforeAll(async () => {
  up = await startOpenAIUpstream();
  engine = await startTestEngine(
    {
      model_list: [
        {
          model_name: 'gpt-4o',
          litellm_params: {
            model: 'openai/gpt-4o',
            api_base: `${up.url}/v1`,
            api_key: 'os.environ/UP_KEY',
            temperature: 0.2,
            max_tokens: 99,
            organization: 'org-1',
            extra_headers: { 'x-extra': 'yes' },
          },
          model_info: { id: 'dep-gpt4o' },
        },
        {
          model_name: 'groq-llama',
          litellm_params: { model: 'groq/llama3-8b', api_base: `${up.url}/v1`, api_key: 'groq-key-1234567' },
        },
        {
          model_name: 'dropper',
          litellm_params: {
            model: 'groq/llama3-8b',
            api_base: `${up.url}/v1`,
            drop_params: true,
            additional_drop_params: ['user'],
          },
        },
        {
          model_name: 'embedder',
          litellm_params: { model: 'openai/text-embedding-3-small', api_base: `${up.url}/v1` },
          model_info: { mode: 'embedding' },
        },
        { model_name: 'vllm/*', litellm_params: { model: 'hosted_vllm/*', api_base: `${up.url}/v1` } },
        { model_name: '*', litellm_params: { model: 'openai/*', api_base: `${up.url}/v1` } },
        { model_name: 'mocked', litellm_params: { model: 'openai/whatever', mock_response: 'Hi from the mock.' } },
      ],
      router_settings: { model_group_alias: { 'gpt-4': 'gpt-4o', secret: { model: 'gpt-4o', hidden: true } } },
      general_settings: { master_key: MASTER },
    },
    { env: { UP_KEY: UPSTREAM_KEY }, apiKey: MASTER },
  );
});
afterAll(async () => {
  await engine?.close();
  await up?.close();
});
beforeEach(() => {
  up.setFault(undefined);
  up.requests.length = 0;
});

describe('chat completions through the openai SDK', () => {
  it('answers non-stream with usage, the upstream key and config extras merged under the request', async () => {
    const r = await engine.openai.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hello' }],
      temperature: 0.9,
      n: 2,
      response_format: { type: 'json_object' },
      logit_bias: { '50256': -100 },
      store: false,
    } as any);
    expect(r.choices[0].message.content).toBe('echo: hello');
    expect(r.choices).toHaveLength(2);
    expect(r.usage).toEqual({ prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
    const sent = up.requests[0];
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(sent.headers['openai-organization']).toBe('org-1');
    expect(sent.headers['x-extra']).toBe('yes');
    expect(sent.body).toMatchObject({
      model: 'gpt-4o',
      temperature: 0.9,
      max_tokens: 99,
      n: 2,
      response_format: { type: 'json_object' },
      logit_bias: { '50256': -100 },
      store: false,
    });
  });

  it('sets the model id, overhead and request id headers, echoing a client request id', async () => {
    const r = await post(
      `${engine.url}/v1/chat/completions`,
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] },
      { authorization: `Bearer ${MASTER}`, 'x-request-id': 'req-abc.123' },
    );
    expect(r.status).toBe(200);
    expect(r.headers.get('x-litellm-model-id')).toBe('dep-gpt4o');
    expect(Number(r.headers.get('x-litellm-overhead-duration-ms'))).toBeGreaterThanOrEqual(0);
    expect(r.headers.get('x-request-id')).toBe('req-abc.123');
    const r2 = await post(
      `${engine.url}/chat/completions`,
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] },
      { 'api-key': MASTER },
    );
    expect(r2.status).toBe(200);
    expect(r2.headers.get('x-request-id')).toMatch(/^req-[0-9a-f]{12}-[0-9a-z]+$/);
  });

  it('streams with include_usage, and leaves the usage chunk out when not asked', async () => {
    const stream = await engine.openai.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'one two three' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? '';
      if (c.usage) usage = c.usage;
    }
    expect(text).toBe('echo: one two three');
    expect(usage?.total_tokens).toBeGreaterThan(0);
    const s2 = await engine.openai.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'a' }],
      stream: true,
    });
    const chunks = [];
    for await (const c of s2) chunks.push(c);
    expect(chunks.every((c) => !c.usage)).toBe(true);
    expect(chunks.at(-1)?.choices[0].finish_reason).toBe('stop');
  });

  it('passes tools through and returns tool_calls (plain and streamed)', async () => {
    const tools = [
      {
        type: 'function' as const,
        function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
      },
    ];
    const r = await engine.openai.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'weather?' }],
      tools,
      tool_choice: 'auto',
    });
    expect(r.choices[0].finish_reason).toBe('tool_calls');
    expect(r.choices[0].message.tool_calls?.[0]).toMatchObject({
      id: 'call_1',
      function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
    });
    expect(up.requests[0].body?.tools).toEqual(tools);
    const s = await engine.openai.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'weather?' }],
      tools,
      stream: true,
    });
    let args = '';
    for await (const c of s) args += c.choices[0]?.delta?.tool_calls?.[0]?.function?.arguments ?? '';
    expect(args).toBe('{"city":"Paris"}');
  });

  it('routes aliases, hidden aliases and wildcards, passing the rest of the name through', async () => {
    await engine.openai.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'a' }] });
    await engine.openai.chat.completions.create({ model: 'secret', messages: [{ role: 'user', content: 'a' }] });
    await engine.openai.chat.completions.create({
      model: 'vllm/meta-llama/Llama-3-8B',
      messages: [{ role: 'user', content: 'a' }],
    });
    await engine.openai.chat.completions.create({
      model: 'some-other-model',
      messages: [{ role: 'user', content: 'a' }],
    });
    expect(up.requests.map((r) => r.body?.model)).toEqual([
      'gpt-4o',
      'gpt-4o',
      'meta-llama/Llama-3-8B',
      'some-other-model',
    ]);
  });

  it('answers completions', async () => {
    const r = await engine.openai.completions.create({ model: 'gpt-4o', prompt: 'say hi' });
    expect(r.choices[0].text).toBe('completion: say hi');
    expect(up.requests[0].path).toBe('/v1/completions');
  });

  it('answers embeddings (base64 by default in the SDK, floats when asked)', async () => {
    const r = await engine.openai.embeddings.create({ model: 'embedder', input: ['a', 'b'] });
    expect(r.data).toHaveLength(2);
    expect(r.data[1].embedding.map((x) => +x.toFixed(3))).toEqual([0.1, 0.2, 0.3, 1]);
    expect(r.usage.prompt_tokens).toBe(5);
    const f = await engine.openai.embeddings.create({ model: 'embedder', input: 'a', encoding_format: 'float' });
    expect(f.data[0].embedding).toEqual([0.1, 0.2, 0.3, 0]);
  });

  it('lists models (aliases, no hidden ones, no wildcards) and model info without secrets', async () => {
    const ids = [];
    for await (const m of engine.openai.models.list()) ids.push(m.id);
    expect(ids).toEqual(expect.arrayContaining(['gpt-4o', 'groq-llama', 'embedder', 'mocked', 'gpt-4']));
    expect(ids).not.toContain('secret');
    expect(ids).not.toContain('*');
    const info = await fetch(`${engine.url}/v1/model/info`, { headers: { authorization: `Bearer ${MASTER}` } });
    const text = await info.text();
    expect(info.status).toBe(200);
    expect(text).not.toContain(UPSTREAM_KEY);
    expect(text).not.toContain('groq-key-1234567');
    expect(text).not.toContain('os.environ');
    const data = JSON.parse(text).data;
    expect(data[0]).toMatchObject({
      model_name: 'gpt-4o',
      litellm_params: { model: 'openai/gpt-4o', api_base: `${up.url}/v1` },
      model_info: { id: 'dep-gpt4o' },
    });
  });
});

describe('mock_response', () => {
  it('answers chat, streams and completions offline with realistic usage', async () => {
    const r = await engine.openai.chat.completions.create({
      model: 'mocked',
      messages: [{ role: 'user', content: 'What is the capital of France?' }],
    });
    expect(r.choices[0].message.content).toBe('Hi from the mock.');
    expect(r.usage!.prompt_tokens).toBeGreaterThan(5);
    expect(r.usage!.completion_tokens).toBeGreaterThan(2);
    const s = await engine.openai.chat.completions.create({
      model: 'mocked',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let total = 0;
    for await (const c of s) {
      text += c.choices[0]?.delta?.content ?? '';
      if (c.usage) total = c.usage.total_tokens;
    }
    expect(text).toBe('Hi from the mock.');
    expect(total).toBeGreaterThan(0);
    const c = await engine.openai.completions.create({ model: 'mocked', prompt: 'x' });
    expect(c.choices[0].text).toBe('Hi from the mock.');
    expect(up.requests).toHaveLength(0);
  });

  it('takes mock_response from the request body for any model, and mock errors', async () => {
    const r = await post(
      `${engine.url}/v1/chat/completions`,
      { model: 'gpt-4o', mock_response: 'body mock', messages: [{ role: 'user', content: 'x' }] },
      { authorization: `Bearer ${MASTER}` },
    );
    expect(r.json.choices[0].message.content).toBe('body mock');
    const e = await post(
      `${engine.url}/v1/chat/completions`,
      { model: 'gpt-4o', mock_response: 'litellm.RateLimitError', messages: [{ role: 'user', content: 'x' }] },
      { authorization: `Bearer ${MASTER}` },
    );
    expect(e.status).toBe(429);
    expect(up.requests).toHaveLength(0);
  });

  it('embeds deterministically', async () => {
    const a = await engine.openai.embeddings.create({
      model: 'mocked',
      input: 'same',
      encoding_format: 'float',
      dimensions: 8,
    });
    const b = await engine.openai.embeddings.create({
      model: 'mocked',
      input: 'same',
      encoding_format: 'float',
      dimensions: 8,
    });
    expect(a.data[0].embedding).toHaveLength(8);
    expect(a.data[0].embedding).toEqual(b.data[0].embedding);
  });
});

describe('params a provider does not take', () => {
  it('is a 400 naming the param, unless drop_params', async () => {
    const err = await engine.openai.chat.completions
      .create({ model: 'groq-llama', messages: [{ role: 'user', content: 'x' }], logit_bias: { '1': 1 } })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe('logit_bias');
    expect(up.requests).toHaveLength(0);
    await engine.openai.chat.completions.create({
      model: 'dropper',
      messages: [{ role: 'user', content: 'x' }],
      logit_bias: { '1': 1 },
      user: 'u1',
    });
    expect(up.requests[0].body).not.toHaveProperty('logit_bias');
    expect(up.requests[0].body).not.toHaveProperty('user');
  });
});

describe('auth', () => {
  it('refuses a missing or wrong key with 401 in OpenAI shape, on every authenticated route', async () => {
    const bad = new OpenAI({ baseURL: `${engine.url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
    const e = await bad.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })
      .catch((x) => x);
    expect(e).toBeInstanceOf(OpenAI.AuthenticationError);
    // LiteLLM's type for a virtual-key proxy's auth errors (the engine runs with virtual keys when a master key is set)
    expect(e.error).toMatchObject({ type: 'auth_error' });
    for (const p of ['/v1/models', '/v1/model/info', '/health'])
      expect((await fetch(`${engine.url}${p}`)).status).toBe(401);
    expect((await fetch(`${engine.url}/v1/models`, { headers: { 'x-api-key': MASTER } })).status).toBe(200);
    expect(up.requests).toHaveLength(0);
  });

  it('leaves probes open', async () => {
    expect((await fetch(`${engine.url}/health/liveliness`)).status).toBe(200);
    expect((await fetch(`${engine.url}/health/liveness`)).status).toBe(200);
    const r = await fetch(`${engine.url}/health/readiness`);
    expect(await r.json()).toMatchObject({ status: 'healthy', version: expect.any(String) });
  });
});

describe('upstream errors keep their class', () => {
  const cases: [number, unknown, Record<string, string> | undefined, any, string | null][] = [
    [
      401,
      {
        error: {
          message: 'Incorrect API key provided: sk-up****',
          type: 'invalid_request_error',
          code: 'invalid_api_key',
        },
      },
      undefined,
      OpenAI.AuthenticationError,
      'invalid_api_key',
    ],
    [404, { error: { message: 'The model does not exist' } }, undefined, OpenAI.NotFoundError, '404'],
    [429, { error: { message: 'Rate limit reached' } }, { 'retry-after': '7' }, OpenAI.RateLimitError, '429'],
    [
      400,
      { error: { message: "This model's maximum context length is 8192 tokens", code: 'context_length_exceeded' } },
      undefined,
      OpenAI.BadRequestError,
      'context_length_exceeded',
    ],
    [
      400,
      { error: { message: 'Your request was rejected as a result of our safety system', code: 'content_filter' } },
      undefined,
      OpenAI.BadRequestError,
      'content_policy_violation',
    ],
    [503, { error: { message: 'overloaded' } }, undefined, OpenAI.InternalServerError, '503'],
    [529, { error: { message: 'overloaded' } }, undefined, OpenAI.InternalServerError, '529'],
  ];
  for (const [status, body, headers, cls, code] of cases) {
    it(`upstream ${status} ${code}`, async () => {
      up.setFault({ kind: 'status', status, body, headers });
      const e = await engine.openai.chat.completions
        .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })
        .catch((x) => x);
      expect(e).toBeInstanceOf(cls);
      expect(e.code).toBe(code);
      if (status === 429) expect(e.headers.get('retry-after')).toBe('7');
      if (status === 529) expect(e.status).toBe(503);
    });
  }

  it('unknown model: 400 naming the models that exist', async () => {
    const engine2 = await startTestEngine({
      model_list: [{ model_name: 'only-one', litellm_params: { model: 'openai/x', mock_response: 'y' } }],
    });
    try {
      const e = await engine2.openai.chat.completions
        .create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] })
        .catch((x) => x);
      expect(e).toBeInstanceOf(OpenAI.BadRequestError);
      expect(e.message).toContain('only-one');
      expect(e.param).toBe('model');
    } finally {
      await engine2.close();
    }
  });
});

describe('/health', () => {
  it('reports healthy and unhealthy endpoints without keys', async () => {
    const r = await fetch(`${engine.url}/health`, { headers: { authorization: `Bearer ${MASTER}` } });
    const text = await r.text();
    const body = JSON.parse(text);
    expect(body.unhealthy_count).toBe(0);
    expect(body.healthy_count).toBe(7);
    expect(text).not.toContain(UPSTREAM_KEY);
    up.setFault({ kind: 'status', status: 401, body: { error: { message: 'bad key' } } });
    const r2 = await (await fetch(`${engine.url}/health`, { headers: { authorization: `Bearer ${MASTER}` } })).json();
    expect(r2.unhealthy_count).toBe(6); // the mock stays healthy
    expect(r2.unhealthy_endpoints[0]).toMatchObject({
      model: 'openai/gpt-4o',
      api_base: `${up.url}/v1`,
      error: expect.stringContaining('bad key'),
    });
  });
});
