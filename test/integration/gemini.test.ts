/**
 * Gemini (AI Studio) beyond the contract suite: Google's error quirks (invalid key is a 400 there,
 * RetryInfo), safety finishes and blocked prompts, JSON schema mode, named tool choice, thoughts,
 * errors and early ends inside a stream, and batchEmbedContents.
 */
import type OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GoogleFake, startGoogleUpstream } from '../fakes/gemini-upstream.js';
import { startTestEngine, type TestEngine } from './engine-helpers.js';

const KEY = 'AIzaIntegrationKey00000000001';
let fake: GoogleFake;
let engine: TestEngine;

beforeAll(async () => {
  fake = await startGoogleUpstream({ apiKey: KEY });
  engine = await startTestEngine({
    model_list: [
      { model_name: 'flash', litellm_params: { model: 'gemini/gemini-2.0-flash', api_base: fake.url, api_key: KEY } },
      {
        model_name: 'bad-key',
        litellm_params: { model: 'gemini/gemini-2.0-flash', api_base: fake.url, api_key: 'AIzaWrongKey' },
      },
      {
        model_name: 'embed',
        litellm_params: { model: 'gemini/text-embedding-004', api_base: fake.url, api_key: KEY },
        model_info: { mode: 'embedding' },
      },
    ],
  });
});
afterAll(async () => {
  await engine?.close();
  await fake?.close();
});
beforeEach(() => {
  fake.calls.length = 0;
});

const ask = (extra: Record<string, unknown> = {}) =>
  engine.openai.chat.completions.create({
    model: 'flash',
    messages: [{ role: 'user', content: 'hi' }],
    ...extra,
  } as OpenAI.ChatCompletionCreateParamsNonStreaming);
const fail = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
  );

describe('Gemini adapter', () => {
  it('an invalid API key (Google answers 400 API_KEY_INVALID) is a 401 with Google message', async () => {
    const e = await fail(
      engine.openai.chat.completions.create({ model: 'bad-key', messages: [{ role: 'user', content: 'x' }] }),
    );
    expect(e?.status).toBe(401);
    expect(e?.message).toContain('API key not valid');
    expect(e?.message).not.toContain('AIzaWrongKey');
  });

  it('a 429 with RetryInfo keeps the delay as Retry-After', async () => {
    fake.script({
      type: 'google-error',
      code: 429,
      status: 'RESOURCE_EXHAUSTED',
      message: 'Quota exceeded for metric generate_content',
      details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '33s' }],
    });
    const e = await fail(ask());
    expect(e?.status).toBe(429);
    expect(e?.headers?.get('retry-after')).toBe('33');
  });

  it('a SAFETY finish and a blocked prompt both come back as content_filter', async () => {
    fake.script({
      type: 'raw',
      body: {
        candidates: [{ content: { role: 'model', parts: [{ text: 'I' }] }, finishReason: 'SAFETY', index: 0 }],
        usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 1, totalTokenCount: 4 },
      },
    });
    expect((await ask()).choices[0].finish_reason).toBe('content_filter');
    fake.script({
      type: 'raw',
      body: { promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 3, totalTokenCount: 3 } },
    });
    const r = await ask();
    expect(r.choices[0].finish_reason).toBe('content_filter');
    expect(r.usage?.prompt_tokens).toBe(3);
  });

  it(
    'sends JSON schema mode, a named tool choice and seed in Gemini terms; ' +
      'thoughts come back as reasoning_content',
    async () => {
      fake.script({
        type: 'raw',
        body: {
          candidates: [
            {
              content: { role: 'model', parts: [{ text: 'thinking...', thought: true }, { text: '{"a":1}' }] },
              finishReason: 'STOP',
            },
          ],
          usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 4, thoughtsTokenCount: 6, totalTokenCount: 15 },
        },
      });
      const schema = {
        type: 'object',
        properties: { a: { type: 'integer' } },
        required: ['a'],
        additionalProperties: false,
      };
      const tools = [
        {
          type: 'function',
          function: {
            name: 'f',
            parameters: { type: 'object', properties: { x: { type: 'string' } }, additionalProperties: false },
          },
        },
      ];
      const r = await ask({
        response_format: { type: 'json_schema', json_schema: { name: 's', schema, strict: true } },
        tools,
        tool_choice: { type: 'function', function: { name: 'f' } },
        seed: 7,
      });
      expect(r.choices[0].message.content).toBe('{"a":1}');
      expect((r.choices[0].message as unknown as { reasoning_content: string }).reasoning_content).toBe('thinking...');
      expect(r.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 10, total_tokens: 15 });
      const body = fake.calls[0].body;
      expect(body.generationConfig).toEqual({
        seed: 7,
        responseMimeType: 'application/json',
        responseSchema: { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] },
      });
      expect(body.toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['f'] } });
      expect(body.tools[0].functionDeclarations[0].parameters).toEqual({
        type: 'object',
        properties: { x: { type: 'string' } },
      });
    },
  );

  it(
    'an error object inside a stream reaches the client as that error; ' + 'a stream without finishReason is an error',
    async () => {
      const text = { candidates: [{ content: { role: 'model', parts: [{ text: 'part' }] } }] };
      fake.script({
        type: 'raw',
        body: {},
        events: [text, { error: { code: 503, message: 'The model is overloaded mid-stream', status: 'UNAVAILABLE' } }],
      });
      let got = '';
      const drain = async () => {
        const s = await engine.openai.chat.completions.create({
          model: 'flash',
          messages: [{ role: 'user', content: 'x' }],
          stream: true,
        });
        for await (const c of s) got += c.choices[0]?.delta?.content ?? '';
      };
      const e1 = await drain().catch((e: unknown) => e);
      // the text before the error may or may not have reached the client (the engine batches reads); the error must
      expect(got === '' || got === 'part').toBe(true);
      expect(String(e1)).toContain('overloaded mid-stream');
      fake.script({ type: 'raw', body: {}, events: [text] });
      expect(await drain().catch((e: unknown) => e)).toBeInstanceOf(Error);
    },
  );

  it('embeds a batch through batchEmbedContents with outputDimensionality', async () => {
    const r = await engine.openai.embeddings.create({
      model: 'embed',
      input: ['one', 'three'],
      dimensions: 2,
      encoding_format: 'float',
    });
    expect(r.data.map((d) => d.embedding)).toEqual([
      [0.3, 0.4],
      [0.5, 0.6],
    ]);
    expect(fake.calls[0].path).toBe('/v1beta/models/text-embedding-004:batchEmbedContents');
    expect(fake.calls[0].body.requests[1]).toEqual({
      model: 'models/text-embedding-004',
      content: { parts: [{ text: 'three' }] },
      outputDimensionality: 2,
    });
  });
});
