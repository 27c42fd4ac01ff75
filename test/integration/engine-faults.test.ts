import http from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { refusedUrl } from '../fakes/fake-server.js';
import { type FakeUpstream, startOpenAIUpstream } from '../fakes/openai-upstream.js';
import { post, startTestEngine, type TestEngine } from './engine-helpers.js';

let up: FakeUpstream;
let engine: TestEngine;

beforeAll(async () => {
  up = await startOpenAIUpstream();
  engine = await startTestEngine({
    model_list: [
      { model_name: 'm', litellm_params: { model: 'openai/m', api_base: `${up.url}/v1`, timeout: 1 } },
      { model_name: 'dead', litellm_params: { model: 'openai/m', api_base: `${await refusedUrl()}/v1` } },
      { model_name: 'demo', litellm_params: { model: 'openai/gpt-4o', mock_response: 'hi' } },
      // answer 200 with an error object instead of a completion (see 'a 200 answer that carries an error object')
      { model_name: 'coded', litellm_params: { model: 'openai/x', api_base: `${up.url}/v1` } },
      { model_name: 'plain', litellm_params: { model: 'openai/x', api_base: `${up.url}/v1` } },
      { model_name: 'backup', litellm_params: { model: 'openai/x', mock_response: 'from the backup' } },
    ],
    router_settings: { fallbacks: [{ plain: ['backup'] }] },
    general_settings: { max_request_size_mb: 0.01 },
  });
});
afterAll(async () => {
  await engine?.close();
  await up?.close();
});
beforeEach(() => {
  up.setFault(undefined);
  up.setOptions({ chunkIntervalMs: 0, repeat: 1 });
});

const chat = (extra: Record<string, unknown> = {}) => ({
  model: 'm',
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
});

describe('bad input', () => {
  it('invalid JSON: 400', async () => {
    const r = await post(`${engine.url}/v1/chat/completions`, '{"model": "m", ');
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });
  });

  it('a JSON body that is not an object: 400', async () => {
    expect((await post(`${engine.url}/v1/chat/completions`, '[1,2]')).status).toBe(400);
  });

  it('missing model or messages: 400 with param', async () => {
    const a = await post(`${engine.url}/v1/chat/completions`, { messages: [] });
    expect(a.status).toBe(400);
    expect(a.json.error.param).toBe('model');
    const b = await post(`${engine.url}/v1/chat/completions`, { model: 'm' });
    expect(b.status).toBe(400);
    expect(b.json.error.param).toBe('messages');
    const c = await post(`${engine.url}/v1/embeddings`, { model: 'm' });
    expect(c.json.error.param).toBe('input');
    const d = await post(`${engine.url}/v1/completions`, { model: 'm' });
    expect(d.json.error.param).toBe('prompt');
  });

  it('body over max_request_size_mb: 413 from Content-Length alone, without reading the rest', async () => {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        `${engine.url}/v1/chat/completions`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(50 * 1024 * 1024) } },
        (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        },
      );
      req.on('error', reject);
      req.write('{"model":"m","messages":[');
      // never send the remaining 50 MB
    });
    expect(status).toBe(413);
    expect(JSON.parse(body).error.code).toBe('request_too_large');
  });

  it('chunked body over the limit: 413 once the limit is passed', async () => {
    const big = JSON.stringify(chat({ pad: 'x'.repeat(20_000) }));
    const r = await fetch(`${engine.url}/v1/chat/completions`, {
      method: 'POST',
      body: new Blob([big]).stream(),
      duplex: 'half',
    } as RequestInit).catch((e) => e);
    if (r instanceof Error) return; // the connection may close while the client is still sending: also fine
    expect(r.status).toBe(413);
  });

  it('a model that is not a string is called invalid, not missing', async () => {
    const r = await post(`${engine.url}/v1/chat/completions`, { model: 5, messages: [{ role: 'user', content: 'x' }] });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ param: 'model', code: 'invalid_type' });
    expect(r.json.error.message).not.toMatch(/missing/i);
    const missing = await post(`${engine.url}/chat/completions`, { messages: [{ role: 'user', content: 'x' }] });
    expect(missing.json.error).toMatchObject({ param: 'model', code: 'missing_required_parameter' });
  });

  it('an empty messages list and a stream flag that is not a boolean are 400s naming the parameter', async () => {
    const empty = await post(`${engine.url}/v1/chat/completions`, { model: 'demo', messages: [] });
    expect(empty.status).toBe(400);
    expect(empty.json.error).toMatchObject({ param: 'messages', code: 'invalid_value', type: 'invalid_request_error' });
    const st = await post(`${engine.url}/v1/chat/completions`, {
      model: 'demo',
      stream: 'yes',
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(st.status).toBe(400);
    expect(st.json.error).toMatchObject({ param: 'stream', code: 'invalid_type' });
    expect(st.json.error.message).toContain('"yes"');
  });

  it('unknown route: 404, wrong method: 405', async () => {
    expect((await fetch(`${engine.url}/v1/nope`)).status).toBe(404);
    expect((await fetch(`${engine.url}/v1/chat/completions`)).status).toBe(405);
  });
});

