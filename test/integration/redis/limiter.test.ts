/**
 * RedisRateLimiter against the machine's Redis (unique descriptor ids, nothing flushed): three limiters on
 * three connections, as three engines would be, share one window exactly; tokens count after the call;
 * parallel slots are shared and freed; a window ends and a new one starts.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLiteLLMConfig } from '../../../src/config/litellm/load.js';
import type { LimitDescriptor } from '../../../src/engine/governance/limits/limiter.js';
import { createLogger } from '../../../src/engine/index.js';
import { RedisRateLimiter } from '../../../src/engine/redis/limiter.js';
import { redisSettings } from '../../../src/engine/redis/settings.js';
import { SharedRedis } from '../../../src/engine/redis/shared.js';

const logger = createLogger({ level: 'warn', write: () => {} });
const conns: SharedRedis[] = [];
let limiters: RedisRateLimiter[];
const id = () => randomBytes(8).toString('hex');

beforeAll(async () => {
  const loaded = loadLiteLLMConfig(
    { kind: 'object', value: { router_settings: { redis_host: '127.0.0.1', redis_port: 6379 } }, label: 't' },
    { env: {} },
  );
  const s = redisSettings(loaded.config, {})!;
  for (let i = 0; i < 3; i++) {
    const r = new SharedRedis(s, { logger });
    await r.start();
    conns.push(r);
  }
  limiters = conns.map((r) => new RedisRateLimiter(r, 2000));
});
afterAll(async () => {
  await Promise.all(conns.map((c) => c.close()));
});

describe('RedisRateLimiter', () => {
  it('three limiters, 90 requests at once, rpm 25 on the key and 40 on its team: exactly 25 admitted', async () => {
    const key: LimitDescriptor = { type: 'api_key', id: id(), rpm: 25 };
    const team: LimitDescriptor = { type: 'team', id: id(), rpm: 40 };
    const now = Date.now();
    const answers = await Promise.all(Array.from({ length: 90 }, (_, i) => limiters[i % 3].acquire([key, team], now)));
    expect(answers.filter((a) => a === undefined)).toHaveLength(25);
    const refused = answers.filter((a) => a !== undefined);
    expect(refused.every((a) => a?.descriptor === key && a.limitType === 'requests' && a.limit === 25)).toBe(true);
    // the team counted only what the key let through
    const other: LimitDescriptor = { type: 'api_key', id: id(), rpm: 100 };
    const more = await Promise.all(Array.from({ length: 30 }, (_, i) => limiters[i % 3].acquire([other, team], now)));
    expect(more.filter((a) => a === undefined)).toHaveLength(15);
    expect(conns.every((c) => c.failures === 0)).toBe(true);
  });

  it('tokens count after the call, on every limiter; a new window starts clean', async () => {
    const key: LimitDescriptor = { type: 'api_key', id: id(), tpm: 100 };
    const t0 = Date.now();
    expect(await limiters[0].acquire([key], t0)).toBeUndefined();
    limiters[0].release([key], 150, t0);
    await new Promise((r) => setTimeout(r, 50));
    const r = await limiters[1].acquire([key], t0 + 10);
    expect(r).toMatchObject({ limitType: 'tokens', limit: 100 });
    expect(r?.resetAt).toBe(t0 + 2000);
    // the 2 s window of this test's limiters ends: the next request opens a new one
    await new Promise((res) => setTimeout(res, 2100));
    expect(await limiters[2].acquire([key], Date.now())).toBeUndefined();
  });

  it('max_parallel_requests is shared and a released slot is free for another engine', async () => {
    const key: LimitDescriptor = { type: 'user', id: id(), maxParallel: 2 };
    const now = Date.now();
    expect(await limiters[0].acquire([key], now)).toBeUndefined();
    expect(await limiters[1].acquire([key], now)).toBeUndefined();
    expect(await limiters[2].acquire([key], now)).toMatchObject({ limitType: 'max_parallel_requests', limit: 2 });
    limiters[0].release([key], 0, now);
    await new Promise((r) => setTimeout(r, 50));
    expect(await limiters[2].acquire([key], now)).toBeUndefined();
  });
});
