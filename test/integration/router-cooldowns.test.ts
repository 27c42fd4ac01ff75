import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestEngine } from './engine-helpers.js';
import { chat, order, type Rig, reset, startRig } from './router-helpers.js';

let rig: Rig;
beforeAll(async () => {
  rig = await startRig(['a1', 'a2', 'b1', 'b2', 'c', 'solo']);
});
afterAll(() => rig?.closeAll());
beforeEach(() => reset(rig));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('cooldowns', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await rig.engine({
      model_list: [
        rig.dep('pair', 'a1'),
        rig.dep('pair', 'a2'),
        rig.dep('both', 'b1'),
        rig.dep('both', 'b2'),
        rig.dep('single', 'solo'),
      ],
      router_settings: {
        allowed_fails: 0,
        cooldown_time: 0.6,
        allowed_fails_policy: { InternalServerErrorAllowedFails: 0 },
        fallbacks: [{ both: ['pair'] }],
      },
    });
  });

  it('a failing deployment is skipped while it cools down, and comes back after', async () => {
    rig.ups.a1.script([], { kind: 'status', status: 500 });
    // until a1 is picked once and fails
    for (let i = 0; i < 20 && rig.ups.a1.calls.length === 0; i++) expect((await chat(engine, 'pair')).status).toBe(200);
    expect(rig.ups.a1.calls).toHaveLength(1);
    for (let i = 0; i < 8; i++) expect((await chat(engine, 'pair')).status).toBe(200);
    expect(rig.ups.a1.calls).toHaveLength(1); // skipped during the cooldown
    rig.ups.a1.script([]); // healthy again
    await sleep(700);
    for (let i = 0; i < 30 && rig.ups.a1.calls.length === 1; i++) expect((await chat(engine, 'pair')).status).toBe(200);
    expect(rig.ups.a1.calls.length).toBe(2); // back in rotation
  });

  it(
    'every deployment of a group and its fallbacks cooling down: ' +
      '429 with the Retry-After of the first to come back',
    async () => {
      for (const u of ['a1', 'a2', 'b1', 'b2'] as const) rig.ups[u].script([], { kind: 'status', status: 503 });
      const first = await chat(engine, 'both');
      expect(first.status).toBe(503); // all four tried: the last real error
      expect(order(rig).sort()).toEqual(['a1', 'a2', 'b1', 'b2']);
      reset(rig);
      const second = await chat(engine, 'both');
      expect(second.status).toBe(429);
      expect(order(rig)).toEqual([]); // nothing was called
      const ra = Number(second.headers.get('retry-after'));
      expect(ra).toBeGreaterThanOrEqual(1);
      expect(ra).toBeLessThanOrEqual(1);
      expect(second.json.error.code).toBe('no_deployments_available');
      await sleep(700);
      expect((await chat(engine, 'both')).status).toBe(200);
    },
  );

  it('a 429 with Retry-After cools the deployment down at least that long', async () => {
    rig.ups.b1.script([], { kind: 'status', status: 429, headers: { 'retry-after': '2' } });
    rig.ups.b2.script([], { kind: 'status', status: 429, headers: { 'retry-after': '2' } });
    await chat(engine, 'both', { disable_fallbacks: true });
    reset(rig);
    const r = await chat(engine, 'both', { disable_fallbacks: true });
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBe(2);
    expect(order(rig)).toEqual([]);
  });

  it('the only deployment of a group is never cooled down', async () => {
    rig.ups.solo.script([], { kind: 'status', status: 500 });
    for (let i = 0; i < 3; i++) expect((await chat(engine, 'single')).status).toBe(500);
    rig.ups.solo.script([]);
    expect((await chat(engine, 'single')).status).toBe(200);
    expect(rig.ups.solo.calls).toHaveLength(4);
  });
});

describe('cooldown settings', () => {
  it('allowed_fails lets that many failures a minute through before the cooldown', async () => {
    const engine = await rig.engine({
      model_list: [rig.dep('pair', 'a1'), rig.dep('pair', 'a2')],
      router_settings: { allowed_fails: 2, cooldown_time: 30 },
    });
    rig.ups.a1.script([], { kind: 'status', status: 500 });
    for (let i = 0; i < 80 && rig.ups.a1.calls.length < 3; i++) await chat(engine, 'pair', { num_retries: 0 });
    expect(rig.ups.a1.calls).toHaveLength(3);
    for (let i = 0; i < 10; i++) expect((await chat(engine, 'pair', { num_retries: 0 })).status).toBe(200);
    expect(rig.ups.a1.calls).toHaveLength(3); // the third failure put it in cooldown
  });

  it('disable_cooldowns keeps a failing deployment in rotation', async () => {
    const engine = await rig.engine({
      model_list: [rig.dep('pair', 'a1'), rig.dep('pair', 'a2')],
      router_settings: { disable_cooldowns: true, allowed_fails: 0 },
    });
    rig.ups.a1.script([], { kind: 'status', status: 500 });
    for (let i = 0; i < 100 && rig.ups.a1.calls.length < 5; i++) expect((await chat(engine, 'pair')).status).toBe(200);
    expect(rig.ups.a1.calls).toHaveLength(5);
  });
});

describe('load while a deployment fails', () => {
  it('no request is lost: 40 concurrent requests, one of two deployments resetting connections', async () => {
    const engine = await rig.engine({
      model_list: [rig.dep('pair', 'a1'), rig.dep('pair', 'a2')],
      router_settings: { cooldown_time: 0.2, allowed_fails: 1 },
    });
    rig.ups.a1.script([], { kind: 'reset' });
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => chat(engine, 'pair', i % 2 ? { stream: true } : {})),
    );
    expect(results.map((r) => r.status)).toEqual(Array(40).fill(200));
    for (const r of results.filter((_, i) => i % 2)) expect(r.text).toContain('data: [DONE]');
    expect(rig.ups.a2.calls).toHaveLength(40);
  });

  it('through the openai SDK, streams included, while a deployment answers 500', async () => {
    const engine = await rig.engine({ model_list: [rig.dep('pair', 'b1'), rig.dep('pair', 'b2')] });
    rig.ups.b1.script([], { kind: 'status', status: 500 });
    const client = new OpenAI({ baseURL: `${engine.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const texts = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const s = await client.chat.completions.create({
          model: 'pair',
          messages: [{ role: 'user', content: 'hi' }],
          stream: true,
        });
        let t = '';
        for await (const c of s) t += c.choices[0]?.delta?.content ?? '';
        return t;
      }),
    );
    expect(texts).toEqual(Array(12).fill('b2 says hi'));
  });
});
