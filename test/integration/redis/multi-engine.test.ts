/**
 * Three real engine processes sharing the machine's Redis and one Postgres schema: a key's rpm limit, a
 * deployment's rpm and a key's budget hold across all three as if one engine served them, and an engine that
 * is killed and started again neither forgets nor counts anything twice.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startOpenAIUpstream } from '../../fakes/openai-upstream.js';
import { type TestStore, testStore } from '../governance/stores.js';
import { type EngineProc, postJson, sleep, startEngineProc, waitFor } from './helpers.js';

const MASTER = `sk-master-redis-${randomBytes(4).toString('hex')}`;
const RUN = randomBytes(4).toString('hex');
let dir: string;
let store: TestStore;
let upA: FakeUpstream;
let upB: FakeUpstream;
let cfg: string;
let env: Record<string, string>;
const engines: EngineProc[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubiya-redis-multi-'));
  [store, upA, upB] = await Promise.all([testStore('postgres'), startOpenAIUpstream(), startOpenAIUpstream()]);
  // one input token and 10 output tokens per answer: 0.0001 + 0.002 = 0.0021 a call
  upB.setOptions({ usage: { prompt_tokens: 1, completion_tokens: 10, total_tokens: 11 } });
  const config = {
    model_list: [
      { model_name: 'm', litellm_params: { model: 'openai/gpt-4o', mock_response: 'hi' } },
      {
        model_name: 'lim',
        litellm_params: { model: 'openai/a', api_base: `${upA.url}/v1`, api_key: 'x', rpm: 30, weight: 1 },
        model_info: { id: `dep-a-${RUN}` },
      },
      {
        model_name: 'lim',
        litellm_params: { model: 'openai/b', api_base: `${upB.url}/v1`, api_key: 'x', weight: 1 },
        model_info: { id: `dep-b-${RUN}` },
      },
      {
        model_name: 'paid',
        litellm_params: { model: 'openai/paid', api_base: `${upB.url}/v1`, api_key: 'x' },
        model_info: { input_cost_per_token: 0.0001, output_cost_per_token: 0.0002 },
      },
    ],
    general_settings: { master_key: MASTER },
    router_settings: { redis_host: '127.0.0.1', redis_port: 6379 },
  };
  cfg = path.join(dir, 'config.yaml');
  fs.writeFileSync(cfg, JSON.stringify(config));
  env = { DATABASE_URL: store.databaseUrl!, HOME: dir };
  // the first engine migrates the schema; the others start on it at once
  engines.push(await startEngineProc(cfg, dir, env));
  engines.push(...(await Promise.all([startEngineProc(cfg, dir, env), startEngineProc(cfg, dir, env)])));
}, 200_000);

afterAll(async () => {
  await Promise.all(engines.map((e) => e.stop()));
  await Promise.all([upA?.close(), upB?.close()]);
  await store?.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function newKey(body: Record<string, unknown>): Promise<string> {
  const r = await postJson(`${engines[0].url}/key/generate`, body, MASTER);
  expect(r.status).toBe(200);
  return r.json.key as string;
}

const chat = (e: EngineProc, key: string, model = 'm', extra: Record<string, unknown> = {}) =>
  postJson(`${e.url}/v1/chat/completions`, { model, messages: [{ role: 'user', content: 'x' }], ...extra }, key);

/** Wait out the end of a calendar minute when less than `s` seconds of it are left (deployment windows). */
async function roomInMinute(s: number): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < s * 1000) await sleep(left + 50);
}

