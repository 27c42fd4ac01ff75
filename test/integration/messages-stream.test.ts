/**
 * Streaming POST /v1/messages: Anthropic SSE (event: lines, block order, usage) from OpenAI chunks,
 * through @anthropic-ai/sdk's `messages.stream()` and as raw SSE.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type FakeUpstream, startOpenAIUpstream } from '../fakes/openai-upstream.js';
import { startTestEngine, type TestEngine } from './engine-helpers.js';

const MASTER = 'sk-master-stream-4567';

let up: FakeUpstream;
let engine: TestEngine;
let client: Anthropic;

const weatherTool = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } },
};

/** POST and split the SSE answer into {event, data} pairs. */
async function rawEvents(
  body: Record<string, unknown>,
): Promise<{ status: number; contentType: string | null; events: { event: string; data: any }[] }> {
  const res = await fetch(`${engine.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': MASTER, 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ stream: true, ...body }),
  });
  const text = await res.text();
  const events = text
    .split('\n\n')
    .filter((f) => f.trim() !== '')
    .map((f) => {
      const lines = f.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? '';
      const data = lines.find((l) => l.startsWith('data: '))?.slice(6);
      return { event, data: data === undefined ? undefined : JSON.parse(data) };
    });
  return { status: res.status, contentType: res.headers.get('content-type'), events };
}

beforeAll(async () => {
  up = await startOpenAIUpstream();
  engine = await startTestEngine(
    {
      model_list: [
        {
          model_name: 'gpt-4o',
          litellm_params: { model: 'openai/gpt-4o', api_base: `${up.url}/v1`, api_key: 'sk-up' },
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
  up.setOptions({ chunkIntervalMs: 0, repeat: 1 });
  up.requests.length = 0;
});

describe('streaming /v1/messages', () => {
  it('messages.stream(): text deltas one per upstream chunk, finalMessage with the upstream usage', async () => {
    up.setOptions({ repeat: 3 });
    const texts: string[] = [];
    const stream = client.messages.stream({
      model: 'gpt-4o',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'hi there' }],
    });
    stream.on('text', (t) => texts.push(t));
    const final = await stream.finalMessage();
    const full = Array.from({ length: 3 }, () => 'echo: hi there').join(' ');
    expect(texts.length).toBe(9);
    expect(texts.join('')).toBe(full);
    expect(final).toMatchObject({
      role: 'assistant',
      model: 'gpt-4o',
      content: [{ type: 'text', text: full }],
      stop_reason: 'end_turn',
    });
    expect(final.usage).toMatchObject({ input_tokens: 11, output_tokens: 9 });
    expect(up.requests[0].body).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 50,
    });
  });

  it('raw SSE: event lines in Anthropic order, text block at index 0', async () => {
    const r = await rawEvents({ model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'a b' }] });
    expect(r.status).toBe(200);
    expect(r.contentType).toBe('text/event-stream');
    const names = r.events.map((e) => e.event);
    expect(names).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    for (const e of r.events) expect(e.data.type).toBe(e.event);
    const start = r.events[0].data.message;
    expect(start).toMatchObject({
      type: 'message',
      role: 'assistant',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      model: 'gpt-4o',
    });
    expect(start.id).toMatch(/^msg_/);
    expect(start.usage.input_tokens).toBeGreaterThan(0);
    expect(r.events[2].data).toEqual({
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'text', text: '' },
    });
    expect(r.events[3].data).toEqual({
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text: 'echo:' },
    });
    expect(r.events[6].data).toEqual({ type: 'content_block_stop', index: 0 });
    expect(r.events[7].data).toMatchObject({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: 3, input_tokens: 11 },
    });
  });

  it('tool calls stream as tool_use blocks with input_json_delta; finalMessage parses the input', async () => {
    const r = await rawEvents({
      model: 'gpt-4o',
      max_tokens: 50,
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'weather?' }],
    });
    const blocks = r.events.filter((e) => e.event.startsWith('content_block'));
    expect(blocks.map((e) => e.data)).toEqual([
      {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'tool_use', id: 'call_1', name: 'get_weather', input: {} },
      },
      { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"city":"Paris"}' } },
      { type: 'content_block_stop', index: 0 },
    ]);
    expect(r.events.find((e) => e.event === 'message_delta')!.data.delta.stop_reason).toBe('tool_use');

    const final = await client.messages
      .stream({
        model: 'gpt-4o',
        max_tokens: 50,
        tools: [weatherTool],
        messages: [{ role: 'user', content: 'weather?' }],
      })
      .finalMessage();
    expect(final.content).toEqual([{ type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } }]);
    expect(final.stop_reason).toBe('tool_use');
  });

  it(
    'deltas reach the client while the upstream is still sending ' + '(leaving mid-stream aborts the upstream)',
    async () => {
      up.setOptions({ chunkIntervalMs: 20, repeat: 100 });
      const stream = client.messages.stream({
        model: 'gpt-4o',
        max_tokens: 500,
        messages: [{ role: 'user', content: 'long' }],
      });
      let seen = 0;
      await new Promise<void>((resolve) => {
        stream.on('end', () => resolve());
        stream.on('error', () => resolve());
        stream.on('text', () => {
          if (++seen === 2) {
            stream.abort();
            resolve();
          }
        });
      });
      await stream.done().catch(() => undefined);
      // a buffering engine would only have sent text after the upstream finished, so nothing would be aborted
      await vi.waitFor(() => expect(up.aborted).toBeGreaterThan(0), { timeout: 5000 });
    },
  );

  it(
    'an upstream cut after text was sent becomes an `event: error` in Anthropic shape, ' + 'with no message_stop',
    async () => {
      up.setOptions({ chunkIntervalMs: 30, repeat: 3 });
      up.setFault({ kind: 'cut-stream', after: 4 });
      const r = await rawEvents({ model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'x' }] });
      expect(r.status).toBe(200);
      expect(r.events.some((e) => e.event === 'content_block_delta')).toBe(true);
      const last = r.events[r.events.length - 1];
      expect(last.event).toBe('error');
      expect(last.data).toEqual({ type: 'error', error: { type: 'api_error', message: expect.any(String) } });
      expect(r.events.some((e) => e.event === 'message_stop')).toBe(false);
    },
  );

  it('an upstream error event reaches the SDK as an APIError with the upstream message', async () => {
    up.setFault({ kind: 'error-event' });
    const e = await client.messages
      .stream({ model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'x' }] })
      .finalMessage()
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Anthropic.APIError);
    expect((e as Error).message).toContain('upstream exploded');
  });

  it('an upstream 429 before the stream starts is a RateLimitError (HTTP status, not an event)', async () => {
    up.setFault({ kind: 'status', status: 429 });
    const e = await client.messages
      .stream({ model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'x' }] })
      .finalMessage()
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Anthropic.RateLimitError);
  });

  it('streams a mock_response deployment word by word', async () => {
    const texts: string[] = [];
    const stream = client.messages.stream({
      model: 'mocked',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'x' }],
    });
    stream.on('text', (t) => texts.push(t));
    const final = await stream.finalMessage();
    expect(texts.length).toBe(4);
    expect(final.content).toEqual([{ type: 'text', text: 'Hi from the mock.' }]);
    expect(final.usage.output_tokens).toBeGreaterThan(0);
    expect(final.stop_reason).toBe('end_turn');
  });
});
