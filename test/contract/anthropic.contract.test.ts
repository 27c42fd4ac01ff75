/** Anthropic (Messages API) through the provider contract suite. */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadLiteLLMConfig } from '../../src/config/litellm/load.js';
import { createLogger, type EngineHandle, startEngine } from '../../src/engine/index.js';
import { ANTHROPIC_FAKE_KEY, startAnthropicUpstream } from '../fakes/anthropic-upstream.js';
import { CONTRACT_INPUTS as I, type RecordedCall, runContractSuite } from './harness.js';

function commonChecks(call: RecordedCall): void {
  expect(call.path).toBe('/v1/messages');
  expect(call.headers['x-api-key']).toBe(ANTHROPIC_FAKE_KEY);
  expect(call.headers['anthropic-version']).toBe('2023-06-01');
  expect(call.headers.authorization).toBeUndefined();
  expect(call.body.model).toBe('claude-3-5-sonnet-20241022');
}

runContractSuite({
  name: 'Anthropic',
  startFake: startAnthropicUpstream,
  deploymentParams: (url) => ({ model: 'anthropic/claude-3-5-sonnet-20241022', api_base: url }),
  env: { ANTHROPIC_API_KEY: ANTHROPIC_FAKE_KEY },
  expect: {
    plain(call) {
      commonChecks(call);
      expect(call.body).toEqual({
        model: 'claude-3-5-sonnet-20241022',
        system: I.system,
        messages: [{ role: 'user', content: [{ type: 'text', text: I.user }] }],
        max_tokens: I.max_tokens,
        temperature: I.temperature,
        top_p: I.top_p,
        stop_sequences: I.stop,
        metadata: { user_id: I.endUser },
      });
    },
    stream(call) {
      commonChecks(call);
      expect(call.body.stream).toBe(true);
      expect(call.headers.accept).toBe('text/event-stream');
    },
    tools(call) {
      commonChecks(call);
      expect(call.body.tools).toEqual([
        { name: I.tool.name, description: I.tool.description, input_schema: I.tool.parameters },
      ]);
      expect(call.body.tool_choice).toEqual({ type: 'auto' });
    },
    toolResult(call) {
      commonChecks(call);
      // no max_tokens in the request: defaulted from the model (claude-3-5 -> 8192)
      expect(call.body.max_tokens).toBe(8192);
      expect(call.body.system).toBe(I.system);
      expect(call.body.messages).toEqual([
        { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: I.toolCallId, name: I.tool.name, input: I.toolArgs }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: I.toolCallId, content: I.toolResult }] },
      ]);
    },
    imageDataUrl(call) {
      commonChecks(call);
      expect(call.body.messages[0].content).toEqual([
        { type: 'text', text: 'What is this?' },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: I.pngBase64 } },
      ]);
    },
    imageHttpsUrl(call) {
      commonChecks(call);
      expect(call.body.messages[0].content[1]).toEqual({ type: 'image', source: { type: 'url', url: I.httpsUrl } });
    },
  },
});

