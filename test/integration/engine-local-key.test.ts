import http from 'node:http';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCAL_KEY_ENV } from '../../src/engine/child-contract.js';
import { engineReady } from '../../src/supervisor/engine.js';
import { startTestEngine, type TestEngine } from './engine-helpers.js';

const CONFIG = { model_list: [{ model_name: 'mock', litellm_params: { model: 'openai/x', mock_response: 'hi' } }] };
const LOCAL = 'sk-kubiya-local-test-1234567890';

let engine: TestEngine | undefined;
let squatter: http.Server | undefined;
afterEach(async () => {
  await engine?.close();
  await new Promise((r) => (squatter ? squatter.close(r) : r(undefined)));
  engine = squatter = undefined;
});

const chat = (url: string, key?: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ model: 'mock', messages: [{ role: 'user', content: 'x' }] }),
  });

// The supervisor hands its engine a per-run key: the worker's. No other local user may call through it.
describe('a supervised engine (KUBIYA_LOCAL_KEY set) without a master key', () => {
  it('refuses callers without the local key and serves the worker that has it', async () => {
    engine = await startTestEngine(CONFIG, { env: { [LOCAL_KEY_ENV]: LOCAL } });
    const none = await chat(engine.url);
    expect(none.status).toBe(401);
    expect((await none.json()).error.code).toBe('401');
    expect((await chat(engine.url, 'sk-kubiya-local')).status).toBe(401); // the old constant opens nothing
    expect((await chat(engine.url, LOCAL)).status).toBe(200);
  });

  it('proves to its supervisor that it holds the key; a port squatter answering 200 is not taken for it', async () => {
    engine = await startTestEngine(CONFIG, { env: { [LOCAL_KEY_ENV]: LOCAL } });
    expect(await engineReady(engine.url, 2000, LOCAL)).toBe(true);
    expect(await engineReady(engine.url, 2000, 'sk-kubiya-local-another-run')).toBe(false);
    squatter = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-kubiya-proof': String(req.headers.authorization) });
      res.end('{"status":"connected"}');
    });
    await new Promise<void>((r) => squatter!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(squatter.address() as net.AddressInfo).port}`;
    expect(await engineReady(url, 2000)).toBe(true); // a plain probe (status) cannot tell
    expect(await engineReady(url, 2000, LOCAL)).toBe(false);
  });
});

describe('an engine without KUBIYA_LOCAL_KEY and without a master key', () => {
  it('stays open, as LiteLLM without a master key is', async () => {
    engine = await startTestEngine(CONFIG);
    expect((await chat(engine.url)).status).toBe(200);
  });
});
