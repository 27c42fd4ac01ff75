/**
 * /v1/messages against Ollama's native API (a fake): the Anthropic request goes through the OpenAI
 * translation and then the Ollama adapter, and comes back as Anthropic messages and SSE.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeOllama, startOllamaUpstream } from '../fakes/ollama-upstream.js';
import { startTestEngine, type TestEngine } from './engine-helpers.js';

let ollama: FakeOllama;
let engine: TestEngine;
let client: Anthropic;

const weatherTool = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } },
};

beforeAll(async () => {
  ollama = await startOllamaUpstream();
  // no master key: any key is accepted, as the worker's placeholder key is
  engine = await startTestEngine({
    model_list: [{ model_name: 'llama', litellm_params: { model: 'ollama/llama3', api_base: ollama.url } }],
    router_settings: { num_retries: 0, disable_cooldowns: true },
  });
  client = new Anthropic({ baseURL: engine.url, apiKey: 'sk-kubiya-local', maxRetries: 0, timeout: 10_000 });
});
afterAll(async () => {
  await engine?.close();
  await ollama?.close();
});
beforeEach(() => {
  ollama.setFault(undefined);
  ollama.requests.length = 0;
});

describe('/v1/messages with an Ollama deployment', () => {
  it('plain: system and sampling options reach /api/chat (top_k kept for Ollama), usage from eval counts', async () => {
    const m = await client.messages.create({
      model: 'llama',
      max_tokens: 33,
      system: 'Be brief.',
      ...({ top_k: 4, temperature: 0.5 } as Record<string, number>),
      stop_sequences: ['END'],
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(m.content).toEqual([{ type: 'text', text: 'ollama says: hi' }]);
    expect(m).toMatchObject({ stop_reason: 'end_turn', usage: { input_tokens: 12, output_tokens: 6 } });
    expect(ollama.requests[0].path).toBe('/api/chat');
    expect(ollama.requests[0].body).toMatchObject({
      model: 'llama3',
      stream: false,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi' },
      ],
      options: { num_predict: 33, top_k: 4, temperature: 0.5, stop: ['END'] },
    });
  });

  it('images go to Ollama as base64 `images`', async () => {
    const data = Buffer.from('img').toString('base64');
    await client.messages.create({
      model: 'llama',
      max_tokens: 5,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'see' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data } },
          ],
        },
      ],
    });
    expect(ollama.requests[0].body.messages).toEqual([{ role: 'user', content: 'see', images: [data] }]);
  });

  it('streams text deltas from NDJSON with usage in finalMessage', async () => {
    const texts: string[] = [];
    const stream = client.messages.stream({
      model: 'llama',
      max_tokens: 20,
      messages: [{ role: 'user', content: 'hello world' }],
    });
    stream.on('text', (t) => texts.push(t));
    const final = await stream.finalMessage();
    expect(texts.length).toBeGreaterThan(1);
    expect(final.content).toEqual([{ type: 'text', text: texts.join('') }]);
    expect(texts.join('').trim()).toBe('ollama says: hello world');
    expect(final.usage).toMatchObject({ input_tokens: 12, output_tokens: 6 });
  });

  it('tool use (non-stream and stream) and the tool result sent back as a tool message', async () => {
    const m = await client.messages.create({
      model: 'llama',
      max_tokens: 50,
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'weather?' }],
    });
    expect(m.stop_reason).toBe('tool_use');
    const call = m.content.find((b) => b.type === 'tool_use') as Anthropic.ToolUseBlock;
    expect(call).toMatchObject({ name: 'get_weather', input: { city: 'Paris' } });
    expect(ollama.requests[0].body.tools).toEqual([
      {
        type: 'function',
        function: { name: 'get_weather', description: 'Weather for a city', parameters: weatherTool.input_schema },
      },
    ]);

    const s = await client.messages
      .stream({
        model: 'llama',
        max_tokens: 50,
        tools: [weatherTool],
        messages: [{ role: 'user', content: 'weather?' }],
      })
      .finalMessage();
    expect(s.stop_reason).toBe('tool_use');
    expect(s.content.find((b) => b.type === 'tool_use')).toMatchObject({
      name: 'get_weather',
      input: { city: 'Paris' },
    });

    await client.messages.create({
      model: 'llama',
      max_tokens: 50,
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'weather?' },
        { role: 'assistant', content: [call] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'sunny' }] },
      ],
    });
    expect(ollama.requests[2].body.messages).toEqual([
      { role: 'user', content: 'weather?' },
      {
        role: 'assistant',
        content: '',
        tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }],
      },
      { role: 'tool', content: 'sunny', tool_call_id: call.id },
    ]);
  });

  it('an Ollama error is an Anthropic error with the status kept', async () => {
    ollama.setFault({ kind: 'status', status: 404, body: { error: 'model "llama3" not found, try pulling it first' } });
    const e = await client.messages
      .create({ model: 'llama', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Anthropic.NotFoundError);
    expect((e as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: 'error',
      error: { type: 'not_found_error', message: expect.stringContaining('try pulling it') },
    });
  });
});
