import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type GoogleFake, startGoogleUpstream } from '../fakes/gemini-upstream.js';
import { type FakeUpstream, startOpenAIUpstream } from '../fakes/openai-upstream.js';
import { startTestEngine, type TestEngine } from './engine-helpers.js';

let up: FakeUpstream | undefined;
let engine: TestEngine | undefined;
let google: GoogleFake | undefined;
afterEach(async () => {
  await engine?.close();
  await up?.close();
  await google?.close();
  engine = up = google = undefined;
});

/** Read one HTTP/1.1 answer from a raw socket (until the peer closes it). */
function readAll(sock: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    sock.on('data', (b: Buffer) => (text += b.toString('utf8')));
    sock.on('close', () => resolve(text));
  });
}

describe('/health for mock_response deployments', () => {
  it('does not show a provider URL the deployment never calls', async () => {
    engine = await startTestEngine({
      model_list: [{ model_name: 'demo', litellm_params: { model: 'openai/gpt-4o', mock_response: 'hi' } }],
    });
    const health = await (await fetch(`${engine.url}/health`)).json();
    expect(health.healthy_count).toBe(1);
    expect(JSON.stringify(health)).not.toContain('api.openai.com');
    const info = await (await fetch(`${engine.url}/v1/model/info`)).json();
    expect(JSON.stringify(info)).not.toContain('api.openai.com');
  });
});

describe('probes while draining', () => {
  it('a keep-alive connection that probes during the drain gets 503 and connection: close', async () => {
    // about 1 s of stream: the drain below starts after 0.25 s
    up = await startOpenAIUpstream({ chunkIntervalMs: 40, repeat: 6 });
    engine = await startTestEngine(
      { model_list: [{ model_name: 'm', litellm_params: { model: 'openai/m', api_base: `${up.url}/v1` } }] },
      { drainTimeoutMs: 5000 },
    );
    // a stream in flight keeps the drain going
    const stream = fetch(`${engine.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'a b c' }] }),
    }).then((r) => r.text());
    // a probe connection: one answered probe, then a second probe started before the drain and finished during it
    const sock = net.connect(engine.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const answers = readAll(sock);
    sock.write('GET /health/liveness HTTP/1.1\r\nhost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, 100));
    sock.write('GET /health/liveliness HTTP/1.1\r\nhost: x\r\n');
    await new Promise((r) => setTimeout(r, 30));
    const closing = engine.close();
    await new Promise((r) => setTimeout(r, 100));
    sock.write('\r\n');
    const text = await answers;
    expect(text).toMatch(/^HTTP\/1.1 200/);
    const second = text.slice(text.indexOf('HTTP/1.1', 5));
    expect(second).toMatch(/^HTTP\/1.1 503/);
    expect(second.toLowerCase()).toContain('connection: close');
    expect(second).toContain('draining');
    expect(await stream).toContain('[DONE]');
    await closing;
  });
});

describe('/health for wildcard deployments', () => {
  it(
    'never asks a provider about a model named "*": health_check_model is checked instead, ' +
      'or the report says to set it',
    async () => {
      const key = 'AIzaHealthKey000000000000001';
      google = await startGoogleUpstream({ apiKey: key });
      engine = await startTestEngine({
        model_list: [
          { model_name: 'gemini/*', litellm_params: { model: 'gemini/*', api_base: google.url, api_key: key } },
          {
            model_name: 'g/*',
            litellm_params: { model: 'gemini/*', api_base: google.url, api_key: key },
            model_info: { health_check_model: 'gemini/gemini-2.0-flash' },
          },
        ],
      });
      const health = await (await fetch(`${engine.url}/health`)).json();
      expect(google.calls.map((c) => c.path).filter((p) => p.includes('*'))).toEqual([]);
      expect(google.calls.map((c) => c.path)).toContainEqual(
        expect.stringContaining('/models/gemini-2.0-flash:countTokens'),
      );
      expect(health.healthy_endpoints.map((e: { model_name: string }) => e.model_name)).toEqual(['g/*']);
      expect(health.unhealthy_endpoints).toHaveLength(1);
      expect(health.unhealthy_endpoints[0]).toMatchObject({ model_name: 'gemini/*' });
      expect(health.unhealthy_endpoints[0].error).toMatch(/health_check_model/);
    },
  );
});
