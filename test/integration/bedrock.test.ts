/**
 * Bedrock beyond the contract suite: credentials from the config's environment (session token),
 * route prefixes and cross-region ids, mid-stream exception events, cut streams, JSON mode, image
 * URLs downloaded from a loopback server, Titan / Cohere embeddings, and the exception table.
 */
import type OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EventStreamDecoder } from '../../src/engine/providers/bedrock/event-stream.js';
import { type BedrockFake, startBedrockUpstream } from '../fakes/bedrock-upstream.js';
import { type Listening, startFake } from '../fakes/fake-server.js';
import { startTestEngine, type TestEngine } from './engine-helpers.js';

const ENV_KEY = { id: 'ASIAENVKEY000000001', secret: 'env-secret-0123456789abcdef', token: 'env-session-token-123' };
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

let fake: BedrockFake;
let engine: TestEngine;
let images: Listening;
let imageUrl: string;

beforeAll(async () => {
  fake = await startBedrockUpstream({ [ENV_KEY.id]: { secret: ENV_KEY.secret, sessionToken: ENV_KEY.token } });
  images = await startFake((_call, res) => {
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': PNG.length });
    res.end(PNG);
  });
  imageUrl = `${images.url}/cat.png`;
  const ep = { aws_bedrock_runtime_endpoint: fake.url };
  engine = await startTestEngine(
    {
      model_list: [
        {
          model_name: 'claude',
          litellm_params: { model: 'bedrock/converse/us.anthropic.claude-3-5-haiku-20241022-v1:0', ...ep },
        },
        {
          model_name: 'wrong-secret',
          litellm_params: {
            model: 'bedrock/anthropic.claude-3-haiku-20240307-v1:0',
            ...ep,
            aws_access_key_id: ENV_KEY.id,
            aws_secret_access_key: 'not-the-secret-value-987',
            aws_session_token: ENV_KEY.token,
          },
        },
        {
          // api_base is the endpoint too (LiteLLM's order: api_base, aws_bedrock_runtime_endpoint, env, AWS)
          model_name: 'claude-by-api-base',
          litellm_params: { model: 'bedrock/converse/us.anthropic.claude-3-5-haiku-20241022-v1:0', api_base: fake.url },
        },
        {
          model_name: 'titan',
          litellm_params: { model: 'bedrock/amazon.titan-embed-text-v2:0', ...ep },
          model_info: { mode: 'embedding' },
        },
        {
          model_name: 'cohere-embed',
          litellm_params: { model: 'bedrock/cohere.embed-english-v3', ...ep },
          model_info: { mode: 'embedding' },
        },
      ],
      environment_variables: {
        AWS_ACCESS_KEY_ID: ENV_KEY.id,
        AWS_SECRET_ACCESS_KEY: ENV_KEY.secret,
        AWS_SESSION_TOKEN: ENV_KEY.token,
        AWS_REGION: 'ap-southeast-2',
      },
    },
    { env: { AWS_EC2_METADATA_DISABLED: 'true' } },
  );
});
afterAll(async () => {
  await engine?.close();
  await fake?.close();
  await images?.close();
});
beforeEach(() => {
  fake.calls.length = 0;
  fake.scopes.length = 0;
});

const user = (content: OpenAI.ChatCompletionUserMessageParam['content']) => ({
  model: 'claude',
  messages: [{ role: 'user' as const, content }],
});