describe('Anthropic specifics', () => {
  let fake: Awaited<ReturnType<typeof startAnthropicUpstream>>;
  let engine: EngineHandle;
  let client: OpenAI;
  beforeAll(async () => {
    fake = await startAnthropicUpstream();
    // a bare claude-* name is Anthropic; key and base from the environment
    const config = { model_list: [{ model_name: 'haiku', litellm_params: { model: 'claude-3-haiku-20240307' } }] };
    const env = { ANTHROPIC_API_KEY: ANTHROPIC_FAKE_KEY, ANTHROPIC_API_BASE: `${fake.url}/v1` };
    const loaded = loadLiteLLMConfig({ kind: 'object', value: config, label: 'anthropic-specifics' }, { env });
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
  beforeEach(() => fake.streamFault(undefined));
  const last = () => fake.calls.at(-1)!.body;

  it(
    'routes a bare claude-* model with ANTHROPIC_API_BASE, defaults max_tokens to 4096, ' + 'merges same-role turns',
    async () => {
      fake.script({ type: 'text', text: 'ok', usage: { input: 5, output: 1 } });
      await client.chat.completions.create({
        model: 'haiku',
        messages: [
          { role: 'system', content: 'a' },
          { role: 'system', content: 'b' },
          { role: 'user', content: 'one' },
          { role: 'user', content: 'two' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 't1', type: 'function', function: { name: 'f', arguments: '{}' } },
              { id: 't2', type: 'function', function: { name: 'g', arguments: '{"x":1}' } },
            ],
          },
          { role: 'tool', tool_call_id: 't1', content: 'r1' },
          { role: 'tool', tool_call_id: 't2', content: 'r2' },
          { role: 'user', content: 'and?' },
        ],
      });
      const b = last();
      expect(b.model).toBe('claude-3-haiku-20240307');
      expect(b.max_tokens).toBe(4096);
      expect(b.system).toEqual([
        { type: 'text', text: 'a' },
        { type: 'text', text: 'b' },
      ]);
      expect(b.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant', 'user']);
      expect(b.messages[0].content).toEqual([
        { type: 'text', text: 'one' },
        { type: 'text', text: 'two' },
      ]);
      expect(b.messages[2].content).toEqual([
        { type: 'tool_result', tool_use_id: 't1', content: 'r1' },
        { type: 'tool_result', tool_use_id: 't2', content: 'r2' },
        { type: 'text', text: 'and?' },
      ]);
    },
  );

  it(
    'maps tool_choice required -> any, a named function -> tool, ' +
      'parallel_tool_calls false -> disable_parallel_tool_use',
    async () => {
      fake.script({ type: 'text', text: 'ok', usage: { input: 5, output: 1 } });
      const tools: OpenAI.ChatCompletionTool[] = [
        { type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } },
      ];
      await client.chat.completions.create({
        model: 'haiku',
        messages: [{ role: 'user', content: 'x' }],
        tools,
        tool_choice: 'required',
        parallel_tool_calls: false,
      });
      expect(last().tool_choice).toEqual({ type: 'any', disable_parallel_tool_use: true });
      await client.chat.completions.create({
        model: 'haiku',
        messages: [{ role: 'user', content: 'x' }],
        tools,
        tool_choice: { type: 'function', function: { name: 'f' } },
      });
      expect(last().tool_choice).toEqual({ type: 'tool', name: 'f' });
    },
  );

  it('emulates response_format json_schema with a forced tool and returns its input as the message text', async () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } } };
    fake.script({
      type: 'tool_call',
      id: 'toolu_j',
      name: 'json_tool_call',
      args: { answer: 'yes' },
      usage: { input: 5, output: 3 },
    });
    const r = await client.chat.completions.create({
      model: 'haiku',
      messages: [{ role: 'user', content: 'x' }],
      response_format: { type: 'json_schema', json_schema: { name: 'a', schema } },
    });
    expect(JSON.parse(r.choices[0].message.content!)).toEqual({ answer: 'yes' });
    expect(r.choices[0].message.tool_calls).toBeUndefined();
    expect(r.choices[0].finish_reason).toBe('stop');
    expect(last().tool_choice).toEqual({ type: 'tool', name: 'json_tool_call' });
    expect(last().tools[0].input_schema).toEqual(schema);
    const s = await client.chat.completions.create({
      model: 'haiku',
      messages: [{ role: 'user', content: 'x' }],
      response_format: { type: 'json_object' },
      stream: true,
    });
    let text = '';
    for await (const c of s) text += c.choices[0]?.delta?.content ?? '';
    expect(JSON.parse(text)).toEqual({ answer: 'yes' });
  });

  it('an overloaded_error event mid-stream reaches the client as an error after the text so far', async () => {
    fake.script({ type: 'text', text: 'partial answer here', usage: { input: 5, output: 3 } });
    fake.streamFault('error-event');
    const s = await client.chat.completions.create({
      model: 'haiku',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    let text = '';
    const err = await (async () => {
      for await (const c of s) text += c.choices[0]?.delta?.content ?? '';
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(text).toBe('partial');
    expect(String((err as Error)?.message)).toMatch(/Overloaded/);
  });

  it('a stream cut before message_stop is reported, not passed off as complete', async () => {
    fake.script({ type: 'text', text: 'cut short', usage: { input: 5, output: 3 } });
    fake.streamFault('cut');
    const s = await client.chat.completions.create({
      model: 'haiku',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    const err = await (async () => {
      for await (const _ of s) void _;
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String((err as Error)?.message)).toMatch(/ended before it was complete/);
  });

  it('refuses params Anthropic does not take unless drop_params', async () => {
    const err = await client.chat.completions
      .create({ model: 'haiku', messages: [{ role: 'user', content: 'x' }], seed: 1 })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
    expect((err as InstanceType<typeof OpenAI.APIError>).message).toMatch(/seed/);
  });
});
