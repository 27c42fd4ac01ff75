import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeOllama, startOllamaUpstream } from '../fakes/ollama-upstream.js';
import { post, startTestEngine, type TestEngine } from './engine-helpers.js';

let ollama: FakeOllama;
let engine: TestEngine;

beforeAll(async () => {
  ollama = await startOllamaUpstream();
  engine = await startTestEngine({
    model_list: [
      {
        model_name: 'llama',
        litellm_params: {
          model: 'ollama/llama3',
          api_base: ollama.url,
          temperature: 0.1,
          max_tokens: 20,
          keep_alive: '5m',
        },
      },
      { model_name: 'llama-chat', litellm_params: { model: 'ollama_chat/llama3', api_base: `${ollama.url}/v1` } },
      { model_name: 'nomic', litellm_params: { model: 'ollama/nomic-embed-text', api_base: ollama.url } },
    ],
  });
});
afterAll(async () => {
  await engine?.close();
  await ollama?.close();
});
beforeEach(() => {
  ollama.setFault(undefined);
  ollama.requests.length = 0;
});

describe('Ollama native API', () => {
  it('chat: /api/chat with options mapped, usage from eval counts', async () => {
    const r = await engine.openai.chat.completions.create({
      model: 'llama',
      messages: [{ role: 'user', content: 'hi' }],
      seed: 7,
      stop: 'END',
      response_format: { type: 'json_object' },
    });
    expect(r.object).toBe('chat.completion');
    expect(r.choices[0]).toMatchObject({
      message: { role: 'assistant', content: 'ollama says: hi' },
      finish_reason: 'stop',
    });
    expect(r.usage).toEqual({ prompt_tokens: 12, completion_tokens: 6, total_tokens: 18 });
    expect(ollama.requests[0].path).toBe('/api/chat');
    expect(ollama.requests[0].body).toMatchObject({
      model: 'llama3',
      stream: false,
      format: 'json',
      keep_alive: '5m',
      options: { temperature: 0.1, num_predict: 20, seed: 7, stop: ['END'] },
    });
  });

  it('an api_base ending in /v1 still reaches the native API', async () => {
    await engine.openai.chat.completions.create({ model: 'llama-chat', messages: [{ role: 'user', content: 'hi' }] });
    expect(ollama.requests[0].path).toBe('/api/chat');
  });

  it('streams NDJSON as OpenAI chunks, with a usage chunk when asked', async () => {
    const s = await engine.openai.chat.completions.create({
      model: 'llama',
      messages: [{ role: 'user', content: 'one two' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    let finish: string | null | undefined;
    for await (const c of s) {
      text += c.choices[0]?.delta?.content ?? '';
      if (c.choices[0]?.finish_reason) finish = c.choices[0].finish_reason;
      if (c.usage) usage = c.usage;
    }
    expect(text).toBe('ollama says: one two ');
    expect(finish).toBe('stop');
    expect(usage).toEqual({ prompt_tokens: 12, completion_tokens: 6, total_tokens: 18 });
  });

  it('tools: passed through, tool calls come back with ids and JSON-string arguments', async () => {
    const tools = [
      { type: 'function' as const, function: { name: 'weather', parameters: { type: 'object', properties: {} } } },
    ];
    const r = await engine.openai.chat.completions.create({
      model: 'llama',
      messages: [{ role: 'user', content: 'w' }],
      tools,
    });
    expect(r.choices[0].finish_reason).toBe('tool_calls');
    expect(r.choices[0].message.tool_calls?.[0]).toMatchObject({
      id: expect.stringMatching(/^call_/),
      type: 'function',
      function: { name: 'weather', arguments: '{"city":"Paris"}' },
    });
    expect(ollama.requests[0].body.tools).toEqual(tools);
    const s = await engine.openai.chat.completions.create({
      model: 'llama',
      messages: [{ role: 'user', content: 'w' }],
      tools,
      stream: true,
    });
    let args = '';
    let finish: string | null | undefined;
    for await (const c of s) {
      args += c.choices[0]?.delta?.tool_calls?.[0]?.function?.arguments ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    expect(args).toBe('{"city":"Paris"}');
    expect(finish).toBe('tool_calls');
  });

  it('sends assistant tool calls back with object arguments', async () => {
    await engine.openai.chat.completions.create({
      model: 'llama',
      messages: [
        { role: 'user', content: 'w' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
      ],
    });
    const msgs = ollama.requests[0].body.messages as any[];
    expect(msgs[1].tool_calls[0].function.arguments).toEqual({ city: 'Oslo' });
    expect(msgs[2]).toMatchObject({ role: 'tool', content: 'sunny' });
  });

  it('completions: /api/generate, plain and streamed', async () => {
    const r = await engine.openai.completions.create({ model: 'llama', prompt: 'abc' });
    expect(r.choices[0].text).toBe('generated: abc');
    expect(ollama.requests[0].path).toBe('/api/generate');
    const s = await engine.openai.completions.create({ model: 'llama', prompt: 'abc', stream: true });
    let text = '';
    for await (const c of s) text += c.choices[0]?.text ?? '';
    expect(text).toBe('generated: abc ');
  });

  it('embeddings: /api/embed, base64 and float', async () => {
    const r = await engine.openai.embeddings.create({ model: 'nomic', input: ['a', 'b'] });
    expect(r.data[1].embedding).toEqual([0.5, -0.5, 1]);
    expect(r.usage.prompt_tokens).toBe(4);
    const f = await engine.openai.embeddings.create({ model: 'nomic', input: 'a', encoding_format: 'float' });
    expect(f.data[0].embedding).toEqual([0.5, -0.5, 0]);
    expect(ollama.requests[0].path).toBe('/api/embed');
  });

  it('errors: an Ollama 404 is a 404, a broken or cut stream is an error event, the engine stays up', async () => {
    ollama.setFault({ kind: 'status', status: 404, body: { error: 'model "llama3" not found, try pulling it first' } });
    const e = await engine.openai.chat.completions
      .create({ model: 'llama', messages: [{ role: 'user', content: 'x' }] })
      .catch((x) => x);
    expect(e).toBeInstanceOf(OpenAI.NotFoundError);
    expect(e.message).toContain('try pulling it first');
    for (const fault of [
      { kind: 'broken-stream' },
      { kind: 'error-line' },
      { kind: 'cut-stream', after: 2 },
    ] as const) {
      ollama.setFault(fault);
      const r = await post(`${engine.url}/v1/chat/completions`, {
        model: 'llama',
        stream: true,
        messages: [{ role: 'user', content: 'a b c d' }],
      });
      if (r.status === 200) expect(r.text, fault.kind).toMatch(/data: \{"error"/);
      else expect(r.status, fault.kind).toBe(502);
      expect(r.text).not.toContain('[DONE]');
    }
    ollama.setFault(undefined);
    expect(
      (await post(`${engine.url}/v1/chat/completions`, { model: 'llama', messages: [{ role: 'user', content: 'x' }] }))
        .status,
    ).toBe(200);
  });

  it('/health asks /api/tags', async () => {
    const r = await (await fetch(`${engine.url}/health`)).json();
    expect(r.healthy_count).toBe(3);
    expect(ollama.requests.every((q) => q.path === '/api/tags')).toBe(true);
  });
});