describe('Bedrock adapter', () => {
  it(
    'signs with the environment keys and session token, in AWS_REGION, ' +
      'with the converse/ prefix dropped from the id',
    async () => {
      fake.script({ type: 'text', text: 'hi there', usage: { input: 4, output: 2 } });
      const r = await engine.openai.chat.completions.create(user('hello'));
      expect(r.choices[0].message.content).toBe('hi there');
      expect(fake.calls[0].path).toBe('/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse');
      expect(fake.scopes[0]).toEqual({ accessKeyId: ENV_KEY.id, region: 'ap-southeast-2', service: 'bedrock' });
      expect(fake.calls[0].headers['x-amz-security-token']).toBe(ENV_KEY.token);
    },
  );

  it('api_base is the endpoint: a config meant for a local Bedrock never calls AWS', async () => {
    fake.script({ type: 'text', text: 'local bedrock', usage: { input: 1, output: 2 } });
    const r = await engine.openai.chat.completions.create({ ...user('hello'), model: 'claude-by-api-base' });
    expect(r.choices[0].message.content).toBe('local bedrock');
    expect(fake.calls).toHaveLength(1);
    expect(engine.logs.join('')).not.toMatch(/api_base.*(ignored|not used)/);
  });

  it('a wrong secret key is a 401 with AWS message, and the secret appears nowhere', async () => {
    const err = (await engine.openai.chat.completions
      .create({ ...user('x'), model: 'wrong-secret' })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(401);
    expect(err.message).toContain('signature we calculated does not match');
    expect(JSON.stringify(err.error)).not.toContain('not-the-secret-value-987');
    expect(engine.logs.join('\n')).not.toContain('not-the-secret-value-987');
  });

  it('an exception event in the middle of a stream reaches the client as an error after the text so far', async () => {
    fake.script({
      type: 'stream-exception',
      exceptionType: 'throttlingException',
      message: 'Too many tokens, slow down',
    });
    const s = await engine.openai.chat.completions.create({ ...user('x'), stream: true });
    let text = '';
    const err = await (async () => {
      for await (const c of s) text += c.choices[0]?.delta?.content ?? '';
    })().catch((e: unknown) => e as Error);
    expect(text).toBe('partial');
    expect(String(err)).toContain('Too many tokens, slow down');
  });

  it('a stream that stops before messageStop is an error, not a silent success', async () => {
    fake.script({ type: 'stream-cut' });
    const s = await engine.openai.chat.completions.create({ ...user('x'), stream: true });
    const err = await (async () => {
      for await (const _ of s) void _;
    })().catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
  });

  it('JSON mode forces a schema tool and returns its input as the message content', async () => {
    fake.script({
      type: 'tool_call',
      id: 'tooluse_1',
      name: 'json_tool_call',
      args: { answer: 42 },
      usage: { input: 5, output: 5 },
    });
    const schema = { type: 'object', properties: { answer: { type: 'number' } }, required: ['answer'] };
    const r = await engine.openai.chat.completions.create({
      ...user('x'),
      response_format: { type: 'json_schema', json_schema: { name: 'a', schema } },
    });
    expect(r.choices[0].finish_reason).toBe('stop');
    expect(r.choices[0].message.tool_calls).toBeUndefined();
    expect(JSON.parse(r.choices[0].message.content!)).toEqual({ answer: 42 });
    expect(fake.calls[0].body.toolConfig).toEqual({
      tools: [
        {
          toolSpec: {
            name: 'json_tool_call',
            description: 'Respond with a JSON object.',
            inputSchema: { json: schema },
          },
        },
      ],
      toolChoice: { tool: { name: 'json_tool_call' } },
    });
    const s = await engine.openai.chat.completions.create({
      ...user('x'),
      stream: true,
      response_format: { type: 'json_object' },
    });
    let text = '';
    for await (const c of s) text += c.choices[0]?.delta?.content ?? '';
    expect(JSON.parse(text)).toEqual({ answer: 42 });
  });

  it('downloads an image URL and sends its bytes', async () => {
    fake.script({ type: 'text', text: 'a pixel', usage: { input: 4, output: 2 } });
    await engine.openai.chat.completions.create(
      user([
        { type: 'text', text: 'what?' },
        { type: 'image_url', image_url: { url: imageUrl } },
      ]),
    );
    expect(fake.calls[0].body.messages[0].content[1]).toEqual({
      image: { format: 'png', source: { bytes: PNG.toString('base64') } },
    });
  });

  it.each([
    [408, 'ModelTimeoutException', 'Model has timed out', 408],
    [400, 'ValidationException', 'Malformed input request: extraneous key', 400],
    [424, 'ModelErrorException', 'The model returned an error', 500],
    [503, 'ModelNotReadyException', 'Model is not ready', 503],
  ])('HTTP %i %s (%s) becomes HTTP %i', async (status, errorType, message, want) => {
    fake.script({ type: 'raw-error', status, errorType, message });
    const err = (await engine.openai.chat.completions.create(user('x')).catch((e: unknown) => e)) as InstanceType<
      typeof OpenAI.APIError
    >;
    expect(err.status).toBe(want);
    expect(err.message).toContain(message);
  });

  it('embeds with Titan (one input) and Cohere (a batch), and refuses a Titan batch with a clear 400', async () => {
    const t = await engine.openai.embeddings.create({ model: 'titan', input: 'hello world', dimensions: 3 });
    expect(t.data[0].embedding).toHaveLength(3);
    expect(t.usage.prompt_tokens).toBe(2);
    expect(fake.calls[0].path).toBe('/model/amazon.titan-embed-text-v2%3A0/invoke');
    expect(fake.calls[0].body).toEqual({ inputText: 'hello world', dimensions: 3 });
    const c = await engine.openai.embeddings.create({ model: 'cohere-embed', input: ['a', 'bb'] });
    expect(c.data.map((d) => d.embedding.length)).toEqual([4, 4]);
    expect(fake.calls[1].body).toEqual({ texts: ['a', 'bb'], input_type: 'search_document' });
    const err = (await engine.openai.embeddings
      .create({ model: 'titan', input: ['a', 'b'] })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/one text per request/);
  });
});

describe('event-stream framing', () => {
  it('decodes frames fed one byte at a time, and rejects a frame with a bad CRC', async () => {
    const { EventStreamCodec } = await import('@smithy/eventstream-codec');
    const { fromUtf8, toUtf8 } = await import('@smithy/util-utf8');
    const codec = new EventStreamCodec(toUtf8, fromUtf8);
    const msg = (t: string, p: unknown) =>
      codec.encode({
        headers: { ':event-type': { type: 'string', value: t }, ':message-type': { type: 'string', value: 'event' } },
        body: fromUtf8(JSON.stringify(p)),
      });
    const bytes = Buffer.concat([
      msg('messageStart', { role: 'assistant' }),
      msg('contentBlockDelta', { delta: { text: 'hé' } }),
    ]);
    const d = new EventStreamDecoder();
    const got = [];
    for (const b of bytes) got.push(...d.push(Uint8Array.of(b)));
    expect(got.map((e) => [e.eventType, JSON.parse(e.payload)])).toEqual([
      ['messageStart', { role: 'assistant' }],
      ['contentBlockDelta', { delta: { text: 'hé' } }],
    ]);
    expect(d.pending).toBe(0);
    const bad = Buffer.from(msg('messageStart', {}));
    bad[bad.length - 1] ^= 0xff;
    expect(() => new EventStreamDecoder().push(bad)).toThrow();
  });
});
