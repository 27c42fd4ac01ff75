import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, startTestEngine, type TestEngine } from './engine-helpers.js';

let upstream: http.Server;
let engine: TestEngine;

beforeAll(async () => {
  // answers 200 with an error object instead of a completion, as OpenRouter and some proxies do
  upstream = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const body = req.url!.includes('/plain/') ? { error: 'model is loading' } : { error: { message: 'Provider returned error', code: 429 } };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as AddressInfo).port;
  engine = await startTestEngine({
    model_list: [
      { model_name: 'coded', litellm_params: { model: 'openai/x', api_base: `http://127.0.0.1:${port}/v1` } },
      { model_name: 'plain', litellm_params: { model: 'openai/x', api_base: `http://127.0.0.1:${port}/plain/v1` } },
      { model_name: 'backup', litellm_params: { model: 'openai/x', mock_response: 'from the backup' } },
    ],
    router_settings: { fallbacks: [{ plain: ['backup'] }] },
  });
});
afterAll(async () => {
  await engine?.close();
  await new Promise((r) => upstream.close(r));
});

const ask = (model: string) => post(`${engine.url}/v1/chat/completions`, { model, messages: [{ role: 'user', content: 'x' }] });

describe('a 200 answer that carries an error object', () => {
  it('keeps the provider message and the class its code names', async () => {
    const r = await ask('coded');
    expect(r.status).toBe(429);
    expect(r.json.error.type).toBe('rate_limit_error');
    expect(r.json.error.message).toContain('Provider returned error');
  });

  it('without a code: a 502 with the message, and fallbacks still apply', async () => {
    const r = await ask('plain');
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toBe('from the backup');
    const direct = await post(`${engine.url}/v1/chat/completions`, { model: 'plain', disable_fallbacks: true, messages: [{ role: 'user', content: 'x' }] });
    expect(direct.status).toBe(502);
    expect(direct.json.error.message).toContain('model is loading');
  });
});
