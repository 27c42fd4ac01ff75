/**
 * GET /kubiya/usage: the engine's always-on usage tally (requests, failures, tokens, USD; per model
 * group), behind the master key or the supervisor's per-run KUBIYA_USAGE_TOKEN.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, type TestEngine } from './engine-helpers.js';

const MASTER = 'sk-master-usage-0123';
const TOKEN = 'usage-token-abcdef';
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine(
    {
      model_list: [
        {
          model_name: 'priced',
          litellm_params: { model: 'openai/my-finetune', mock_response: 'hello there' },
          model_info: { input_cost_per_token: 0.001, output_cost_per_token: 0.002 },
        },
        { model_name: 'free', litellm_params: { model: 'openai/not-in-the-map-xyz', mock_response: 'hi' } },
      ],
      general_settings: { master_key: MASTER },
    },
    { apiKey: MASTER, env: { KUBIYA_USAGE_TOKEN: TOKEN } },
  );
});
afterAll(async () => {
  await engine?.close();
});

const usage = async (authorization?: string) => {
  const res = await fetch(`${engine.url}/kubiya/usage`, { headers: authorization ? { authorization } : {} });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
};

describe('GET /kubiya/usage', () => {
  it('counts requests, failures, tokens and cost since the start, in total and per model', async () => {
    const before = await usage(`Bearer ${TOKEN}`);
    expect(before.status).toBe(200);
    expect(before.json).toMatchObject({ requests: 0, failures: 0, input_tokens: 0, cost_usd: 0, by_model: {} });
    expect(Date.parse(before.json.since)).toBeLessThanOrEqual(Date.now());

    const a = await engine.openai.chat.completions.create({
      model: 'priced',
      messages: [{ role: 'user', content: 'x' }],
    });
    const stream = await engine.openai.chat.completions.create({
      model: 'priced',
      messages: [{ role: 'user', content: 'y' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const _ of stream);
    await engine.openai.chat.completions.create({ model: 'free', messages: [{ role: 'user', content: 'z' }] });
    await expect(
      engine.openai.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'z' }] }),
    ).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 50)); // subscribers run once per tick

    const u = (await usage(`Bearer ${MASTER}`)).json;
    expect(u).toMatchObject({ requests: 4, failures: 1, unpriced_requests: 1 });
    const p = u.by_model.priced;
    expect(p.requests).toBe(2);
    expect(p.input_tokens).toBe(2 * a.usage!.prompt_tokens);
    expect(p.cost_usd).toBeCloseTo(p.input_tokens * 0.001 + p.output_tokens * 0.002, 12);
    expect(u.cost_usd).toBeCloseTo(p.cost_usd, 12);
    expect(u.by_model.free).toMatchObject({ requests: 1, failures: 0, unpriced_requests: 1, cost_usd: 0 });
    expect(u.by_model.nope).toMatchObject({ requests: 1, failures: 1 });
    expect(u.input_tokens).toBe(p.input_tokens + u.by_model.free.input_tokens);
  });

  it('is closed without the token or the master key', async () => {
    expect((await usage()).status).toBe(401);
    expect((await usage('Bearer wrong')).status).toBe(401);
    expect((await usage(`Bearer ${TOKEN}x`)).status).toBe(401);
  });
});
