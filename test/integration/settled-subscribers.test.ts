/**
 * Subscribing to settled events and plugging in an authenticator, as an embedder of the engine does:
 * subscribers that throw or are slow never touch the response, close() delivers what is pending, and
 * the principal an authenticator returns reaches the events and the per-request log lines.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { loadLiteLLMConfig } from '../../src/config/litellm/load.js';
import { GatewayError } from '../../src/engine/errors.js';
import {
  type Authenticator,
  createLogger,
  type EngineHandle,
  type Principal,
  type SettledEvent,
  type SettledSubscriber,
  startEngine,
} from '../../src/engine/index.js';
import { type FakeUpstream, startOpenAIUpstream } from '../fakes/openai-upstream.js';
import { post } from './engine-helpers.js';

const MOCK = {
  model_list: [{ model_name: 'mocked', litellm_params: { model: 'openai/whatever', mock_response: 'Hi.' } }],
};
const chat = { model: 'mocked', messages: [{ role: 'user', content: 'hi' }] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let engine: EngineHandle | undefined;
let up: FakeUpstream | undefined;
afterEach(async () => {
  await engine?.close();
  await up?.close();
  engine = up = undefined;
});

/** An in-process engine for `config` with captured logs. */
async function start(
  config: Record<string, unknown>,
  opts: {
    authenticator?: Authenticator;
    subscribers?: SettledSubscriber[];
    debug?: boolean;
    drainTimeoutMs?: number;
  } = {},
) {
  const logs: string[] = [];
  const loaded = loadLiteLLMConfig({ kind: 'object', value: config, label: 'test-config' }, { env: {} });
  const logger = createLogger({
    level: opts.debug ? 'debug' : 'info',
    secrets: loaded.secretValues,
    write: (l) => logs.push(l),
  });
  engine = await startEngine({
    loaded,
    port: 0,
    logger,
    env: {},
    debug: opts.debug,
    drainTimeoutMs: 2000,
    governance: { path: ':memory:' },
    ...opts,
  });
  return { engine, logs };
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!cond() && Date.now() - t0 < ms) await sleep(10);
}

describe('subscribers', () => {
  it('a throwing subscriber breaks neither the response nor the others, and is logged once', async () => {
    const got: SettledEvent[] = [];
    const { engine, logs } = await start(MOCK, {
      subscribers: [
        () => {
          throw new Error('sink down');
        },
        (e) => void got.push(e),
      ],
    });
    engine.onSettled(() => Promise.reject(new Error('async sink down')));
    for (let i = 0; i < 3; i++) expect((await post(`${engine.url}/v1/chat/completions`, chat)).status).toBe(200);
    await until(() => got.length === 3);
    expect(got).toHaveLength(3);
    await sleep(50);
    const failures = logs.filter((l) => l.includes('subscriber failed'));
    expect(failures).toHaveLength(2); // one per failing subscriber, not one per event
    expect(failures.join('\n')).toMatch(/sink down/);
  });

  it('a slow subscriber does not delay responses or the other subscribers', async () => {
    const got: SettledEvent[] = [];
    let slowCalls = 0;
    const { engine } = await start(MOCK, {
      subscribers: [
        async () => {
          slowCalls++;
          await sleep(1500);
        },
      ],
    });
    engine.onSettled((e) => void got.push(e));
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) expect((await post(`${engine.url}/v1/chat/completions`, chat)).status).toBe(200);
    expect(performance.now() - t0).toBeLessThan(1000);
    await until(() => got.length === 5, 1000);
    expect(got).toHaveLength(5);
    expect(slowCalls).toBe(5);
  });

  it('onSettled returns the unsubscribe; close() delivers the event of a stream that ends while draining', async () => {
    up = await startOpenAIUpstream({ chunkIntervalMs: 30 });
    const got: SettledEvent[] = [];
    const { engine } = await start({
      model_list: [{ model_name: 'gpt', litellm_params: { model: 'openai/gpt-4o', api_base: `${up.url}/v1` } }],
    });
    const off = engine.onSettled((e) => void got.push(e));
    expect((await post(`${engine.url}/v1/chat/completions`, { ...chat, model: 'gpt' })).status).toBe(200);
    await until(() => got.length === 1);
    const res = await fetch(`${engine.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ ...chat, model: 'gpt', stream: true }),
    });
    const body = res.text();
    await engine.close(); // drains the stream; its event is delivered before close() resolves
    expect(await body).toContain('[DONE]');
    expect(got.map((e) => e.stream)).toEqual([false, true]);
    off();
    expect(got).toHaveLength(2);
  });

  it('close() cutting a stream at the drain deadline still delivers its event before it resolves', async () => {
    up = await startOpenAIUpstream({ chunkIntervalMs: 50, repeat: 200 });
    const got: SettledEvent[] = [];
    const { engine } = await start(
      { model_list: [{ model_name: 'gpt', litellm_params: { model: 'openai/gpt-4o', api_base: `${up.url}/v1` } }] },
      { drainTimeoutMs: 200, subscribers: [(e) => void got.push(e)] },
    );
    const res = await fetch(`${engine.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ ...chat, model: 'gpt', stream: true }),
    });
    const reader = res.body!.getReader();
    await reader.read();
    await engine.close();
    expect(got).toHaveLength(1);
    // the engine cut it (the client got an error event and [DONE]: engine-drain-deadline.test.ts)
    expect(got[0]).toMatchObject({ stream: true, httpStatus: 200, status: 'failure' });
    await reader.cancel().catch(() => undefined);
  });

  it('unsubscribed: no more events', async () => {
    const got: SettledEvent[] = [];
    const { engine } = await start(MOCK);
    const off = engine.onSettled((e) => void got.push(e));
    await post(`${engine.url}/v1/chat/completions`, chat);
    await until(() => got.length === 1);
    off();
    await post(`${engine.url}/v1/chat/completions`, chat);
    await sleep(100);
    expect(got).toHaveLength(1);
  });
});

