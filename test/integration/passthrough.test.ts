/**
 * Pass-through routes: /anthropic, /openai, /azure, /bedrock and /vertex_ai forward the request as it came to
 * the provider (base URLs and credentials from the environment, pointed at loopback fakes), the caller is
 * authenticated by the engine and its own credentials never go upstream, and answers come back as sent,
 * streams chunk by chunk. general_settings.pass_through_endpoints adds routes of the config's own.
 */
import type http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadLiteLLMConfig } from '../../src/config/litellm/load.js';
import { type BedrockFake, startBedrockUpstream } from '../fakes/bedrock-upstream.js';
import { type RecordingFake, sendJson, startFake } from '../fakes/fake-server.js';
import { type FakeGoogleToken, startFakeGoogleToken } from '../fakes/google-token.js';
import { startTestEngine, type TestEngine } from './engine-helpers.js';

const MASTER = 'sk-master-pass-8642';
const KEYS = {
  ANTHROPIC_API_KEY: 'sk-ant-upstream-1111',
  OPENAI_API_KEY: 'sk-openai-upstream-2222',
  AZURE_API_KEY: 'azure-upstream-3333',
};
const AWS = { AKIDPASSTHROUGH: { secret: 'pass-through-secret-key' } };

let fake: RecordingFake;
let bedrock: BedrockFake;
let google: FakeGoogleToken;
let engine: TestEngine;
/** released by a test to let the streaming fake write the rest of its answer */
let release: () => void = () => {};

/** The fake provider: answers by path, recording everything. */
function answer(call: { path: string; method: string }, res: http.ServerResponse): void | Promise<void> {
  if (call.path === '/v1/messages') return streamInTwo(res);
  if (call.path.startsWith('/v1/rate-limited'))
    return sendJson(
      res,
      429,
      { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } },
      {
        'retry-after': '7',
      },
    );
  sendJson(res, 200, { ok: true, path: call.path, method: call.method });
}

/** An SSE answer whose second half waits for the test: a buffering proxy would never deliver the first. */
async function streamInTwo(res: http.ServerResponse): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'request-id': 'req_upstream_1' });
  res.write('event: message_start\ndata: {"type":"message_start"}\n\n');
  await new Promise<void>((r) => {
    release = r;
  });
  res.end('event: message_stop\ndata: {"type":"message_stop"}\n\n');
}

beforeAll(async () => {
  fake = await startFake((call, res) => answer(call, res));
  bedrock = await startBedrockUpstream(AWS);
  google = await startFakeGoogleToken();
  engine = await startTestEngine(
    {
      model_list: [],
      general_settings: {
        master_key: MASTER,
        pass_through_endpoints: [
          {
            path: '/bria',
            target: `${fake.url}/base`,
            headers: { Authorization: 'Bearer bria-secret', 'content-type': 'application/json' },
            include_subpath: true,
          },
          { path: '/exact', target: `${fake.url}/only`, headers: { 'x-custom': 'one' } },
          { path: '/fwd', target: `${fake.url}/fwd`, forward_headers: true },
        ],
      },
    },
    {
      env: {
        ...KEYS,
        ANTHROPIC_API_BASE: fake.url,
        OPENAI_API_BASE: `${fake.url}/v1`,
        AZURE_API_BASE: `${fake.url}/azure-resource`,
        AWS_BEDROCK_RUNTIME_ENDPOINT: bedrock.url,
        AWS_ACCESS_KEY_ID: 'AKIDPASSTHROUGH',
        AWS_SECRET_ACCESS_KEY: AWS.AKIDPASSTHROUGH.secret,
        AWS_REGION: 'eu-west-1',
        VERTEXAI_API_BASE: fake.url,
        VERTEXAI_CREDENTIALS: JSON.stringify(google.serviceAccount),
      },
    },
  );
}, 60_000); // an RSA key pair and an engine: slow on a busy machine
afterAll(async () => {
  release();
  await engine?.close();
  await fake?.close();
  await bedrock?.close();
  await google?.close();
});
beforeEach(() => {
  fake.calls.length = 0;
});

