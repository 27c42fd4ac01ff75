/** Cohere (chat v2 + embed v2) through the provider contract suite, plus embeddings. */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLiteLLMConfig } from '../../src/config/litellm/load.js';
import { createLogger, type EngineHandle, startEngine } from '../../src/engine/index.js';
import { COHERE_FAKE_KEY, startCohereUpstream } from '../fakes/cohere-upstream.js';
import { type ContractFake, CONTRACT_INPUTS as I, type RecordedCall, runContractSuite } from './harness.js';

function commonChecks(call: RecordedCall): void {
  expect(call.path).toBe('/v2/chat');
  expect(call.headers.authorization).toBe(`Bearer ${COHERE_FAKE_KEY}`);
  expect(call.body.model).toBe('command-r-plus');
}

runContractSuite({
  name: 'Cohere',
  startFake: startCohereUpstream,
  deploymentParams: (url) => ({ model: 'cohere_chat/command-r-plus', api_base: `${url}/v2` }),
  env: { COHERE_API_KEY: COHERE_FAKE_KEY },
  unsupportedErrors: ['content_policy'],
  expect: {
    plain(call) {
      commonChecks(call);
      // `user` has no Cohere field: dropped (drop_params)
      expect(call.body).toEqual({
        model: 'command-r-plus',
        messages: [
          { role: 'system', content: I.system },
          { role: 'user', content: I.user },
        ],
        stream: false,
        max_tokens: I.max_tokens,
        temperature: I.temperature,
        p: I.top_p,
        stop_sequences: I.stop,
      });
    },
    stream(call) {
      commonChecks(call);
      expect(call.body.stream).toBe(true);
      expect(call.body.stream_options).toBeUndefined();
    },
    tools(call) {
      commonChecks(call);
      expect(call.body.tools).toEqual([{ type: 'function', function: I.tool }]);
      expect(call.body.tool_choice).toBeUndefined(); // auto is Cohere's default
    },
    toolResult(call) {
      commonChecks(call);
      expect(call.body.messages.slice(2)).toEqual([
        {
          role: 'assistant',
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
      expect(call.body.messages[0].content).toEqual([
        { type: 'text', text: 'What is this?' },
        { type: 'image_url', image_url: { url: I.dataUrl } },
      ]);
    },
    imageHttpsUrl(call) {
      commonChecks(call);
      expect(call.body.messages[0].content[1]).toEqual({ type: 'image_url', image_url: { url: I.httpsUrl } });
    },
  },
});

describe('Cohere embeddings and tool_choice', () => {
  let fake: ContractFake;
  let engine: EngineHandle;
  let client: OpenAI;
  beforeAll(async () => {
    fake = await startCohereUpstream();
    const config = {
      model_list: [
        { model_name: 'embed', litellm_params: { model: 'cohere/embed-english-v3.0', api_base: fake.url } },
        { model_name: 'chat', litellm_params: { model: 'cohere/command-r', api_base: fake.url } },
      ],
    };
    const env = { COHERE_API_KEY: COHERE_FAKE_KEY };
    const loaded = loadLiteLLMConfig({ kind: 'object', value: config, label: 'cohere-specifics' }, { env });
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

  it('embeds through /v2/embed with input_type and float embeddings, in float and base64 encodings', async () => {
    const r = await client.embeddings.create({ model: 'embed', input: ['hello', 'hi'], encoding_format: 'float' });
    expect(r.data.map((d) => d.embedding)).toEqual([
      [0.5, 0.5, 0],
      [0.2, 0.5, 1],
    ]);
    expect(r.usage.prompt_tokens).toBe(6);
    expect(fake.calls.at(-1)!.body).toEqual({
      model: 'embed-english-v3.0',
      texts: ['hello', 'hi'],
      input_type: 'search_document',
      embedding_types: ['float'],
    });
    // the SDK asks for base64 and decodes it
    const b = await client.embeddings.create({ model: 'embed', input: 'hello' });
    expect(b.data[0].embedding).toEqual([0.5, 0.5, 0]);
  });

  it('maps tool_choice required / a named function to REQUIRED (only that tool offered)', async () => {
    fake.script({ type: 'text', text: 'ok', usage: { input: 1, output: 1 } });
    const tools: OpenAI.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'a', parameters: { type: 'object', properties: {} } } },
      { type: 'function', function: { name: 'b', parameters: { type: 'object', properties: {} } } },
    ];
    await client.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'x' }],
      tools,
      tool_choice: { type: 'function', function: { name: 'b' } },
    });
    expect(fake.calls.at(-1)!.body.tool_choice).toBe('REQUIRED');
    expect(fake.calls.at(-1)!.body.tools.map((t: { function: { name: string } }) => t.function.name)).toEqual(['b']);
  });
});
