/**
 * POST /v1/messages (non-stream) through the official @anthropic-ai/sdk, against a fake OpenAI
 * upstream and a mock_response deployment: the Anthropic request must reach the upstream as the
 * OpenAI request it means, and the answer must come back in Anthropic's shape.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeUpstream, startOpenAIUpstream } from '../fakes/openai-upstream.js';
import { post, startTestEngine, type TestEngine } from './engine-helpers.js';

const MASTER = 'sk-master-anthropic-0123';
const UPSTREAM_KEY = 'sk-upstream-secret-987654';

let up: FakeUpstream;
let engine: TestEngine;
let client: Anthropic;

const weatherTool = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};

/** Sampling params newer SDK types no longer list (the API still takes them). */
const sampling = (p: Record<string, number>): Record<string, number> => p;

beforeAll(async () => {
  up = await startOpenAIUpstream();
  engine = await startTestEngine(
    {
      model_list: [
        {
          model_name: 'gpt-4o',
          litellm_params: { model: 'openai/gpt-4o', api_base: `${up.url}/v1`, api_key: UPSTREAM_KEY },
        },
        { model_name: 'mocked', litellm_params: { model: 'openai/whatever', mock_response: 'Hi from the mock.' } },
      ],
      // faults must reach the client as they are: no retries, no cooldown carried into the next test
      router_settings: { num_retries: 0, disable_cooldowns: true },
      general_settings: { master_key: MASTER },
    },
    { apiKey: MASTER },
  );
  client = new Anthropic({ baseURL: engine.url, apiKey: MASTER, maxRetries: 0, timeout: 10_000 });
});
afterAll(async () => {
  await engine?.close();
  await up?.close();
});
beforeEach(() => {
  up.setFault(undefined);
  up.requests.length = 0;
});

describe('POST /v1/messages against an OpenAI upstream', () => {
  it('answers a plain message in Anthropic shape with the upstream usage', async () => {
    const m = await client.messages.create({
      model: 'gpt-4o',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(m.id).toMatch(/^msg_/);
    expect(m).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'gpt-4o',
      content: [{ type: 'text', text: 'echo: hello' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
    });
    expect(m.usage).toMatchObject({ input_tokens: 11, output_tokens: 7 });
    const sent = up.requests[0];
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(sent.headers['x-api-key']).toBeUndefined();
    expect(sent.body).toEqual({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }], max_tokens: 64 });
  });

  it(
    'turns system (string or blocks), sampling params, ' + 'stop_sequences and metadata.user_id into OpenAI fields',
    async () => {
      await client.messages.create({
        model: 'gpt-4o',
        max_tokens: 10,
        system: 'Be brief.',
        ...sampling({ temperature: 0.3, top_p: 0.9, top_k: 5 }),
        stop_sequences: ['END', '###'],
        metadata: { user_id: 'user-42' },
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(up.requests[0].body).toEqual({
        model: 'gpt-4o',
        max_tokens: 10,
        temperature: 0.3,
        top_p: 0.9,
        stop: ['END', '###'],
        user: 'user-42',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'hi' },
        ],
      });
      await client.messages.create({
        model: 'gpt-4o',
        max_tokens: 10,
        system: [
          { type: 'text', text: 'One.' },
          { type: 'text', text: 'Two.' },
        ],
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'a' },
              { type: 'text', text: 'b' },
            ],
          },
        ],
      });
      expect(up.requests[1].body?.messages).toEqual([
        { role: 'system', content: 'One.\nTwo.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'a' },
            { type: 'text', text: 'b' },
          ],
        },
      ]);
    },
  );

  it('sends images (base64 and url) as OpenAI image_url parts', async () => {
    const png = Buffer.from('fake png bytes').toString('base64');
    await client.messages.create({
      model: 'gpt-4o',
      max_tokens: 10,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in these?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
          ],
        },
      ],
    });
    expect(up.requests[0].body?.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in these?' },
          { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
        ],
      },
    ]);
  });

  it('round-trips a tool call: tool_use out, tool_result back in as an OpenAI tool message', async () => {
    const first = await client.messages.create({
      model: 'gpt-4o',
      max_tokens: 100,
      tools: [weatherTool],
      tool_choice: { type: 'any' },
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    expect(up.requests[0].body).toMatchObject({
      tools: [
        {
          type: 'function',
          function: { name: 'get_weather', description: 'Weather for a city', parameters: weatherTool.input_schema },
        },
      ],
      tool_choice: 'required',
    });
    expect(first.stop_reason).toBe('tool_use');
    expect(first.content).toEqual([{ type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } }]);

    await client.messages.create({
      model: 'gpt-4o',
      max_tokens: 100,
      tools: [weatherTool],
      tool_choice: { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true },
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: [{ type: 'text', text: 'Let me check.' }, ...first.content] as Anthropic.ContentBlockParam[],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'call_1', content: [{ type: 'text', text: '18C, sunny' }] },
            { type: 'text', text: 'And tomorrow?' },
          ],
        },
      ],
    });
    const sent = up.requests[1].body!;
    expect(sent.messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: 'Let me check.',
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '18C, sunny' },
      { role: 'user', content: 'And tomorrow?' },
    ]);
    expect(sent.tool_choice).toEqual({ type: 'function', function: { name: 'get_weather' } });
    expect(sent.parallel_tool_calls).toBe(false);
  });

  it('serves /messages without /v1 too, with the key in x-api-key and anthropic-version ignored', async () => {
    const r = await post(
      `${engine.url}/messages`,
      { model: 'gpt-4o', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] },
      { 'x-api-key': MASTER, 'anthropic-version': '2023-06-01' },
    );
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ type: 'message', content: [{ type: 'text', text: 'echo: x' }] });
    expect(r.headers.get('request-id')).toBeTruthy();
  });

  it('counts tokens with the engine estimator, more for a longer prompt', async () => {
    const short = await client.messages.countTokens({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    const long = await client.messages.countTokens({
      model: 'gpt-4o',
      system: 'You are a helpful assistant.',
      messages: [{ role: 'user', content: 'tell me a long story about a dragon and a knight' }],
    });
    expect(short.input_tokens).toBeGreaterThan(0);
    expect(long.input_tokens).toBeGreaterThan(short.input_tokens + 10);
    expect(up.requests).toHaveLength(0);
  });
});

