import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestEngine } from './engine-helpers.js';
import { chat, order, type Rig, reset, startRig } from './router-helpers.js';

let rig: Rig;
beforeAll(async () => {
  rig = await startRig(['a1', 'a2', 'solo', 'b', 'c', 'd']);
});
afterAll(() => rig?.closeAll());
beforeEach(() => reset(rig));

describe('retries', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await rig.engine({
      model_list: [
        rig.dep('pair', 'a1'),
        rig.dep('pair', 'a2'),
        rig.dep('solo', 'solo'),
        rig.dep('solo-policy', 'solo'),
      ],
      router_settings: {
        disable_cooldowns: true,
        model_group_retry_policy: { 'solo-policy': { BadRequestErrorRetries: 1, RateLimitErrorRetries: 1 } },
      },
    });
  });

  it('a 500 from one deployment goes to the other one of the group, unseen by the client', async () => {
    rig.ups.a1.script([], { kind: 'status', status: 500 });
    let retries = 0;
    for (let i = 0; i < 8; i++) {
      const r = await chat(engine, 'pair');
      expect(r.status).toBe(200);
      expect(r.json.model).toBe('a2-model');
      expect(r.headers.get('x-litellm-model-group')).toBe('pair');
      retries += Number(r.headers.get('x-litellm-attempted-retries'));
    }
    expect(rig.ups.a2.calls).toHaveLength(8);
    expect(retries).toBe(rig.ups.a1.calls.length); // each failure of a1 cost exactly one retry, on a2
    // never the same deployment twice in a row for one request
    expect(order(rig).join(',')).not.toMatch(/a1,a1/);
  });

  it('a 400 is not retried (neither are 401, 403, 404, 422)', async () => {
    for (const status of [400, 401, 403, 404, 422]) {
      reset(rig);
      rig.ups.a1.script([], { kind: 'status', status });
      rig.ups.a2.script([], { kind: 'status', status });
      const r = await chat(engine, 'pair');
      expect(r.status, String(status)).toBe(status === 422 ? 400 : status);
      expect(rig.log, String(status)).toHaveLength(1);
    }
  });

  it('without num_retries a single deployment is not retried in place', async () => {
    rig.ups.solo.script([{ kind: 'status', status: 500 }]);
    const r = await chat(engine, 'solo');
    expect(r.status).toBe(500);
    expect(rig.ups.solo.calls).toHaveLength(1);
  });

  it('num_retries in the request retries in place with backoff', async () => {
    rig.ups.solo.script([{ kind: 'status', status: 503 }, { kind: 'reset' }]);
    const r = await chat(engine, 'solo', { num_retries: 2 });
    expect(r.status).toBe(200);
    expect(rig.ups.solo.calls).toHaveLength(3);
    expect(r.headers.get('x-litellm-attempted-retries')).toBe('2');
    // exponential backoff: ~0.5 s then ~1 s (less jitter)
    const [c0, c1, c2] = rig.ups.solo.calls;
    expect(c1.at - c0.at).toBeGreaterThanOrEqual(300);
    expect(c2.at - c1.at).toBeGreaterThanOrEqual(c1.at - c0.at - 50);
  });

  it('a Retry-After of 1 s is waited for before the retry', async () => {
    rig.ups.solo.script([{ kind: 'status', status: 429, headers: { 'retry-after': '1' } }]);
    const r = await chat(engine, 'solo', { num_retries: 1 });
    expect(r.status).toBe(200);
    const [c0, c1] = rig.ups.solo.calls;
    expect(c1.at - c0.at).toBeGreaterThanOrEqual(950);
  });

  it('retry_policy per class: a 400 retried when the policy says so', async () => {
    rig.ups.solo.script([{ kind: 'status', status: 400 }]);
    const r = await chat(engine, 'solo-policy');
    expect(r.status).toBe(200);
    expect(rig.ups.solo.calls).toHaveLength(2);
  });

  it('gives up after num_retries with the last error', async () => {
    rig.ups.solo.script([], { kind: 'status', status: 500 });
    const r = await chat(engine, 'solo', { num_retries: 1 });
    expect(r.status).toBe(500);
    expect(rig.ups.solo.calls).toHaveLength(2);
  });
});

