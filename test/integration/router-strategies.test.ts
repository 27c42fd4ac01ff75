import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chat, order, type Rig, reset, startRig } from './router-helpers.js';

let rig: Rig;
beforeAll(async () => {
  rig = await startRig(['x', 'y', 'z']);
});
afterAll(() => rig?.closeAll());
beforeEach(() => reset(rig));

const count = (name: string) => rig.log.filter((c) => c.upstream === name).length;

describe('rpm / tpm limits', () => {
  it('a deployment at its rpm is skipped; all at their limits: 429 with Retry-After, nothing called', async () => {
    const engine = await rig.engine({
      model_list: [rig.dep('g', 'x', { rpm: 2 }), rig.dep('g', 'y', { rpm: 3 })],
      router_settings: { routing_strategy: 'usage-based-routing-v2' },
    });
    for (let i = 0; i < 5; i++) expect((await chat(engine, 'g')).status).toBe(200);
    expect([count('x'), count('y')]).toEqual([2, 3]);
    const r = await chat(engine, 'g');
    expect(r.status).toBe(429);
    const ra = Number(r.headers.get('retry-after'));
    expect(ra).toBeGreaterThanOrEqual(1);
    expect(ra).toBeLessThanOrEqual(60);
    expect(rig.log).toHaveLength(5);
  });

  it('tpm counts the tokens each answer used (14 per answer from the fake)', async () => {
    const engine = await rig.engine({ model_list: [rig.dep('g', 'x', { tpm: 20 })] });
    expect((await chat(engine, 'g')).status).toBe(200);
    expect((await chat(engine, 'g')).status).toBe(200); // 14 < 20: still allowed
    expect((await chat(engine, 'g')).status).toBe(429); // 28 >= 20
    expect(count('x')).toBe(2);
  });
});

describe('strategies', () => {
  it('cost-based-routing sends everything to the cheapest deployment (built-in prices or model_info)', async () => {
    const engine = await rig.engine({
      model_list: [
        rig.dep('g', 'x', { model: 'openai/gpt-4o' }),
        rig.dep('g', 'y', { model: 'openai/gpt-4o-mini' }),
        rig.dep('h', 'x', { model: 'openai/gpt-4o' }, { input_cost_per_token: 1e-9, output_cost_per_token: 1e-9 }),
        rig.dep('h', 'y', { model: 'openai/gpt-4o-mini' }),
      ],
      router_settings: { routing_strategy: 'cost-based-routing' },
    });
    for (let i = 0; i < 6; i++) expect((await chat(engine, 'g')).json.model).toBe('gpt-4o-mini');
    for (let i = 0; i < 6; i++) expect((await chat(engine, 'h')).json.model).toBe('gpt-4o');
  });

  it('latency-based-routing moves traffic to the faster deployment', async () => {
    const engine = await rig.engine({
      model_list: [rig.dep('g', 'x'), rig.dep('g', 'y')],
      router_settings: { routing_strategy: 'latency-based-routing' },
    });
    rig.ups.x.script([], { kind: 'delay', ms: 150 });
    for (let i = 0; i < 10; i++) expect((await chat(engine, 'g')).status).toBe(200);
    expect(count('x')).toBe(1); // measured once, then never the lowest
    expect(count('y')).toBe(9);
  });

  it('least-busy sends new requests away from a deployment holding slow ones', async () => {
    const engine = await rig.engine({
      model_list: [rig.dep('g', 'x'), rig.dep('g', 'y')],
      router_settings: { routing_strategy: 'least-busy' },
    });
    rig.ups.x.script([], { kind: 'delay', ms: 400 });
    rig.ups.y.script([], { kind: 'delay', ms: 400 });
    const first = chat(engine, 'g');
    await new Promise((r) => setTimeout(r, 50));
    const second = chat(engine, 'g');
    await Promise.all([first, second]);
    expect(new Set(order(rig))).toEqual(new Set(['x', 'y']));
  });

  it('tag filtering: requests with tags go to deployments with those tags; untagged ones to "default"', async () => {
    const engine = await rig.engine({
      model_list: [
        rig.dep('g', 'x', { tags: ['teamA'] }),
        rig.dep('g', 'y', { tags: ['teamB'] }),
        rig.dep('g', 'z', { tags: ['default'] }),
      ],
      router_settings: { enable_tag_filtering: true },
    });
    for (let i = 0; i < 4; i++) expect((await chat(engine, 'g', { tags: ['teamB'] })).json.model).toBe('y-model');
    for (let i = 0; i < 4; i++)
      expect((await chat(engine, 'g', { metadata: { tags: ['teamA'] } })).json.model).toBe('x-model');
    for (let i = 0; i < 4; i++) expect((await chat(engine, 'g')).json.model).toBe('z-model');
    expect((await chat(engine, 'g', { tags: ['nobody'] })).json.model).toBe('z-model');
  });
});

describe('pre-call checks', () => {
  const long = 'word '.repeat(300);

  it('skips deployments whose context window is too small, counting tokens with the real tokenizer', async () => {
    const engine = await rig.engine({
      model_list: [
        rig.dep('g', 'x', {}, { max_input_tokens: 200 }),
        rig.dep('g', 'y', {}, { max_input_tokens: 100_000 }),
      ],
      router_settings: { enable_pre_call_checks: true },
    });
    for (let i = 0; i < 5; i++)
      expect((await chat(engine, 'g', { messages: [{ role: 'user', content: long }] })).json.model).toBe('y-model');
    expect(count('x')).toBe(0);
    // a short prompt fits both
    for (let i = 0; i < 30 && count('x') === 0; i++) await chat(engine, 'g');
    expect(count('x')).toBe(1);
  });

  it('goes to context_window_fallbacks before calling anything that cannot fit the prompt', async () => {
    const engine = await rig.engine({
      model_list: [
        rig.dep('small', 'x', {}, { max_input_tokens: 100 }),
        rig.dep('big', 'y', { model: 'openai/gpt-4o' }),
      ],
      router_settings: { enable_pre_call_checks: true, context_window_fallbacks: [{ small: ['big'] }] },
    });
    const r = await chat(engine, 'small', { messages: [{ role: 'user', content: long }] });
    expect(r.status).toBe(200);
    expect(order(rig)).toEqual(['y']);
    expect(r.headers.get('x-litellm-attempted-fallbacks')).toBe('1');
    reset(rig);
    const none = await chat(engine, 'small', { messages: [{ role: 'user', content: long }], disable_fallbacks: true });
    expect(none.status).toBe(400);
    expect(none.json.error.code).toBe('context_length_exceeded');
    expect(rig.log).toHaveLength(0);
  });
});
