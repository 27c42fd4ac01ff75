/**
 * Anthropic prompt caching, priced as LiteLLM prices it: cache reads at the read price, cache writes at the
 * write price, and writes kept an hour (`cache_creation.ephemeral_1h_input_tokens`, the 1-hour TTL) at the map's
 * `cache_creation_input_token_cost_above_1hr`. Through the engine's own chat endpoint (whole and streamed: the
 * client sees the split in `prompt_tokens_details.cache_creation_token_details`) and the /anthropic pass-through.
 * Expected costs are written out from the bundled map's prices for claude-sonnet-4-5: 3e-6 input, 1.5e-5
 * output, 3e-7 a cache read, 3.75e-6 a 5-minute write, 6e-6 a 1-hour write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContractFake } from '../contract/harness.js';
import { ANTHROPIC_FAKE_KEY, startAnthropicUpstream } from '../fakes/anthropic-upstream.js';
import { post, recordSettled, startTestEngine, type TestEngine } from './engine-helpers.js';

const MASTER = 'sk-master-cache-hour';
// 1000 new prompt tokens, 2000 read from the cache, 1500 written (1000 of them kept an hour), 50 out
const USAGE = { input: 1000, output: 50, cacheRead: 2000, cacheWrite: 1500, cacheWrite1h: 1000 };
const COST = 1000 * 3e-6 + 2000 * 3e-7 + 500 * 3.75e-6 + 1000 * 6e-6 + 50 * 1.5e-5;

let fake: ContractFake;
let engine: TestEngine;
let eventOf: ReturnType<typeof recordSettled>['eventOf'];

beforeAll(async () => {
  fake = await startAnthropicUpstream();
  engine = await startTestEngine(
    {
      model_list: [
        {
          model_name: 'claude',
          litellm_params: { model: 'anthropic/claude-sonnet-4-5', api_base: fake.url, api_key: ANTHROPIC_FAKE_KEY },
        },
      ],
      general_settings: { master_key: MASTER },
    },
    { env: { ANTHROPIC_API_BASE: fake.url, ANTHROPIC_API_KEY: ANTHROPIC_FAKE_KEY } },
  );
  eventOf = recordSettled(engine).eventOf;
});
afterAll(async () => {
  await engine?.close();
  await fake?.close();
});

const auth = { authorization: `Bearer ${MASTER}` };

describe('1-hour cache writes cost their own price', () => {
  it('a whole answer: the cost header and the event; the client sees the split', async () => {
    fake.script({ type: 'text', text: 'cached', usage: USAGE });
    const r = await post(
      `${engine.url}/v1/chat/completions`,
      { model: 'claude', messages: [{ role: 'user', content: 'hi' }] },
      auth,
    );
    expect(r.status).toBe(200);
    expect(r.json.usage.prompt_tokens).toBe(4500);
    expect(r.json.usage.prompt_tokens_details.cache_creation_token_details).toEqual({
      ephemeral_5m_input_tokens: 500,
      ephemeral_1h_input_tokens: 1000,
    });
    expect(Number(r.headers.get('x-litellm-response-cost'))).toBeCloseTo(COST, 15);
    const e = await eventOf(r.headers.get('x-request-id'));
    expect(e.usage).toMatchObject({ prompt: 4500, cached: 2000, cacheCreation: 1500, cacheCreation1h: 1000 });
    expect(e.responseCost).toBeCloseTo(COST, 15);
  });

  it('a stream: the same cost on the event', async () => {
    fake.script({ type: 'text', text: 'cached', usage: USAGE });
    const res = await fetch(`${engine.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    await res.text();
    expect((await eventOf(res.headers.get('x-request-id'))).responseCost).toBeCloseTo(COST, 15);
  });

  it('a stream whose message_delta sends the input counts as null keeps those of message_start', async () => {
    for (const path of ['/v1/chat/completions', '/anthropic/v1/messages']) {
      fake.script({ type: 'text', text: 'cached', usage: { ...USAGE, deltaNulls: true } });
      const model = path.startsWith('/anthropic') ? 'claude-sonnet-4-5' : 'claude';
      const res = await fetch(`${engine.url}${path}`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model, stream: true, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
      });
      const text = await res.text();
      // the pass-through answer is the upstream's own bytes (the chat one is translated)
      if (path.startsWith('/anthropic')) expect(text).toContain('"input_tokens":null');
      const e = await eventOf(res.headers.get('x-request-id'));
      expect(e.usage).toMatchObject({ prompt: 4500, cached: 2000, cacheCreation: 1500 });
      expect(e.responseCost).toBeCloseTo(COST, 15);
    }
  });

  it('through the /anthropic pass-through, from the Messages API usage as sent', async () => {
    fake.script({ type: 'text', text: 'cached', usage: USAGE });
    const r = await post(
      `${engine.url}/anthropic/v1/messages`,
      { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] },
      { 'x-api-key': MASTER, 'anthropic-version': '2023-06-01' },
    );
    expect(r.status).toBe(200);
    expect(r.json.usage.cache_creation.ephemeral_1h_input_tokens).toBe(1000);
    expect((await eventOf(r.headers.get('x-request-id'))).responseCost).toBeCloseTo(COST, 15);
  });
});
