/**
 * Hostile or broken input never hurts healthy traffic (issue 15): deep JSON is refused before anything walks
 * it and never counts against a deployment; a request cannot ask for unbounded retries.
 */
import net from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, nestedDeeperThan } from '../../src/engine/http/body.js';
import { MAX_REQUEST_RETRIES } from '../../src/engine/router/retry.js';
import { type FakeUpstream, startOpenAIUpstream } from '../fakes/openai-upstream.js';
import { post, startTestEngine, type TestEngine } from './engine-helpers.js';

let up: FakeUpstream;
let engine: TestEngine;
let retrying: TestEngine;
let capped: TestEngine;

beforeAll(async () => {
  up = await startOpenAIUpstream();
  const two = (name: string) => [
    { model_name: name, litellm_params: { model: 'openai/a', api_base: `${up.url}/v1` } },
    { model_name: name, litellm_params: { model: 'openai/b', api_base: `${up.url}/v1` } },
  ];
  engine = await startTestEngine({ model_list: two('m') });
  // no cooldowns: each retry goes straight to the other healthy deployment, without a backoff wait
  retrying = await startTestEngine({ model_list: two('m'), router_settings: { disable_cooldowns: true } });
  capped = await startTestEngine({
    model_list: two('m'),
    router_settings: { num_retries: 1, disable_cooldowns: true },
  });
});
afterAll(async () => {
  await engine?.close();
  await capped?.close();
  await retrying?.close();
  await up?.close();
});
beforeEach(() => {
  up.setFault(undefined);
  up.requests.length = 0;
});

/** `p`, or a failure naming what did not happen within 8 s (instead of the test's bare timeout). */
async function within<T>(p: Promise<T>, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 8000);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(t);
  }
}

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const chatWith = (extra: string) => `{"model":"m","messages":[{"role":"user","content":"hi"}],"extra":${extra}}`;

describe('deeply nested JSON', () => {
  it('is a 400 naming the limit on every endpoint, and sends nothing upstream', async () => {
    const deep = nested(6000);
    for (const [path, body] of [
      ['/v1/chat/completions', chatWith(deep)],
      ['/v1/embeddings', `{"model":"m","input":${deep}}`],
      ['/v1/messages', `{"model":"m","max_tokens":5,"messages":${deep}}`],
    ] as const) {
      const r = await post(engine.url + path, body);
      expect(r.status, path).toBe(400);
      expect(r.text, path).toContain(`deeper than ${MAX_JSON_DEPTH} levels`);
    }
    expect(up.requests).toHaveLength(0);
  });

  it('never cools down healthy deployments: normal traffic right after a burst of deep bodies is served', async () => {
    for (let i = 0; i < 10; i++)
      expect((await post(`${engine.url}/v1/chat/completions`, chatWith(nested(6000)))).status).toBe(400);
    for (let i = 0; i < 10; i++) {
      const r = await post(`${engine.url}/v1/chat/completions`, chatWith('1'));
      expect(r.status).toBe(200);
    }
  });

  it('accepts nesting up to the limit, and brackets inside strings are text', async () => {
    expect((await post(`${engine.url}/v1/chat/completions`, chatWith(nested(MAX_JSON_DEPTH - 3)))).status).toBe(200);
    const text = JSON.stringify('['.repeat(20_000));
    const r = await post(
      `${engine.url}/v1/chat/completions`,
      `{"model":"m","messages":[{"role":"user","content":${text}}]}`,
    );
    expect(r.status).toBe(200);
  });

  it('counts depth, not brackets: many siblings pass, escaped quotes do not end a string', () => {
    const siblings = Buffer.from(`[${'[],'.repeat(5000)}[]]`);
    expect(nestedDeeperThan(siblings, 8)).toBe(false);
    expect(nestedDeeperThan(Buffer.from('[[[[]]]]'), 3)).toBe(true);
    expect(nestedDeeperThan(Buffer.from(`["\\"[[[[[[", ${'{"a":'.repeat(3)}1}}}]`), 4)).toBe(false);
  });
});

describe('num_retries from the request', () => {
  it(`is capped at ${MAX_REQUEST_RETRIES} when the config sets none`, async () => {
    // Retry-After: 0 keeps the in-place retries from backing off (the test counts calls, it does not wait)
    up.setFault({ kind: 'status', status: 500, body: { error: { message: 'boom' } }, headers: { 'retry-after': '0' } });
    const r = await post(
      `${retrying.url}/v1/chat/completions`,
      chatWith('1').replace('"extra":1', '"num_retries":1e9'),
    );
    expect(r.status).toBe(500);
    expect(up.requests.length).toBe(1 + MAX_REQUEST_RETRIES);
  });

  it('is capped at the configured num_retries', async () => {
    // Retry-After: 0 keeps the in-place retries from backing off (the test counts calls, it does not wait)
    up.setFault({ kind: 'status', status: 500, body: { error: { message: 'boom' } }, headers: { 'retry-after': '0' } });
    const r = await post(`${capped.url}/v1/chat/completions`, chatWith('1').replace('"extra":1', '"num_retries":50'));
    expect(r.status).toBe(500);
    expect(up.requests.length).toBe(2);
  });
});