describe('fallbacks', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await rig.engine({
      model_list: [
        rig.dep('a', 'solo'),
        rig.dep('b', 'b'),
        rig.dep('c', 'c'),
        rig.dep('d', 'd'),
        rig.dep('loop-x', 'b'),
        rig.dep('loop-y', 'c'),
        rig.dep('plain', 'd'),
      ],
      router_settings: {
        fallbacks: [{ a: ['b', 'c'] }, { 'loop-x': ['loop-y'] }, { 'loop-y': ['loop-x'] }],
        context_window_fallbacks: [{ a: ['d'] }],
        content_policy_fallbacks: [{ a: ['c'] }],
        disable_cooldowns: true,
      },
      litellm_settings: { default_fallbacks: ['c'] },
    });
  });

  it('a 503 falls back; the answer names the model that answered and says so in headers', async () => {
    rig.ups.solo.script([], { kind: 'status', status: 503 });
    const r = await chat(engine, 'a');
    expect(r.status).toBe(200);
    expect(order(rig)).toEqual(['solo', 'b']);
    expect(r.json.model).toBe('b-model');
    expect(r.json.choices[0].message.content).toBe('b says hi');
    expect(r.headers.get('x-litellm-attempted-fallbacks')).toBe('1');
    expect(r.headers.get('x-litellm-model-group')).toBe('b');
    expect(r.headers.get('x-litellm-model-id')).toBe('b-b');
  });

  it('the chain is walked in order, each group after its own retries', async () => {
    rig.ups.solo.script([], { kind: 'status', status: 500 });
    rig.ups.b.script([
      { kind: 'status', status: 429 },
      { kind: 'status', status: 500 },
    ]);
    const r = await chat(engine, 'a', { num_retries: 1 });
    expect(r.status).toBe(200);
    expect(order(rig)).toEqual(['solo', 'solo', 'b', 'b', 'c']);
    expect(r.json.model).toBe('c-model');
    expect(r.headers.get('x-litellm-attempted-fallbacks')).toBe('2');
  });

  it('context window errors go to context_window_fallbacks, content policy to content_policy_fallbacks', async () => {
    rig.ups.solo.script([{ kind: 'context-window' }]);
    const cw = await chat(engine, 'a');
    expect(cw.status).toBe(200);
    expect(order(rig)).toEqual(['solo', 'd']);
    reset(rig);
    rig.ups.solo.script([{ kind: 'content-policy' }]);
    const cp = await chat(engine, 'a');
    expect(cp.status).toBe(200);
    expect(order(rig)).toEqual(['solo', 'c']);
  });

  it('a plain 400 has no fallback', async () => {
    rig.ups.solo.script([{ kind: 'status', status: 400 }]);
    const r = await chat(engine, 'a');
    expect(r.status).toBe(400);
    expect(order(rig)).toEqual(['solo']);
  });

  it('default_fallbacks serve groups without an entry; the request body can name its own', async () => {
    rig.ups.d.script([{ kind: 'status', status: 500 }]);
    const r = await chat(engine, 'plain');
    expect(r.status).toBe(200);
    expect(order(rig)).toEqual(['d', 'c']);
    reset(rig);
    rig.ups.solo.script([{ kind: 'status', status: 500 }]);
    const body = await chat(engine, 'a', { fallbacks: ['d'] });
    expect(order(rig)).toEqual(['solo', 'd']);
    expect(body.json.model).toBe('d-model');
    reset(rig);
    rig.ups.solo.script([{ kind: 'status', status: 500 }]);
    const off = await chat(engine, 'a', { disable_fallbacks: true });
    expect(off.status).toBe(500);
    expect(order(rig)).toEqual(['solo']);
  });

  it('never loops: a -> b -> a stops with the last error', async () => {
    rig.ups.b.script([], { kind: 'status', status: 500 });
    rig.ups.c.script([], { kind: 'status', status: 500 });
    const r = await chat(engine, 'loop-x');
    expect(r.status).toBe(500);
    expect(order(rig)).toEqual(['b', 'c']);
    expect(r.json.error.message).toContain('1 fallback tried');
  });

  it('mock_testing_fallbacks and mock_response errors trigger fallbacks offline', async () => {
    const r = await chat(engine, 'a', { mock_testing_fallbacks: true });
    expect(r.status).toBe(200);
    expect(order(rig)).toEqual(['b']);
    expect(r.headers.get('x-litellm-attempted-fallbacks')).toBe('1');
  });
});
