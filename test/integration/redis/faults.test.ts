/**
 * Redis faults, with a redis-server of the test's own: down when the engine starts, lost mid-run and back,
 * slow. The engine keeps answering on local state, says so in /health and readiness, counts the failures in
 * litellm_redis_fails, and goes back to the shared state once Redis answers.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, startTestEngine, type TestEngine } from '../engine-helpers.js';
import { freePort, type RedisProc, redisCli, startRedis, waitFor } from './helpers.js';

const MASTER = 'sk-master-redis-faults';
let port: number;
let redis: RedisProc | undefined;
let engine: TestEngine;
let key: string;
const auth = (k: string) => ({ authorization: `Bearer ${k}` });
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

beforeAll(async () => {
  port = await freePort();
  // Redis is not there yet: the engine must start anyway
  engine = await startTestEngine(
    {
      model_list: [{ model_name: 'm', litellm_params: { model: 'openai/gpt-4o', mock_response: 'hi' } }],
      general_settings: { master_key: MASTER },
      litellm_settings: { callbacks: ['prometheus'] },
      router_settings: { redis_host: '127.0.0.1', redis_port: port, redis_password: 'pw-never-shown-1234' },
    },
    // a slow Redis opens the circuit with the connection still up: probe again after 2 s (default 10)
    { apiKey: MASTER, env: { REDIS_CIRCUIT_BREAKER_RECOVERY_TIMEOUT: '2' } },
  );
  const made = await post(`${engine.url}/key/generate`, { rpm_limit: 1000 }, auth(MASTER));
  key = made.json.key;
}, 30_000);

afterAll(async () => {
  await engine?.close();
  await redis?.stop();
});

const chat = () =>
  post(`${engine.url}/v1/chat/completions`, { model: 'm', messages: [{ role: 'user', content: 'x' }] }, auth(key));
const health = async () => (await (await fetch(`${engine.url}/health`, { headers: auth(MASTER) })).json()) as any;
const ready = async () => (await (await fetch(`${engine.url}/health/readiness`)).json()) as any;
const fails = async () => {
  const text = await (await fetch(`${engine.url}/metrics`, { headers: auth(MASTER) })).text();
  return Number(/^litellm_redis_fails_total (\d+)/m.exec(text)?.[1] ?? Number.NaN);
};

describe('Redis faults', () => {
  it('down at start: the engine serves on local state and says so in the log, /health and readiness', async () => {
    expect(engine.logs.join('\n')).toContain('redis unreachable at start');
    expect((await chat()).status).toBe(200);
    const h = await health();
    expect(h.redis).toMatchObject({ status: 'local-only', where: `127.0.0.1:${port}`, mode: 'single' });
    expect(JSON.stringify(h)).not.toContain('pw-never-shown-1234');
    expect(engine.logs.join('\n')).not.toContain('pw-never-shown-1234');
    expect(await ready()).toMatchObject({ status: 'healthy', redis: 'local-only' });
  });

  it('Redis arrives: shared state on within a couple of seconds (counts land in Redis)', async () => {
    redis = await startRedis(port, ['--requirepass', 'pw-never-shown-1234', '--enable-debug-command', 'yes']);
    await waitFor(async () => ((await health()).redis.status === 'connected' ? true : undefined), 10_000);
    expect((await chat()).status).toBe(200);
    expect((await chat()).status).toBe(200);
    const got = redisCli(
      port,
      '-a',
      'pw-never-shown-1234',
      '--no-auth-warning',
      'GET',
      `{api_key:${sha(key)}}:requests`,
    );
    expect(got).toBe('2');
  });

  it('slow Redis: a request never waits on it longer than the deadline', async () => {
    const sleeper = import('node:child_process').then(({ spawn }) =>
      spawn('redis-cli', [
        '-p',
        String(port),
        '-a',
        'pw-never-shown-1234',
        '--no-auth-warning',
        'DEBUG',
        'SLEEP',
        '1.5',
      ]),
    );
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    const r = await chat();
    const took = Date.now() - t0;
    expect(r.status).toBe(200);
    // 100 ms deadline plus the engine's own work on a busy machine; far below the 1.5 s Redis sleeps
    expect(took).toBeLessThan(700);
    (await sleeper).kill();
    await new Promise((r) => setTimeout(r, 1500));
  });

  it('lost mid-run, restarted: requests keep working, /health local-only then connected, fails counted', async () => {
    await waitFor(async () => ((await health()).redis.status === 'connected' ? true : undefined), 10_000);
    const before = await fails();
    await redis!.stop();
    for (let i = 0; i < 8; i++) expect((await chat()).status).toBe(200);
    const h = await health();
    expect(h.redis.status).toBe('local-only');
    expect(h.redis.last_error).toBeTruthy();
    expect(await ready()).toMatchObject({ status: 'healthy', redis: 'local-only' });
    expect(await fails()).toBeGreaterThan(before);
    expect(engine.logs.join('\n')).toContain('redis failing: local-only state until it answers again');
    redis = await startRedis(port, ['--requirepass', 'pw-never-shown-1234']);
    await waitFor(async () => ((await health()).redis.status === 'connected' ? true : undefined), 10_000);
    expect((await chat()).status).toBe(200);
    // a fresh Redis: its window starts with this request
    const got = redisCli(
      port,
      '-a',
      'pw-never-shown-1234',
      '--no-auth-warning',
      'GET',
      `{api_key:${sha(key)}}:requests`,
    );
    expect(got).toBe('1');
    expect(engine.logs.join('\n')).toContain('redis back: shared state on again');
  });
});