describe('three engines on one Redis and one Postgres', () => {
  it('a key with rpm_limit 60: of 300 requests spread over the three, exactly 60 succeed; the rest 429', async () => {
    const key = await newKey({ rpm_limit: 60 });
    // one call on each engine first, then the other 297 at once: which engine's calls reach Redis first in a burst
    // is the scheduler's choice, and an engine whose calls all came late would admit none
    const first = [];
    for (const e of engines) first.push(await chat(e, key));
    const rest = await Promise.all(Array.from({ length: 297 }, (_, i) => chat(engines[i % 3], key)));
    const results = [...first, ...rest];
    const ok = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    expect(ok).toHaveLength(60);
    expect(limited).toHaveLength(240);
    for (const r of limited) {
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(r.json.error.message).toMatch(/^Rate limit exceeded for api_key: .* Limit type: requests\./);
    }
    // every engine admitted some: the count is one, not three
    for (const i of [0, 1, 2])
      expect(results.filter((r, j) => j % 3 === i && r.status === 200).length).toBeGreaterThan(0);
  });

  it('a deployment with rpm 30 in a two-deployment group gets at most 30 of 90 requests in the minute', async () => {
    await roomInMinute(15);
    const minute = Math.floor(Date.now() / 60_000);
    const results = await Promise.all(Array.from({ length: 90 }, (_, i) => chat(engines[i % 3], MASTER, 'lim')));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(Math.floor(Date.now() / 60_000)).toBe(minute);
    expect(upA.requests.length).toBeLessThanOrEqual(30);
    expect(upA.requests.length).toBeGreaterThan(0);
    expect(upA.requests.length + upB.requests.length).toBe(90);
  });

  it('a $0.01 budget spent by concurrent calls on all three overshoots by at most one reservation', async () => {
    const key = await newKey({ max_budget: 0.01 });
    upB.setFault({ kind: 'delay', ms: 40 });
    let results: Awaited<ReturnType<typeof chat>>[];
    try {
      results = await Promise.all(
        Array.from({ length: 45 }, (_, i) => chat(engines[i % 3], key, 'paid', { max_tokens: 10 })),
      );
    } finally {
      upB.setFault(undefined);
    }
    const ok = results.filter((r) => r.status === 200).length;
    expect(results.filter((r) => r.status === 429).every((r) => r.json.error.type === 'budget_exceeded')).toBe(true);
    // three reservations (~0.003 each) fit at once; how many more pass depends on how soon the first settle
    expect(ok).toBeGreaterThanOrEqual(3);
    // what the store says once every reconciliation is written: n calls at 0.0021 each
    const info = await waitFor(async () => {
      const r = await fetch(`${engines[1].url}/key/info?key=${encodeURIComponent(key)}`, {
        headers: { authorization: `Bearer ${MASTER}` },
      });
      const j = (await r.json()) as any;
      const spend = Number(j.info?.spend);
      return Math.abs(spend - ok * 0.0021) < 1e-9 ? spend : undefined;
    }, 10_000);
    // one reservation: ~8 estimated input tokens at 0.0001 plus max_tokens 10 at 0.0002 (under 0.003)
    expect(info - 0.01).toBeLessThanOrEqual(0.003);
  });

  it('an engine killed mid-run and started again: the others keep the counts, nothing is counted twice', async () => {
    const key = await newKey({ rpm_limit: 60, max_budget: 100 });
    const batch = async (es: EngineProc[], n: number) =>
      Promise.all(Array.from({ length: n }, (_, i) => chat(es[i % es.length], key, 'paid', { max_tokens: 10 })));
    const first = await batch(engines, 30);
    expect(first.every((r) => r.status === 200)).toBe(true);
    // killed once its calls are reconciled (a crash within RECONCILE_MS of a call would keep its reservation:
    // an over-charge of at most that reservation, never an under-charge)
    await sleep(300);
    await engines[2].stop();
    const second = await batch(engines.slice(0, 2), 40);
    expect(second.filter((r) => r.status === 200)).toHaveLength(30);
    engines[2] = await startEngineProc(cfg, dir, env);
    const third = await batch(engines, 30);
    expect(third.filter((r) => r.status === 200)).toHaveLength(0);
    expect(third.every((r) => r.status === 429 && r.headers.get('retry-after') !== null)).toBe(true);
    // the store charged the 60 calls that ran, once each
    const spend = await waitFor(async () => {
      const r = await fetch(`${engines[2].url}/key/info?key=${encodeURIComponent(key)}`, {
        headers: { authorization: `Bearer ${MASTER}` },
      });
      const s = Number(((await r.json()) as any).info?.spend);
      return Math.abs(s - 60 * 0.0021) < 1e-9 ? s : undefined;
    }, 10_000);
    expect(spend).toBeCloseTo(0.126, 9);
  }, 120_000);

  it('a key deleted on one engine is refused by the others within a second', async () => {
    const key = await newKey({});
    for (const e of engines) expect((await chat(e, key)).status).toBe(200);
    const del = await postJson(`${engines[0].url}/key/delete`, { keys: [key] }, MASTER);
    expect(del.status).toBe(200);
    await sleep(300);
    for (const e of engines.slice(1)) expect((await chat(e, key)).status).toBe(401);
  });

  it('GET /health names the shared Redis (no password) and readiness says connected', async () => {
    const r = await fetch(`${engines[0].url}/health`, { headers: { authorization: `Bearer ${MASTER}` } });
    const j = (await r.json()) as any;
    expect(j.redis).toMatchObject({ status: 'connected', where: '127.0.0.1:6379', mode: 'single' });
    const ready = (await (await fetch(`${engines[1].url}/health/readiness`)).json()) as any;
    expect(ready).toMatchObject({ status: 'healthy', redis: 'connected' });
    expect(engines[0].out()).toContain('shared state through redis');
  });
});