describe('POST /v1/messages against mock_response', () => {
  it('answers from the mock deployment with estimated usage', async () => {
    const m = await client.messages.create({
      model: 'mocked',
      max_tokens: 20,
      messages: [{ role: 'user', content: 'anything' }],
    });
    expect(m.content).toEqual([{ type: 'text', text: 'Hi from the mock.' }]);
    expect(m.stop_reason).toBe('end_turn');
    expect(m.usage.input_tokens).toBeGreaterThan(0);
    expect(m.usage.output_tokens).toBeGreaterThan(0);
  });

  it('maps finish reasons: a matched stop sequence, length -> max_tokens', async () => {
    const stopped = await client.messages.create({
      model: 'mocked',
      max_tokens: 20,
      stop_sequences: ['END'],
      messages: [{ role: 'user', content: 'count' }],
      mock_response: {
        choices: [
          { index: 0, message: { role: 'assistant', content: 'one two' }, finish_reason: 'stop', stop_reason: 'END' },
        ],
      },
    } as Anthropic.MessageCreateParamsNonStreaming);
    expect(stopped).toMatchObject({
      stop_reason: 'stop_sequence',
      stop_sequence: 'END',
      content: [{ type: 'text', text: 'one two' }],
    });
    const cut = await client.messages.create({
      model: 'mocked',
      max_tokens: 2,
      messages: [{ role: 'user', content: 'count' }],
      mock_response: {
        choices: [{ index: 0, message: { role: 'assistant', content: 'one two' }, finish_reason: 'length' }],
      },
    } as Anthropic.MessageCreateParamsNonStreaming);
    expect(cut).toMatchObject({ stop_reason: 'max_tokens', stop_sequence: null });
  });
});

describe('errors in Anthropic shape', () => {
  it('an upstream 429 is a RateLimitError with Retry-After kept', async () => {
    up.setFault({
      kind: 'status',
      status: 429,
      headers: { 'retry-after': '7' },
      body: { error: { message: 'slow down', type: 'rate_limit' } },
    });
    const e = await client.messages
      .create({ model: 'gpt-4o', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Anthropic.RateLimitError);
    const err = e as InstanceType<typeof Anthropic.RateLimitError>;
    expect(err.status).toBe(429);
    expect(err.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect((err.error as { error: { message: string } }).error.message).toContain('slow down');
    expect(err.headers?.get('retry-after')).toBe('7');
  });

  it('a wrong key is an AuthenticationError and never reaches the upstream', async () => {
    const bad = new Anthropic({ baseURL: engine.url, apiKey: 'sk-wrong', maxRetries: 0 });
    const e = await bad.messages
      .create({ model: 'gpt-4o', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((e as InstanceType<typeof Anthropic.AuthenticationError>).error).toMatchObject({
      type: 'error',
      error: { type: 'authentication_error' },
    });
    expect(up.requests).toHaveLength(0);
  });

  it('missing max_tokens is a 400 invalid_request_error naming the field', async () => {
    const r = await post(
      `${engine.url}/v1/messages`,
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] },
      { 'x-api-key': MASTER },
    );
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringContaining('max_tokens') },
    });
    expect(up.requests).toHaveLength(0);
  });

  it(
    'an unknown model, a bad block and a broken body are BadRequestErrors; ' +
      'an overloaded upstream is overloaded_error',
    async () => {
      const unknown = await client.messages
        .create({ model: 'nope', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })
        .catch((x: unknown) => x);
      expect(unknown).toBeInstanceOf(Anthropic.BadRequestError);
      expect((unknown as Error).message).toContain('nope');
      const block = await post(
        `${engine.url}/v1/messages`,
        { model: 'gpt-4o', max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'hologram' }] }] },
        { 'x-api-key': MASTER },
      );
      expect(block.status).toBe(400);
      expect(block.json.error.message).toContain('messages.0.content.0');
      const broken = await post(`${engine.url}/v1/messages`, '{"model":', { 'x-api-key': MASTER });
      expect(broken.json).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
      up.setFault({ kind: 'status', status: 503 });
      const busy = await client.messages
        .create({ model: 'gpt-4o', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })
        .catch((x: unknown) => x);
      expect(busy).toBeInstanceOf(Anthropic.InternalServerError);
      expect((busy as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
        error: { type: 'overloaded_error' },
      });
    },
  );
});
