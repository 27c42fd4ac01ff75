/**
 * /v1/messages in front of the Anthropic adapter: Anthropic in, OpenAI in the middle, Anthropic to
 * the (fake) upstream and back. What the client sends must survive both translations.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ContractFake } from '../contract/harness.js';
import { ANTHROPIC_FAKE_KEY, startAnthropicUpstream } from '../fakes/anthropic-upstream.js';
import { startTestEngine, type TestEngine } from './engine-helpers.js';

const MASTER = 'sk-master-claude-2468';
let fake: ContractFake;
let engine: TestEngine;
let client: Anthropic;

const weatherTool = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } },
};

beforeAll(async () => {
  fake = await startAnthropicUpstream();
  engine = await startTestEngine(
    {
      model_list: [
        {
          model_name: 'claude',
          litellm_params: {
            model: 'anthropic/claude-3-5-sonnet-20241022',
            api_base: fake.url,
            api_key: ANTHROPIC_FAKE_KEY,
          },
        },
      ],
      router_settings: { num_retries: 0, disable_cooldowns: true },
      general_settings: { master_key: MASTER },
    },
    { apiKey: MASTER },
  );
  client = new Anthropic({ baseURL: engine.url, apiKey: MASTER, maxRetries: 0, timeout: 10_000 });
});
afterAll(async () => {
  await engine?.close();
  await fake?.close();
});
beforeEach(() => {
  fake.calls.length = 0;
});

describe('/v1/messages through the Anthropic adapter', () => {
  it('plain and streamed text with the upstream usage; the upstream gets its own key, not the master key', async () => {
    fake.script({ type: 'text', text: 'Bonjour tout le monde', usage: { input: 21, output: 5 } });
    const m = await client.messages.create({
      model: 'claude',
      max_tokens: 100,
      system: 'Answer in French.',
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(m).toMatchObject({
      content: [{ type: 'text', text: 'Bonjour tout le monde' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 21, output_tokens: 5 },
    });
    const sent = fake.calls[0];
    expect(sent.headers['x-api-key']).toBe(ANTHROPIC_FAKE_KEY);
    expect(sent.body).toMatchObject({
      model: 'claude-3-5-sonnet-20241022',
      max_tokens: 100,
      messages: [{ role: 'user' }],
    });
    expect(JSON.stringify(sent.body.system)).toContain('Answer in French.');

    fake.script({ type: 'text', text: 'Bonjour tout le monde', usage: { input: 21, output: 5 } });
    const texts: string[] = [];
    const stream = client.messages.stream({
      model: 'claude',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hello' }],
    });
    stream.on('text', (t) => texts.push(t));
    const final = await stream.finalMessage();
    expect(texts.length).toBeGreaterThan(1);
    expect(final.content).toEqual([{ type: 'text', text: 'Bonjour tout le monde' }]);
    expect(final.usage).toMatchObject({ input_tokens: 21, output_tokens: 5 });
  });

  it('a stop sequence that ended the text is named, plain and streamed', async () => {
    for (const stream of [false, true]) {
      fake.script({ type: 'text', text: 'one two END three', usage: { input: 9, output: 3 } });
      const req = {
        model: 'claude',
        max_tokens: 50,
        stop_sequences: ['END', 'NEVER'],
        messages: [{ role: 'user' as const, content: 'count' }],
      };
      const m = stream ? await client.messages.stream(req).finalMessage() : await client.messages.create(req);
      expect(m, stream ? 'streamed' : 'plain').toMatchObject({
        stop_reason: 'stop_sequence',
        stop_sequence: 'END',
        content: [{ type: 'text', text: 'one two ' }],
      });
      expect(fake.calls.at(-1)!.body.stop_sequences).toEqual(['END', 'NEVER']);
    }
  });

  it('a tool call and its result survive the round trip in both directions', async () => {
    fake.script({
      type: 'tool_call',
      id: 'toolu_01',
      name: 'get_weather',
      args: { city: 'Lyon' },
      usage: { input: 30, output: 9 },
    });
    const first = await client.messages.create({
      model: 'claude',
      max_tokens: 100,
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'weather in Lyon?' }],
    });
    expect(first).toMatchObject({
      stop_reason: 'tool_use',
      content: [{ type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Lyon' } }],
    });
    expect(fake.calls[0].body.tools).toEqual([
      { name: 'get_weather', description: 'Weather for a city', input_schema: weatherTool.input_schema },
    ]);

    fake.script({ type: 'text', text: 'It is sunny in Lyon.', usage: { input: 40, output: 6 } });
    const second = await client.messages.create({
      model: 'claude',
      max_tokens: 100,
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'weather in Lyon?' },
        { role: 'assistant', content: first.content as Anthropic.ContentBlockParam[] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: '22C, sunny' }] },
      ],
    });
    expect(second.content).toEqual([{ type: 'text', text: 'It is sunny in Lyon.' }]);
    const msgs = fake.calls[1].body.messages as { role: string; content: { type: string; [k: string]: unknown }[] }[];
    expect(msgs.map((x) => x.role)).toEqual(['user', 'assistant', 'user']);
    expect(msgs[1].content).toContainEqual(
      expect.objectContaining({ type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Lyon' } }),
    );
    expect(msgs[2].content).toContainEqual(expect.objectContaining({ type: 'tool_result', tool_use_id: 'toolu_01' }));
    expect(JSON.stringify(msgs[2].content)).toContain('22C, sunny');
  });

  it('an overloaded upstream (529) is overloaded_error, a rate limit is a RateLimitError', async () => {
    fake.script({ type: 'error', error: 'overloaded', message: 'busy' });
    const busy = await client.messages
      .create({ model: 'claude', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] })
      .catch((x: unknown) => x);
    // status 529, so the SDK raises its OverloadedError as it would against Anthropic itself
    expect(busy).toBeInstanceOf(Anthropic.OverloadedError);
    expect((busy as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: 'error',
      error: { type: 'overloaded_error' },
    });
    fake.script({ type: 'error', error: 'rate_limit', message: 'slow', retryAfter: '3' });
    const limited = await client.messages
      .create({ model: 'claude', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] })
      .catch((x: unknown) => x);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect((limited as InstanceType<typeof Anthropic.RateLimitError>).headers?.get('retry-after')).toBe('3');
  });
});
