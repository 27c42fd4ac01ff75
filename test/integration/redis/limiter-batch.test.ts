/**
 * What one request costs in Redis calls, on a redis-server of this file's own (so INFO commandstats counts only
 * these calls): a burst of acquires goes out as one script call, releases ride along with the next acquire's
 * call (slots freed before it takes), and releases still waiting are sent when the connection closes.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLiteLLMConfig } from '../../../src/config/litellm/load.js';
import type { LimitDescriptor } from '../../../src/engine/governance/limits/limiter.js';
import { createLogger } from '../../../src/engine/index.js';
import { RedisRateLimiter } from '../../../src/engine/redis/limiter.js';
import { type RedisSettings, redisSettings } from '../../../src/engine/redis/settings.js';
import { SharedRedis } from '../../../src/engine/redis/shared.js';
import { type RedisProc, redisCli, startRedis } from './helpers.js';

const logger = createLogger({ level: 'warn', write: () => {} });
const id = () => randomBytes(8).toString('hex');
let redis: RedisProc;
let settings: RedisSettings;
const opened: SharedRedis[] = [];

async function limiter(commandTimeoutMs?: number): Promise<{ conn: SharedRedis; lim: RedisRateLimiter }> {
  const conn = new SharedRedis(settings, { logger, commandTimeoutMs });
  await conn.start();
  opened.push(conn);
  return { conn, lim: new RedisRateLimiter(conn) };
}

/** Script calls Redis ran so far (EVALSHA, and the EVAL that loads the script the first time). */
function scriptCalls(): number {
  const stats = redisCli(redis.port, 'INFO', 'commandstats');
  let n = 0;
  for (const m of stats.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) n += Number(m[1]);
  return n;
}

beforeAll(async () => {
  redis = await startRedis(undefined, ['--enable-debug-command', 'local']);
  const loaded = loadLiteLLMConfig(
    { kind: 'object', value: { router_settings: { redis_host: '127.0.0.1', redis_port: redis.port } }, label: 't' },
    { env: {} },
  );
  settings = redisSettings(loaded.config, {})!;
}, 30_000);

afterAll(async () => {
  await Promise.all(opened.map((c) => c.close()));
  await redis?.stop();
});

describe('RedisRateLimiter round trips', () => {
  it('50 requests arriving together (key, team) are one script call; their 50 releases one more', async () => {
    const { conn, lim } = await limiter();
    const key: LimitDescriptor = { type: 'api_key', id: id(), rpm: 1000, tpm: 100_000 };
    const team: LimitDescriptor = { type: 'team', id: id(), rpm: 1000, maxParallel: 100 };
    const now = Date.now();
    const before = scriptCalls();
    const answers = await Promise.all(Array.from({ length: 50 }, () => lim.acquire([key, team], now)));
    expect(answers.every((a) => a === undefined)).toBe(true);
    expect(scriptCalls() - before).toBe(1);
    for (let i = 0; i < 50; i++) lim.release([key, team], 10, now);
    // no acquire follows: the releases go on their own within a few ms, together
    await new Promise((r) => setTimeout(r, 100));
    expect(scriptCalls() - before).toBe(2);
    expect(redisCli(redis.port, 'GET', `{api_key:${key.id}}:requests`)).toBe('50');
    expect(redisCli(redis.port, 'GET', `{api_key:${key.id}}:tokens`)).toBe('500');
    expect(redisCli(redis.port, 'GET', `{team:${team.id}}:max_parallel_requests`)).toBe('0');
    // the headers' counts come from the answer
    expect(lim.state(key, now)).toMatchObject({ requests: 50, tokens: 500 });
    expect(conn.failures).toBe(0);
  });

  it('a release rides along with the next acquire and frees its slot first (max_parallel_requests 1)', async () => {
    const { lim } = await limiter();
    const user: LimitDescriptor = { type: 'user', id: id(), maxParallel: 1 };
    const now = Date.now();
    expect(await lim.acquire([user], now)).toBeUndefined();
    const before = scriptCalls();
    lim.release([user], 0, now);
    expect(await lim.acquire([user], now)).toBeUndefined();
    expect(scriptCalls() - before).toBe(1);
    expect(await lim.acquire([user], now)).toMatchObject({ limitType: 'max_parallel_requests', limit: 1 });
  });

  it('releases still waiting when the connection closes reach Redis: another engine sees the tokens', async () => {
    const a = await limiter();
    const b = await limiter();
    const key: LimitDescriptor = { type: 'api_key', id: id(), tpm: 100 };
    const now = Date.now();
    expect(await a.lim.acquire([key], now)).toBeUndefined();
    a.lim.release([key], 150, now);
    await a.conn.close();
    expect(await b.lim.acquire([key], now)).toMatchObject({ limitType: 'tokens', limit: 100 });
  });

  it('an acquire gathered behind a call Redis is slow to answer waits no longer than the deadline in all', async () => {
    const { conn, lim } = await limiter(800);
    const key: LimitDescriptor = { type: 'api_key', id: id(), rpm: 10 };
    expect(await lim.acquire([key], Date.now())).toBeUndefined();
    const sleeper = spawn('redis-cli', ['-p', String(redis.port), 'DEBUG', 'SLEEP', '2.5']);
    // redis-cli has started and Redis sleeps once a client of its own waits on it
    await new Promise((r) => setTimeout(r, 400));
    // the first call goes out and hangs; the second gathers behind it 100 ms later
    const first = lim.acquire([key], Date.now());
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    const second = await lim.acquire([key], Date.now());
    const waited = Date.now() - t0;
    // both answered from the local counts (Redis never did); the second waited the 800 ms deadline in all (the
    // first's 700 left, then its own 800 would be 1.5 s)
    expect(await first).toBeUndefined();
    expect(second).toBeUndefined();
    expect(waited).toBeLessThan(1100);
    expect(conn.failures).toBeGreaterThanOrEqual(1);
    await new Promise((r) => sleeper.once('exit', r));
  });
});