const call = (path: string, init: RequestInit = {}) => fetch(engine.url + path, init);

describe('provider pass-through routes', () => {
  it('/anthropic: body and client headers as sent, the engine key added; the stream comes unbuffered', async () => {
    const body = '{"model":"claude-x","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"hi"}]}';
    const r = await call('/anthropic/v1/messages', {
      method: 'POST',
      headers: {
        'x-api-key': MASTER,
        'anthropic-version': '2023-06-01',
        'anthropic-beta': 'prompt-caching-2024-07-31',
        'content-type': 'application/json',
      },
      body,
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/event-stream');
    expect(r.headers.get('request-id')).toBe('req_upstream_1');
    const reader = r.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    // the upstream is still holding its second half: the first reached the client on its own
    expect(first).toBe('event: message_start\ndata: {"type":"message_start"}\n\n');
    release();
    let rest = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toBe('event: message_stop\ndata: {"type":"message_stop"}\n\n');
    const up = fake.calls[0];
    expect(up.path).toBe('/v1/messages');
    expect(up.raw).toBe(body);
    expect(up.headers['x-api-key']).toBe(KEYS.ANTHROPIC_API_KEY);
    expect(up.headers['anthropic-beta']).toBe('prompt-caching-2024-07-31');
    expect(up.headers['anthropic-version']).toBe('2023-06-01');
    expect(JSON.stringify(up.headers)).not.toContain(MASTER);
  });

  it('without a valid key: 401 and nothing goes upstream', async () => {
    for (const headers of [{}, { authorization: 'Bearer sk-wrong' }]) {
      const r = await call('/openai/v1/models', { headers });
      expect(r.status).toBe(401);
    }
    expect(fake.calls).toHaveLength(0);
  });

  it('a virtual key is accepted like the master key, and not forwarded either', async () => {
    const gen = await call('/key/generate', {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
      body: '{}',
    });
    const { key } = (await gen.json()) as { key: string };
    const r = await call('/openai/v1/models', { headers: { authorization: `Bearer ${key}` } });
    expect(r.status).toBe(200);
    expect(fake.calls[0].headers.authorization).toBe(`Bearer ${KEYS.OPENAI_API_KEY}`);
  });

  it('/openai: the engine key replaces the caller bearer; one /v1 when the base ends in /v1; query kept', async () => {
    const r = await call('/openai/v1/models?limit=2', { headers: { authorization: `Bearer ${MASTER}` } });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ ok: true, path: '/v1/models?limit=2', method: 'GET' });
    expect(fake.calls[0].headers.authorization).toBe(`Bearer ${KEYS.OPENAI_API_KEY}`);
  });

  it('/azure: api-key from AZURE_API_KEY (the caller api-key is dropped), under AZURE_API_BASE', async () => {
    const r = await call('/azure/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21', {
      method: 'POST',
      headers: { 'api-key': MASTER, 'content-type': 'application/json' },
      body: '{"messages":[]}',
    });
    expect(r.status).toBe(200);
    const up = fake.calls[0];
    expect(up.path).toBe('/azure-resource/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21');
    expect(up.headers['api-key']).toBe(KEYS.AZURE_API_KEY);
    expect(up.raw).toBe('{"messages":[]}');
  });

  it('upstream errors come back as the provider sent them (status, body, retry-after)', async () => {
    const r = await call('/anthropic/v1/rate-limited', {
      method: 'POST',
      headers: { 'x-api-key': MASTER },
      body: '{}',
    });
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('7');
    expect(await r.json()).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } });
  });

  it('/bedrock: SigV4-signed with the environment credentials (the fake recomputes the signature)', async () => {
    bedrock.scopes.length = 0;
    bedrock.script({ type: 'text', text: 'signed and served', usage: { input: 3, output: 4 } });
    const body = JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'hi' }] }] });
    const r = await call(`/bedrock/model/${encodeURIComponent('anthropic.claude-3-haiku-20240307-v1:0')}/converse`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
      body,
    });
    const answer = (await r.json()) as { output?: { message?: { content?: { text?: string }[] } } };
    expect(r.status).toBe(200);
    expect(answer.output?.message?.content?.[0]?.text).toBe('signed and served');
    expect(bedrock.scopes[0]).toEqual({ accessKeyId: 'AKIDPASSTHROUGH', region: 'eu-west-1', service: 'bedrock' });
    expect(bedrock.calls.at(-1)?.raw).toBe(body);
  });

  it('/vertex_ai: a Google access token from VERTEXAI_CREDENTIALS, the path as sent', async () => {
    const path = '/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent';
    const r = await call(`/vertex_ai${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
      body: '{"contents":[]}',
    });
    expect(r.status).toBe(200);
    const up = fake.calls[0];
    expect(up.path).toBe(path);
    expect(google.issued).toHaveLength(1);
    expect(up.headers.authorization).toBe(`Bearer ${google.issued[0]}`);
  });
});

describe('general_settings.pass_through_endpoints', () => {
  it('is a supported key; a bad entry stops the config, naming the key', () => {
    const ok = loadLiteLLMConfig(
      {
        kind: 'object',
        label: 'pt.yaml',
        value: { general_settings: { pass_through_endpoints: [{ path: '/x', target: 'https://x.example' }] } },
      },
      { env: {} },
    );
    expect(ok.warnings.join('\n')).not.toContain('pass_through_endpoints');
    const bad = () =>
      loadLiteLLMConfig(
        {
          kind: 'object',
          label: 'pt.yaml',
          value: { general_settings: { pass_through_endpoints: [{ path: '/x', target: 'not a url' }] } },
        },
        { env: {} },
      );
    expect(bad).toThrow('pt.yaml: general_settings.pass_through_endpoints[0].target: expected an http(s) URL');
  });

  it('GET /routes lists the provider and configured routes', async () => {
    const { routes } = (await (await call('/routes')).json()) as { routes: { path: string; methods: string[] }[] };
    const paths = new Map(routes.map((x) => [x.path, x.methods]));
    for (const p of ['/anthropic/{path}', '/openai/{path}', '/azure/{path}', '/bedrock/{path}', '/vertex_ai/{path}'])
      expect(paths.get(p), p).toContain('POST');
    expect(paths.get('/bria/{path}')).toContain('GET');
    expect(paths.get('/exact')).toContain('GET');
  });

  it('path -> target with the configured headers; sub-paths with include_subpath; no client headers', async () => {
    const r = await call('/bria/v1/text-to-image?seed=4', {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER}`, 'x-trace': 'abc', 'content-type': 'application/json' },
      body: '{"prompt":"a cat"}',
    });
    expect(r.status).toBe(200);
    const up = fake.calls[0];
    expect(up.path).toBe('/base/v1/text-to-image?seed=4');
    expect(up.headers.authorization).toBe('Bearer bria-secret');
    expect(up.headers['x-trace']).toBeUndefined();
    expect(up.raw).toBe('{"prompt":"a cat"}');
  });

  it('without include_subpath only the path itself is served', async () => {
    const ok = await call('/exact', { headers: { authorization: `Bearer ${MASTER}` } });
    expect(ok.status).toBe(200);
    expect(fake.calls[0].path).toBe('/only');
    expect(fake.calls[0].headers['x-custom']).toBe('one');
    const sub = await call('/exact/more', { headers: { authorization: `Bearer ${MASTER}` } });
    expect(sub.status).toBe(404);
    expect(fake.calls).toHaveLength(1);
  });

  it('forward_headers: the client headers go along, its credentials still do not', async () => {
    const r = await call('/fwd', { headers: { authorization: `Bearer ${MASTER}`, 'x-trace': 'abc' } });
    expect(r.status).toBe(200);
    expect(fake.calls[0].headers['x-trace']).toBe('abc');
    expect(fake.calls[0].headers.authorization).toBeUndefined();
  });
});
