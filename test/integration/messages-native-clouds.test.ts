/**
 * /v1/messages untranslated to Claude on Bedrock (InvokeModel / InvokeModelWithResponseStream / CountTokens,
 * SigV4 checked by the fake) and on Vertex AI (rawPredict / streamRawPredict / count-tokens, a Google token):
 * the client's request becomes the cloud's Messages body (version in the body, model in the URL, betas kept),
 * and the answer is Anthropic's, as the cloud sent it.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type BedrockFake, startBedrockUpstream } from '../fakes/bedrock-upstream.js';
import { type RecordingFake, sendJson, sendSse, startFake } from '../fakes/fake-server.js';
import { type FakeGoogleToken, startFakeGoogleToken } from '../fakes/google-token.js';
import { CLAUDE_CODE_HEADERS, FIRST_TURN, SERVER_TOOLS } from '../fixtures/claude-code.js';
import { startTestEngine, type TestEngine } from './engine-helpers.js';

const MASTER = 'sk-master-clouds-9753';
const AWS = { AKIDCLAUDE: { secret: 'claude-on-bedrock-secret' } };
const VERTEX_PATH = '/v1/projects/p1/locations/us-east5/publishers/anthropic/models';
let bedrock: BedrockFake;
let vertex: RecordingFake;
let google: FakeGoogleToken;
let engine: TestEngine;
let client: Anthropic;

const VERTEX_STREAM: [string, unknown][] = [
  [
    'message_start',
    {
      type: 'message_start',
      message: {
        id: 'msg_vrtx',
        type: 'message',
        role: 'assistant',
        content: [],
        model: 'claude-sonnet-4-5',
        usage: { input_tokens: 8, output_tokens: 1 },
      },
    },
  ],
  ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
  [
    'content_block_delta',
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'from Vertex' } },
  ],
  ['content_block_stop', { type: 'content_block_stop', index: 0 }],
  [
    'message_delta',
    { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 3 } },
  ],
  ['message_stop', { type: 'message_stop' }],
];

beforeAll(async () => {
  bedrock = await startBedrockUpstream(AWS);
  google = await startFakeGoogleToken('p1');
  vertex = await startFake((call, res) => {
    if (call.headers.authorization !== `Bearer ${google.issued.at(-1)}`)
      return sendJson(res, 401, { error: { code: 401 } });
    if (call.path === `${VERTEX_PATH}/count-tokens:rawPredict`) return sendJson(res, 200, { input_tokens: 42 });
    if (call.path === `${VERTEX_PATH}/claude-sonnet-4-5@20250929:streamRawPredict`) return sendSse(res, VERTEX_STREAM);
    sendJson(res, 404, { error: { code: 404, message: `no route ${call.path}` } });
  });
  engine = await startTestEngine(
    {
      model_list: [
        {
          model_name: 'claude-bedrock',
          litellm_params: {
            model: 'bedrock/us.anthropic.claude-3-haiku-20240307-v1:0',
            api_base: bedrock.url,
            aws_access_key_id: 'AKIDCLAUDE',
            aws_secret_access_key: AWS.AKIDCLAUDE.secret,
            aws_region_name: 'us-west-2',
          },
        },
        {
          model_name: 'claude-instant',
          litellm_params: {
            model: 'bedrock/anthropic.claude-instant-v1',
            api_base: bedrock.url,
            aws_access_key_id: 'AKIDCLAUDE',
            aws_secret_access_key: AWS.AKIDCLAUDE.secret,
          },
        },
        {
          model_name: 'nova',
          litellm_params: {
            model: 'bedrock/amazon.nova-pro-v1:0',
            api_base: bedrock.url,
            aws_access_key_id: 'AKIDCLAUDE',
            aws_secret_access_key: AWS.AKIDCLAUDE.secret,
          },
        },
        {
          model_name: 'claude-vertex',
          litellm_params: {
            model: 'vertex_ai/claude-sonnet-4-5@20250929',
            vertex_project: 'p1',
            vertex_location: 'us-east5',
            api_base: vertex.url,
            vertex_credentials: JSON.stringify(google.serviceAccount),
          },
        },
      ],
      router_settings: { num_retries: 0, disable_cooldowns: true },
      general_settings: { master_key: MASTER },
    },
    { apiKey: MASTER },
  );
  client = new Anthropic({ baseURL: engine.url, apiKey: MASTER, maxRetries: 0, timeout: 20_000 });
}, 60_000); // an RSA key pair and an engine: slow on a busy machine
afterAll(async () => {
  await engine?.close();
  await bedrock?.close();
  await vertex?.close();
  await google?.close();
});
beforeEach(() => {
  bedrock.calls.length = 0;
  vertex.calls.length = 0;
});

const { model: _m, stream: _s, ...claudeCodeRest } = FIRST_TURN;
const BETAS = CLAUDE_CODE_HEADERS['anthropic-beta'].split(',');

describe('Claude on Bedrock', () => {
  it('streamed: InvokeModelWithResponseStream with the Messages body; the SDK reads the events', async () => {
    bedrock.script({ type: 'text', text: 'hello from Bedrock', usage: { input: 11, output: 4 } });
    const s = client.messages.stream({ ...FIRST_TURN, model: 'claude-bedrock' } as Anthropic.MessageStreamParams, {
      headers: { 'anthropic-beta': CLAUDE_CODE_HEADERS['anthropic-beta'] },
    });
    const m = await s.finalMessage();
    expect(m.content).toEqual([{ type: 'text', text: 'hello from Bedrock' }]);
    expect(m.usage).toMatchObject({ input_tokens: 11, output_tokens: 4 });
    const up = bedrock.calls[0];
    expect(up.path).toBe(
      `/model/${encodeURIComponent('us.anthropic.claude-3-haiku-20240307-v1:0')}/invoke-with-response-stream`,
    );
    expect(up.body).toEqual({ ...claudeCodeRest, anthropic_version: 'bedrock-2023-05-31', anthropic_beta: BETAS });
  });

  it('the stream is Anthropic SSE made from the chunk frames, Bedrock metrics kept', async () => {
    bedrock.script({ type: 'text', text: 'a b', usage: { input: 2, output: 2 } });
    const r = await fetch(`${engine.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': MASTER, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'claude-bedrock',
        max_tokens: 9,
        stream: true,
        messages: [{ role: 'user', content: 'x' }],
      }),
    });
    const text = await r.text();
    const names = [...text.matchAll(/^event: (\w+)$/gm)].map((x) => x[1]);
    expect(names).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(text).toContain('"amazon-bedrock-invocationMetrics":{"inputTokenCount":2,"outputTokenCount":2}');
  });

  it('not streamed: InvokeModel, the answer as Bedrock sent it', async () => {
    bedrock.script({ type: 'text', text: 'plain answer', usage: { input: 5, output: 2 } });
    const m = await client.messages.create({
      model: 'claude-bedrock',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(m).toMatchObject({
      id: 'msg_bdrk_01',
      content: [{ type: 'text', text: 'plain answer' }],
      usage: { input_tokens: 5 },
    });
    expect(bedrock.calls[0].path).toMatch(/\/invoke$/);
  });

  it('countTokens: Bedrock CountTokens with the InvokeModel body, base64', async () => {
    const r = await client.messages.countTokens({
      model: 'claude-bedrock',
      messages: [{ role: 'user', content: 'count me' }],
    });
    expect(r.input_tokens).toBe(
      Math.ceil(JSON.stringify([undefined, [{ role: 'user', content: 'count me' }]]).length / 4),
    );
    // asked with the foundation model's id: CountTokens refuses cross-region profile ids
    expect(bedrock.calls[0].path).toBe(
      `/model/${encodeURIComponent('anthropic.claude-3-haiku-20240307-v1:0')}/count-tokens`,
    );
  });

  it('countTokens for a model CountTokens does not cover: the estimate, not an error', async () => {
    const r = await client.messages.countTokens({
      model: 'claude-instant',
      messages: [{ role: 'user', content: 'a b c' }],
    });
    expect(r.input_tokens).toBeGreaterThan(2);
    expect(bedrock.calls).toHaveLength(1);
  });

  it('a Bedrock model that is not Claude gets the translation: a server tool is a 400 naming it', async () => {
    const e = await client.messages
      .create({
        model: 'nova',
        max_tokens: 50,
        tools: SERVER_TOOLS.tools as Anthropic.ToolUnion[],
        messages: [{ role: 'user', content: 'x' }],
      })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Anthropic.BadRequestError);
    expect((e as Error).message).toContain('web_search_20250305');
    expect((e as Error).message).toContain('Bedrock');
    expect(bedrock.calls).toHaveLength(0);
  });
});

describe('Claude on Vertex AI', () => {
  it('streamRawPredict under the anthropic publisher, version in the body, a Google token', async () => {
    const r = await fetch(`${engine.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': MASTER, 'content-type': 'application/json', 'anthropic-beta': 'context-1m-2025-08-07' },
      body: JSON.stringify({ ...FIRST_TURN, model: 'claude-vertex' }),
    });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe(VERTEX_STREAM.map(([n, d]) => `event: ${n}\ndata: ${JSON.stringify(d)}\n\n`).join(''));
    const up = vertex.calls[0];
    expect(up.body).toEqual({ ...claudeCodeRest, stream: true, anthropic_version: 'vertex-2023-10-16' });
    expect(up.headers['anthropic-beta']).toBe('context-1m-2025-08-07');
  });

  it('countTokens: the count-tokens model, with the model id in the body', async () => {
    const r = await client.messages.countTokens({
      model: 'claude-vertex',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(r.input_tokens).toBe(42);
    expect(vertex.calls[0].body).toEqual({
      model: 'claude-sonnet-4-5@20250929',
      messages: [{ role: 'user', content: 'hi' }],
    });
  });
});