describe('principal', () => {
  /** An async authenticator, as a virtual-key store lookup would be. */
  const keys: Authenticator = {
    enabled: true,
    name: 'test_keys',
    async authenticate(h: IncomingHttpHeaders): Promise<Principal> {
      await sleep(1);
      if (h.authorization !== 'Bearer vk-good-key')
        throw new GatewayError(401, { message: 'Authentication Error: unknown key.', errorClass: 'auth' });
      return {
        kind: 'virtual_key',
        keyHash: createHash('sha256').update('vk-good-key').digest('hex'),
        keyAlias: 'ci-bot',
        teamId: 'team-9',
      };
    },
  };

  it(
    'an injected (async) authenticator: ' + 'its principal reaches the events and the debug log lines, never the key',
    async () => {
      const got: SettledEvent[] = [];
      const { engine, logs } = await start(MOCK, {
        authenticator: keys,
        subscribers: [(e) => void got.push(e)],
        debug: true,
      });
      const ok = await post(
        `${engine.url}/v1/chat/completions`,
        { ...chat, user: 'u-1' },
        { authorization: 'Bearer vk-good-key' },
      );
      const denied = await post(`${engine.url}/v1/chat/completions`, chat, { authorization: 'Bearer vk-bad' });
      expect([ok.status, denied.status]).toEqual([200, 401]);
      expect(denied.json.error.message).toBe('Authentication Error: unknown key.');
      await until(() => got.length === 2);
      expect(got[0].principal).toMatchObject({
        kind: 'virtual_key',
        keyAlias: 'ci-bot',
        teamId: 'team-9',
        endUserId: 'u-1',
      });
      expect(got[1]).toMatchObject({ status: 'failure', httpStatus: 401, principal: { kind: 'anonymous' } });
      await until(() => logs.filter((l) => / request requestId=/.test(l)).length === 2);
      const line = logs.find(
        (l) => l.includes(`requestId=${ok.headers.get('x-request-id')}`) && / request requestId=/.test(l),
      )!;
      expect(line).toMatch(/principal=virtual_key key=[0-9a-f]{12} key_alias=ci-bot team=team-9 end_user=u-1/);
      expect(logs.join('')).not.toContain('vk-good-key');
      expect(logs.find((l) => l.includes('proxy engine listening'))).toMatch(/auth=test_keys/);
    },
  );

  it('the master key: the principal in the request and "request failed" log lines, by hash prefix only', async () => {
    const master = 'sk-master-principal-42';
    const { engine, logs } = await start({ ...MOCK, general_settings: { master_key: master } }, { debug: true });
    const hash = createHash('sha256').update(master).digest('hex');
    const bad = await post(
      `${engine.url}/v1/chat/completions`,
      { model: 'mocked' },
      { authorization: `Bearer ${master}` },
    );
    expect(bad.status).toBe(400);
    await until(() => logs.some((l) => / request requestId=/.test(l)));
    const failed = logs.find((l) => l.includes('request failed'));
    expect(failed).toContain(`principal=master key=${hash.slice(0, 12)}`);
    expect(logs.find((l) => / request requestId=/.test(l))).toContain(`principal=master key=${hash.slice(0, 12)}`);
    expect(logs.join('')).not.toContain(hash.slice(0, 13));
  });
});
