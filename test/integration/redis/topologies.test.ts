/**
 * Shared state beyond one plain Redis: a cooldown set by one engine is honoured by another within a second
 * (the machine's Redis), and the limiter through a Redis Cluster (descriptors on different slots) and through
 * Sentinel (the master found by name), each with redis-server processes of the test's own.
 */

import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startOpenAIUpstream } from '../../fakes/openai-upstream.js';
import { post, startTestEngine, type TestEngine } from '../engine-helpers.js';
import { freePort, type RedisProc, redisCli, sleep, startRedis, stopProc, waitFor } from './helpers.js';

const MASTER = 'sk-master-redis-topologies';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const auth = (k: string) => ({ authorization: `Bearer ${k}` });
let dir: string;
const procs: RedisProc[] = [];
const engines: TestEngine[] = [];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubiya-redis-topo-'));
});
afterAll(async () => {
  await Promise.all(engines.map((e) => e.close()));
  await Promise.all(procs.map((p) => p.stop()));
  fs.rmSync(dir, { recursive: true, force: true });
});

const MOCK = [{ model_name: 'm', litellm_params: { model: 'openai/gpt-4o', mock_response: 'hi' } }];
const chat = (e: TestEngine, key: string, model = 'm') =>
  post(`${e.url}/v1/chat/completions`, { model, messages: [{ role: 'user', content: 'x' }] }, auth(key));

async function limitedKey(e: TestEngine, body: Record<string, unknown>): Promise<string> {
  const r = await post(`${e.url}/key/generate`, body, auth(MASTER));
  expect(r.status).toBe(200);
  return r.json.key;
}

describe('cooldowns shared through the machine Redis', () => {
  let bad: FakeUpstream;
  let good: FakeUpstream;
  afterAll(async () => {
    await Promise.all([bad?.close(), good?.close()]);
  });

  it('a deployment cooled by one engine is skipped by another within a second', async () => {
    [bad, good] = await Promise.all([startOpenAIUpstream(), startOpenAIUpstream()]);
    bad.setFault({ kind: 'status', status: 500 });
    const run = randomBytes(4).toString('hex');
    const config = {
      model_list: [
        {
          model_name: 'g',
          litellm_params: { model: 'openai/x', api_base: `${bad.url}/v1`, api_key: 'k' },
          model_info: { id: `bad-${run}` },
        },
        {
          model_name: 'g',
          litellm_params: { model: 'openai/x', api_base: `${good.url}/v1`, api_key: 'k' },
          model_info: { id: `good-${run}` },
        },
      ],
      router_settings: {
        redis_host: '127.0.0.1',
        redis_port: 6379,
        allowed_fails: 0,
        cooldown_time: 60,
        num_retries: 1,
      },
    };
    const [a, b] = await Promise.all([startTestEngine(config), startTestEngine(config)]);
    engines.push(a, b);
    // engine a sends until the failing deployment has had a request (and went into cooldown)
    for (let i = 0; i < 30 && bad.requests.length === 0; i++) await chat(a, 'none', 'g');
    expect(bad.requests.length).toBe(1);
    await sleep(1000);
    const seen = bad.requests.length;
    const results = await Promise.all(Array.from({ length: 20 }, () => chat(b, 'none', 'g')));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(bad.requests.length).toBe(seen);
    expect(good.requests.length).toBeGreaterThanOrEqual(20);
  });
});

describe('the limiter through a Redis Cluster', () => {
  it('three masters: a key (rpm 3) and its per-model limit on other slots count once, refusals give back', async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    for (const p of ports) {
      const conf = path.join(dir, `nodes-${p}.conf`);
      procs.push(await startRedis(p, ['--cluster-enabled', 'yes', '--cluster-config-file', conf], dir));
    }
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(create.status).toBe(0);
    // every node must know the whole slot map before a client arrives
    await waitFor(() =>
      ports.every((p) => /cluster_state:ok/.test(redisCli(p, 'CLUSTER', 'INFO'))) ? true : undefined,
    );
    const e = await startTestEngine(
      {
        model_list: MOCK,
        general_settings: { master_key: MASTER },
        litellm_settings: { cache_params: { redis_startup_nodes: ports.map((port) => ({ host: '127.0.0.1', port })) } },
      },
      { apiKey: MASTER },
    );
    engines.push(e);
    const key = await limitedKey(e, { rpm_limit: 3, model_rpm_limit: { m: 10 } });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await chat(e, key)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    // the counts are in the cluster (-c follows MOVED to the slot's node); the refused requests took nothing
    expect(redisCli(ports[0], '-c', 'GET', `{api_key:${sha(key)}}:requests`)).toBe('3');
    expect(redisCli(ports[0], '-c', 'GET', `{model_per_key:${sha(key)}:m}:requests`)).toBe('3');
    const h = (await (await fetch(`${e.url}/health`, { headers: auth(MASTER) })).json()) as any;
    // (the counts above prove the path; a call may still pass its deadline on a machine this busy)
    expect(h.redis).toMatchObject({ status: 'connected', mode: 'cluster' });
  });
});

describe('the limiter through Sentinel', () => {
  it('the master found by its name counts the key (rpm 2)', async () => {
    const master = await startRedis();
    procs.push(master);
    const sp = await freePort();
    const conf = path.join(dir, 'sentinel.conf');
    fs.writeFileSync(
      conf,
      `port ${sp}\nbind 127.0.0.1\nsentinel monitor kubiyamaster 127.0.0.1 ${master.port} 1\n` +
        'sentinel down-after-milliseconds kubiyamaster 5000\n',
    );
    const child = spawn('redis-server', [conf, '--sentinel'], { cwd: dir, stdio: 'ignore' });
    procs.push({ port: sp, child, stop: () => stopProc(child) });
    await waitFor(() =>
      redisCli(sp, 'SENTINEL', 'get-master-addr-by-name', 'kubiyamaster').includes(String(master.port))
        ? true
        : undefined,
    );
    const e = await startTestEngine(
      {
        model_list: MOCK,
        general_settings: { master_key: MASTER },
        litellm_settings: {
          cache_params: { sentinel_nodes: [['127.0.0.1', sp]], service_name: 'kubiyamaster' },
        },
      },
      { apiKey: MASTER },
    );
    engines.push(e);
    const key = await limitedKey(e, { rpm_limit: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await chat(e, key)).status);
    expect(statuses).toEqual([200, 200, 429]);
    expect(redisCli(master.port, 'GET', `{api_key:${sha(key)}}:requests`)).toBe('2');
    const h = (await (await fetch(`${e.url}/health`, { headers: auth(MASTER) })).json()) as any;
    expect(h.redis).toMatchObject({ status: 'connected', mode: 'sentinel' });
  });
});