describe('a client that aborts mid-upload', () => {
  it('is no engine error: nothing logged at error level, no stack, and the engine serves on', async () => {
    const before = engine.logs.length;
    await new Promise<void>((resolve) => {
      const s = net.connect(engine.port, '127.0.0.1', () => {
        s.write(
          'POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n' +
            'content-length: 1000\r\n\r\n{"model":"m",',
        );
        setTimeout(() => {
          s.destroy();
          resolve();
        }, 50);
      });
    });
    await new Promise((r) => setTimeout(r, 100));
    const lines = engine.logs.slice(before).join('');
    expect(lines).not.toMatch(/ERROR|internal error|abortIncoming/);
    expect((await post(`${engine.url}/v1/chat/completions`, chatWith('1'))).status).toBe(200);
  });
});

describe('slow, idle and greedy clients', () => {
  let tight: TestEngine;
  beforeAll(async () => {
    tight = await startTestEngine(
      {
        model_list: [{ model_name: 'm', litellm_params: { model: 'openai/a', mock_response: 'hi' } }],
        general_settings: {
          master_key: 'sk-master-hostile',
          max_client_connections: 3,
          client_header_timeout: 1,
          client_body_timeout: 1,
          max_inflight_request_mb: 0.05,
        },
      },
      { apiKey: 'sk-master-hostile' },
    );
  });
  afterAll(() => tight?.close());
  const auth = { authorization: 'Bearer sk-master-hostile' };
  const body = (pad: number) => JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(pad) }] });

  it('past the connection cap: a 503 in OpenAI shape; idle connections close at the header deadline', async () => {
    // resumed: a paused socket never sees the server's 408 and FIN, so it would never close
    const idle = [0, 1, 2].map(() =>
      net
        .connect(tight.port, '127.0.0.1')
        .on('error', () => {})
        .resume(),
    );
    const closed = idle.map((s) => new Promise((r) => s.once('close', r)));
    await within(Promise.all(idle.map((s) => new Promise((r) => s.once('connect', r)))), 'the idle connections');
    await new Promise((r) => setTimeout(r, 200)); // the server's accept of all three
    const over = await within(post(`${tight.url}/v1/chat/completions`, body(1), auth), 'the answer past the cap');
    expect(over.status).toBe(503);
    expect(over.json.error.message).toContain('max_client_connections');
    await within(Promise.all(closed), 'the idle connections to be closed');
    // the server hears those closes a moment after the clients do: then a new client is served
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 20));
      status = (await post(`${tight.url}/v1/chat/completions`, body(1), auth)).status;
    }
    expect(status).toBe(200);
  });

  it('a client that trickles its body gets a 408 and is disconnected at the body deadline', async () => {
    const s = net.connect(tight.port, '127.0.0.1');
    const got: string[] = [];
    s.on('data', (d) => got.push(d.toString()));
    const timer = setInterval(() => s.writable && s.write('a'), 200);
    s.write(
      'POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-master-hostile\r\n' +
        'content-type: application/json\r\ncontent-length: 5000\r\n\r\n{',
    );
    await new Promise((r) => s.once('close', r));
    clearInterval(timer);
    expect(got.join('')).toMatch(/^HTTP\/1\.1 408/);
  });

  it('a rejected key closes the connection with the 401', async () => {
    const r = await post(`${tight.url}/v1/chat/completions`, body(1), { authorization: 'Bearer wrong' });
    expect(r.status).toBe(401);
    expect(r.headers.get('connection')).toBe('close');
  });

  it('request bodies held at once are bounded (503), and freed when their responses end', async () => {
    const big = await post(`${tight.url}/v1/chat/completions`, body(60_000), auth);
    expect(big.status).toBe(503);
    expect(big.json.error.message).toContain('max_inflight_request_mb');
    expect(big.headers.get('retry-after')).toBe('1');
    // each 30 KB body fits alone; were they not released, the second would already be refused
    for (let i = 0; i < 4; i++)
      expect((await post(`${tight.url}/v1/chat/completions`, body(30_000), auth)).status).toBe(200);
  });
});