describe('upstream faults', () => {
  it('refused: 502', async () => {
    const r = await post(`${engine.url}/v1/chat/completions`, chat({ model: 'dead' }));
    expect(r.status).toBe(502);
    expect(r.json.error.message).toContain('connection refused');
  });

  it('reset: 502', async () => {
    up.setFault({ kind: 'reset' });
    const r = await post(`${engine.url}/v1/chat/completions`, chat());
    expect(r.status).toBe(502);
  });

  it('over its timeout: 408 (as LiteLLM), not a hang (non-stream and stream)', async () => {
    up.setFault({ kind: 'hang' });
    const t0 = Date.now();
    const r = await post(`${engine.url}/v1/chat/completions`, chat());
    expect(r.status).toBe(408);
    expect(r.json.error.code).toBe('timeout');
    const s = await post(`${engine.url}/v1/chat/completions`, chat({ stream: true }));
    expect(s.status).toBe(408);
    expect(Date.now() - t0).toBeLessThan(4000);
  });

  it(
    'a stream that stalls after its role-only opening chunk: ' + '408 within the timeout (no token reached the client)',
    async () => {
      up.setOptions({ chunkIntervalMs: 1500 });
      const t0 = Date.now();
      const r = await post(`${engine.url}/v1/chat/completions`, chat({ stream: true }));
      expect(r.status).toBe(408);
      expect(r.json.error.message).toMatch(/OpenAI sent no first token within the stream timeout/);
      expect(Date.now() - t0).toBeLessThan(3000);
    },
  );

  it('non-JSON answer: 502', async () => {
    up.setFault({ kind: 'non-json' });
    const r = await post(`${engine.url}/v1/chat/completions`, chat());
    expect(r.status).toBe(502);
    expect(r.json.error.code).toBe('bad_upstream_response');
  });

  it('broken stream, error event, cut stream: an error event for the client, the engine stays up', async () => {
    up.setOptions({ chunkIntervalMs: 5 }); // let the first chunks reach the engine before the fault
    for (const fault of [
      { kind: 'broken-stream' },
      { kind: 'error-event' },
      { kind: 'cut-stream', after: 2 },
    ] as const) {
      up.setFault(fault);
      const client = new OpenAI({ baseURL: `${engine.url}/v1`, apiKey: 'x', maxRetries: 0 });
      // before the first token the break is an error status (it could fall back); after it, an error event
      const err = await (async () => {
        const stream = await client.chat.completions.create(chat({ stream: true }) as any);
        for await (const _ of stream as any) {
          /* drain */
        }
      })().catch((e) => e);
      expect(err, fault.kind).toBeInstanceOf(Error);
    }
    up.setFault(undefined);
    const ok = await post(`${engine.url}/v1/chat/completions`, chat());
    expect(ok.status).toBe(200);
  });
});

describe('a 200 answer that carries an error object (as OpenRouter and some proxies send)', () => {
  const ask = (model: string, extra: Record<string, unknown> = {}) =>
    post(`${engine.url}/v1/chat/completions`, { model, messages: [{ role: 'user', content: 'x' }], ...extra });

  it('keeps the provider message and the class its code names', async () => {
    up.setFault({ kind: 'status', status: 200, body: { error: { message: 'Provider returned error', code: 429 } } });
    const r = await ask('coded');
    expect(r.status).toBe(429);
    expect(r.json.error.type).toBe('rate_limit_error');
    expect(r.json.error.message).toContain('Provider returned error');
  });

  it('without a code: a 502 with the message, and fallbacks still apply', async () => {
    up.setFault({ kind: 'status', status: 200, body: { error: 'model is loading' } });
    const r = await ask('plain');
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toBe('from the backup');
    const direct = await ask('plain', { disable_fallbacks: true });
    expect(direct.status).toBe(502);
    expect(direct.json.error.message).toContain('model is loading');
  });
});

describe('client goes away', () => {
  it('mid-stream: the upstream request is aborted and no socket leaks', async () => {
    up.setOptions({ chunkIntervalMs: 20, repeat: 200 });
    const abortedBefore = up.aborted;
    const socketsBefore = up.openSockets(); // idle keep-alive sockets of the engine's pool
    const ac = new AbortController();
    const res = await fetch(`${engine.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify(chat({ stream: true })),
      signal: ac.signal,
      headers: { connection: 'close' },
    });
    const reader = res.body!.getReader();
    await reader.read();
    await reader.read();
    ac.abort();
    // the engine must abort its upstream request: the fake sees the close
    const t0 = Date.now();
    while (up.aborted === abortedBefore && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
    expect(up.aborted).toBe(abortedBefore + 1);
    const t1 = Date.now();
    while (up.openSockets() > socketsBefore && Date.now() - t1 < 3000) await new Promise((r) => setTimeout(r, 20));
    expect(up.openSockets()).toBeLessThanOrEqual(socketsBefore); // the stream's socket is gone, not parked
    expect((await post(`${engine.url}/v1/chat/completions`, chat())).status).toBe(200);
  });

  it('before a non-stream answer: the upstream request is aborted too', async () => {
    up.setFault({ kind: 'delay', ms: 400 });
    const abortedBefore = up.aborted;
    const ac = new AbortController();
    const p = fetch(`${engine.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify(chat()),
      signal: ac.signal,
    }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    ac.abort();
    await p;
    const t0 = Date.now();
    while (up.aborted === abortedBefore && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
    expect(up.aborted).toBe(abortedBefore + 1);
  });
});
