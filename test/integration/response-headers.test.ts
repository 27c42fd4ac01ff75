/**
 * What a client sees of a call's cost and path: the x-litellm-* response headers (call id, api base
 * without secrets, cost, durations, version), the upstream's x-ratelimit-* headers echoed, and the cost on
 * the settled event, for whole answers and streams, priced, overridden and unpriced models, through the
 * fake OpenAI upstream. Expected costs are written out from the bundled map's numbers.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';
import { type FakeUpstream, startOpenAIUpstream } from '../fakes/openai-upstream.js';
import { post, recordSettled, startTestEngine, type TestEngine } from './engine-helpers.js';

const MASTER = 'sk-master-headers-0123';
const UPSTREAM_KEY = 'sk-upstream-headers-secret';
const auth = { authorization: `Bearer ${MASTER}` };
const msgs = [{ role: 'user', content: 'hi' }];
const RATE = { 'x-ratelimit-remaining-requests': '4999', 'x-ratelimit-limit-tokens': '200000' };

let up: FakeUpstream;
let engine: TestEngine;
let eventOf: ReturnType<typeof recordSettled>['eventOf'];

beforeAll(async () => {
  up = await startOpenAIUpstream();
  const base = (model: string) => ({ model, api_base: `${up.url}/v1`, api_key: UPSTREAM_KEY });
  engine = await startTestEngine(
    {
      model_list: [
        { model_name: 'mini', litellm_params: base('openai/gpt-4o-mini'), model_info: { id: 'dep-mini' } },
        {
          model_name: 'custom',
          litellm_params: base('openai/my-finetune'),
          model_info: { id: 'dep-custom', input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 },
        },
        { model_name: 'nameless', litellm_params: base('openai/no-such-model-xyz'), model_info: { id: 'dep-n1' } },
        { model_name: 'nameless-2', litellm_params: base('openai/no-such-model-xyz'), model_info: { id: 'dep-n2' } },
        { model_name: 'gpt-*', litellm_params: base('openai/gpt-*'), model_info: { id: 'dep-wild' } },
      ],
      general_settings: { master_key: MASTER },
    },
    { apiKey: MASTER },
  );
  eventOf = recordSettled(engine).eventOf;
});
afterAll(async () => {
  await engine?.close();
  await up?.close();
});
beforeEach(() => {
  up.setFault(undefined);
  up.setOptions({ headers: RATE, usage: undefined });
});

describe('x-litellm response headers and the cost of each call', () => {
  it("a whole answer: call id, api base, cost, durations, version, rate limits; the event's cost", async () => {
    const r = await post(`${engine.url}/v1/chat/completions`, { model: 'mini', messages: msgs }, auth);
    expect(r.status).toBe(200);
    const h = r.headers;
    const id = h.get('x-request-id');
    expect(h.get('x-litellm-call-id')).toBe(id);
    expect(h.get('x-litellm-model-id')).toBe('dep-mini');
    expect(h.get('x-litellm-model-group')).toBe('mini');
    expect(h.get('x-litellm-model-api-base')).toBe(`${up.url}/v1`);
    expect(h.get('x-litellm-version')).toBe(VERSION);
    expect(Number(h.get('x-litellm-response-duration-ms'))).toBeGreaterThan(0);
    expect(Number(h.get('x-litellm-response-duration-ms'))).toBeGreaterThanOrEqual(
      Number(h.get('x-litellm-overhead-duration-ms')),
    );
    expect(h.get('x-litellm-attempted-retries')).toBe('0');
    expect(h.get('x-litellm-attempted-fallbacks')).toBe('0');
    expect(h.get('x-ratelimit-remaining-requests')).toBe('4999');
    expect(h.get('x-ratelimit-limit-tokens')).toBe('200000');
    // usage 11 prompt + 7 completion at gpt-4o-mini's 1.5e-7 / 6e-7
    const cost = 0.00000585;
    expect(Number(h.get('x-litellm-response-cost'))).toBeCloseTo(cost, 15);
    for (const [, v] of h) expect(v).not.toContain(UPSTREAM_KEY);
    const e = await eventOf(id);
    expect(e.responseCost).toBeCloseTo(cost, 15);
    expect(e.unpriced).toBeUndefined();
  });

  it('cached prompt tokens (OpenAI prompt_tokens_details.cached_tokens) at the cache-read price', async () => {
    up.setOptions({
      usage: {
        prompt_tokens: 2000,
        completion_tokens: 100,
        total_tokens: 2100,
        prompt_tokens_details: { cached_tokens: 1024 },
      },
    });
    const r = await post(`${engine.url}/v1/chat/completions`, { model: 'mini', messages: msgs }, auth);
    // 976 × 1.5e-7 + 1024 × 7.5e-8 + 100 × 6e-7
    expect(Number(r.headers.get('x-litellm-response-cost'))).toBeCloseTo(0.0002832, 15);
    expect((await eventOf(r.headers.get('x-request-id'))).responseCost).toBeCloseTo(0.0002832, 15);
  });

  it('a stream: the headers known at the first byte (no cost); the settled event carries the cost', async () => {
    const res = await fetch(`${engine.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mini', messages: msgs, stream: true, stream_options: { include_usage: true } }),
    });
    expect(res.status).toBe(200);
    const id = res.headers.get('x-request-id');
    expect(res.headers.get('x-litellm-call-id')).toBe(id);
    expect(res.headers.get('x-litellm-model-api-base')).toBe(`${up.url}/v1`);
    expect(res.headers.get('x-litellm-version')).toBe(VERSION);
    expect(res.headers.get('x-ratelimit-remaining-requests')).toBe('4999');
    expect(res.headers.get('x-litellm-response-cost')).toBeNull();
    expect(await res.text()).toContain('[DONE]');
    // "echo: hi" is two words: 11 × 1.5e-7 + 2 × 6e-7
    expect((await eventOf(id)).responseCost).toBeCloseTo(0.00000285, 15);
  });

  it('a stream with cached tokens in its usage chunk', async () => {
    up.setOptions({
      usage: { prompt_tokens: 2000, completion_tokens: 100, prompt_tokens_details: { cached_tokens: 1024 } },
    });
    const res = await fetch(`${engine.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mini', messages: msgs, stream: true, stream_options: { include_usage: true } }),
    });
    expect(await res.text()).toContain('"cached_tokens":1024');
    // 976 × 1.5e-7 + 1024 × 7.5e-8 + 100 × 6e-7
    expect((await eventOf(res.headers.get('x-request-id'))).responseCost).toBeCloseTo(0.0002832, 15);
  });

  it('a deployment priced in model_info', async () => {
    const r = await post(`${engine.url}/v1/chat/completions`, { model: 'custom', messages: msgs }, auth);
    // 11 × 1e-6 + 7 × 2e-6
    expect(Number(r.headers.get('x-litellm-response-cost'))).toBeCloseTo(0.000025, 15);
  });

  it('a model without a price: no cost header, unpriced on the event, warned once at start-up', async () => {
    const r = await post(`${engine.url}/v1/chat/completions`, { model: 'nameless', messages: msgs }, auth);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-litellm-response-cost')).toBeNull();
    const e = await eventOf(r.headers.get('x-request-id'));
    expect(e.unpriced).toBe(true);
    expect(e.responseCost).toBeUndefined();
    const warned = engine.logs.filter((l) => l.includes('no price known for') && l.includes('no-such-model-xyz'));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toContain('model_list[2].litellm_params.model');
  });

  it('a failed call costs 0 (priced model, no usage) and carries no cost header', async () => {
    up.setFault({ kind: 'status', status: 400, body: { error: { message: 'bad', type: 'invalid_request_error' } } });
    const r = await post(`${engine.url}/v1/chat/completions`, { model: 'mini', messages: msgs }, auth);
    expect(r.status).toBe(400);
    expect(r.headers.get('x-litellm-response-cost')).toBeNull();
    const e = await eventOf(r.headers.get('x-request-id'));
    expect(e.status).toBe('failure');
    expect(e.responseCost).toBe(0);
    expect(e.unpriced).toBeUndefined();
  });

  it('a wildcard deployment is priced by the model the request names', async () => {
    const r = await post(`${engine.url}/v1/chat/completions`, { model: 'gpt-4o-mini', messages: msgs }, auth);
    expect(r.headers.get('x-litellm-model-id')).toBe('dep-wild');
    // 11 × 1.5e-7 + 7 × 6e-7
    expect(Number(r.headers.get('x-litellm-response-cost'))).toBeCloseTo(0.00000585, 15);
    expect((await eventOf(r.headers.get('x-request-id'))).responseCost).toBeCloseTo(0.00000585, 15);
    const unknown = await post(`${engine.url}/v1/chat/completions`, { model: 'gpt-nope-xyz', messages: msgs }, auth);
    expect(unknown.headers.get('x-litellm-response-cost')).toBeNull();
    expect((await eventOf(unknown.headers.get('x-request-id'))).unpriced).toBe(true);
    expect(engine.logs.some((l) => l.includes('no price known for "openai/gpt-*"'))).toBe(false);
  });

  it('/v1/model/info shows the price fields, and unpriced for a model without one', async () => {
    const r = await fetch(`${engine.url}/v1/model/info`, { headers: auth });
    const data = ((await r.json()) as { data: { model_info: Record<string, unknown> }[] }).data;
    const info = (id: string) => data.find((d) => d.model_info.id === id)!.model_info;
    expect(info('dep-mini')).toMatchObject({
      input_cost_per_token: 1.5e-7,
      output_cost_per_token: 6e-7,
      cache_read_input_token_cost: 7.5e-8,
      max_input_tokens: 128000,
    });
    expect(info('dep-mini').unpriced).toBeUndefined();
    expect(info('dep-custom')).toMatchObject({ input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 });
    expect(info('dep-n1').unpriced).toBe(true);
  });
});
