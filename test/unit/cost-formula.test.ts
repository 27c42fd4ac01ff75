import { beforeAll, describe, expect, it } from 'vitest';
import { callCost, deploymentPrice, type PricedModel } from '../../src/engine/cost/cost.js';
import { bundledPrices, type PriceMap } from '../../src/engine/cost/prices.js';
import { rawUsage } from '../../src/engine/cost/usage.js';
import { usageOf as geminiUsage } from '../../src/engine/providers/google/response.js';
import { type TokenUsage, tokenUsage } from '../../src/engine/upstream/result.js';

// Expected values are written out from the bundled map's numbers (src/engine/cost/prices.json), never
// computed with the code under test.
let prices: PriceMap;
beforeAll(async () => {
  prices = await bundledPrices();
});

const usage = (u: Partial<TokenUsage>): TokenUsage => ({ ...tokenUsage({})!, ...u });

function priced(litellmModel: string, info: Record<string, unknown> = {}, params: Record<string, unknown> = {}) {
  const slash = litellmModel.indexOf('/');
  const m: PricedModel = {
    litellmModel,
    provider: litellmModel.slice(0, slash),
    model: litellmModel.slice(slash + 1),
    info,
    params,
  };
  return deploymentPrice(prices, m);
}

describe('the cost of a call (LiteLLM formula, bundled prices)', () => {
  it('prices an OpenAI model: gpt-4o-mini at $0.15 / $0.60 per million tokens', () => {
    const p = priced('openai/gpt-4o-mini')!;
    expect(p.source).toBe('gpt-4o-mini');
    // 1000 × 1.5e-7 + 500 × 6e-7
    expect(callCost(p, usage({ prompt: 1000, completion: 500 }), 0)).toBeCloseTo(0.00045, 15);
  });

  it('prices a Bedrock Claude model id with its provider prefix', () => {
    const p = priced('bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0')!;
    expect(p.source).toBe('anthropic.claude-3-5-sonnet-20240620-v1:0');
    // 2000 × 3e-6 + 300 × 1.5e-5
    expect(callCost(p, usage({ prompt: 2000, completion: 300 }), 0)).toBeCloseTo(0.0105, 15);
  });

  it('bills Anthropic cache reads and cache writes at their own prices', () => {
    const p = priced('anthropic/claude-sonnet-4-5-20250929')!;
    // prompt 3000 = 1500 text + 1000 cache reads + 500 cache writes:
    // 1500 × 3e-6 + 1000 × 3e-7 + 500 × 3.75e-6 + 100 × 1.5e-5
    const u = usage({ prompt: 3000, completion: 100, cached: 1000, cacheCreation: 500 });
    expect(callCost(p, u, 0)).toBeCloseTo(0.008175, 15);
  });

  it('bills cache writes kept an hour at cache_creation_input_token_cost_above_1hr, with its 200k tier', () => {
    const p = priced('anthropic/claude-sonnet-4-5')!;
    // 1500 written, 1000 of them for an hour: 500 × 3.75e-6 + 1000 × 6e-6 (+ 100 new × 3e-6)
    const small = usage({ prompt: 1600, cacheCreation: 1500, cacheCreation1h: 1000 });
    expect(callCost(p, small, 0)).toBeCloseTo(100 * 3e-6 + 500 * 3.75e-6 + 1000 * 6e-6, 15);
    // past 200k prompt tokens: 7.5e-6 a 5-minute write, 1.2e-5 an hour's, 6e-6 a new token
    const big = usage({ prompt: 250_000, cacheCreation: 1500, cacheCreation1h: 1000 });
    expect(callCost(p, big, 0)).toBeCloseTo(248_500 * 6e-6 + 500 * 7.5e-6 + 1000 * 1.2e-5, 12);
    // a model without an hour price bills those writes at its write price
    const old = priced('anthropic/claude-4-sonnet-20250514')!;
    expect(old.cacheCreation1h).toBeUndefined();
    expect(callCost(old, small, 0)).toBeCloseTo(callCost(old, usage({ prompt: 1600, cacheCreation: 1500 }), 0), 15);
  });

  it('reads the hour writes from Anthropic usage and from LiteLLM-shaped prompt details', () => {
    const anthropic = {
      input_tokens: 10,
      cache_creation_input_tokens: 30,
      cache_creation: { ephemeral_1h_input_tokens: 20 },
    };
    expect(tokenUsage(anthropic)).toMatchObject({ prompt: 40, cacheCreation: 30, cacheCreation1h: 20 });
    const openai = {
      prompt_tokens: 40,
      completion_tokens: 1,
      cache_creation_input_tokens: 30,
      prompt_tokens_details: { cached_tokens: 0, cache_creation_token_details: { ephemeral_1h_input_tokens: 20 } },
    };
    expect(tokenUsage(openai)).toMatchObject({ prompt: 40, cacheCreation: 30, cacheCreation1h: 20 });
    expect(tokenUsage({ prompt_tokens: 5, completion_tokens: 1 })!.cacheCreation1h).toBeUndefined();
  });

  it("bills xAI's reasoning tokens, which its completion_tokens leave out (its total holds them)", () => {
    const p = priced('xai/grok-4')!;
    const xai = {
      prompt_tokens: 32,
      completion_tokens: 9,
      total_tokens: 135,
      completion_tokens_details: { reasoning_tokens: 94 },
    };
    expect(tokenUsage(xai)).toMatchObject({ prompt: 32, completion: 103, reasoning: 94, total: 135 });
    // grok-4: 3e-6 input, 1.5e-5 output (no reasoning price: output)
    expect(callCost(p, tokenUsage(xai)!, 0)).toBeCloseTo(32 * 3e-6 + 103 * 1.5e-5, 15);
    // OpenAI's reasoning is inside completion_tokens: nothing added
    const openai = { ...xai, completion_tokens: 103, total_tokens: 135 };
    expect(tokenUsage(openai)).toMatchObject({ completion: 103, reasoning: 94 });
  });

  it("bills Gemini's tool-use prompt tokens as input and its thoughts as output", () => {
    // a grounded answer: 12 prompt (4 of them cached), 65 fed by the search tool, 71 answer, 89 thinking
    const meta = {
      promptTokenCount: 12,
      cachedContentTokenCount: 4,
      toolUsePromptTokenCount: 65,
      candidatesTokenCount: 71,
      thoughtsTokenCount: 89,
      totalTokenCount: 237,
    };
    const u = tokenUsage(geminiUsage(meta))!;
    expect(u).toMatchObject({ prompt: 77, completion: 160, total: 237, cached: 4, reasoning: 89 });
    // gemini-2.5-flash: 3e-7 input, 3e-8 cached, 2.5e-6 output and reasoning
    const p = priced('gemini/gemini-2.5-flash')!;
    expect(callCost(p, u, 0)).toBeCloseTo(73 * 3e-7 + 4 * 3e-8 + 160 * 2.5e-6, 15);
  });

  it("bills DeepSeek's prompt_cache_hit_tokens at the cache-read price", () => {
    const p = priced('deepseek/deepseek-chat')!;
    const u = tokenUsage({
      prompt_tokens: 1000,
      completion_tokens: 10,
      prompt_cache_hit_tokens: 800,
      prompt_cache_miss_tokens: 200,
    })!;
    expect(u.cached).toBe(800);
    // deepseek-chat: 2.8e-7 input, 2.8e-8 a cache hit, 4.2e-7 output
    expect(callCost(p, u, 0)).toBeCloseTo(200 * 2.8e-7 + 800 * 2.8e-8 + 10 * 4.2e-7, 15);
  });

  it('bills OpenAI cached_tokens at the cache-read price', () => {
    const p = priced('openai/gpt-4o-mini')!;
    // 976 × 1.5e-7 + 1024 × 7.5e-8 + 100 × 6e-7
    expect(callCost(p, usage({ prompt: 2000, cached: 1024, completion: 100 }), 0)).toBeCloseTo(0.0002832, 15);
  });

  it('bills reasoning tokens at output_cost_per_reasoning_token', () => {
    const p = priced('dashscope/qwen-turbo')!;
    // 100 × 5e-8 + (300 − 200) × 2e-7 + 200 × 5e-7
    expect(callCost(p, usage({ prompt: 100, completion: 300, reasoning: 200 }), 0)).toBeCloseTo(0.000125, 15);
  });

  it('bills reasoning tokens at the output price when the model has no reasoning price', () => {
    const p = priced('openai/o3-mini')!;
    // 100 × 1.1e-6 + 300 × 4.4e-6
    expect(callCost(p, usage({ prompt: 100, completion: 300, reasoning: 200 }), 0)).toBeCloseTo(0.00143, 15);
  });

  it('switches to the _above_200k_tokens prices once the prompt passes 200k tokens', () => {
    const p = priced('gemini/gemini-2.5-pro')!;
    // at 200,000 (not above): 200000 × 1.25e-6 + 1000 × 1e-5
    expect(callCost(p, usage({ prompt: 200_000, completion: 1000 }), 0)).toBeCloseTo(0.26, 12);
    // above: 250000 × 2.5e-6 + 1000 × 1.5e-5
    expect(callCost(p, usage({ prompt: 250_000, completion: 1000 }), 0)).toBeCloseTo(0.64, 12);
    // cache reads above the tier: 240000 × 2.5e-6 + 10000 × 2.5e-7 + 1000 × 1.5e-5
    expect(callCost(p, usage({ prompt: 250_000, cached: 10_000, completion: 1000 }), 0)).toBeCloseTo(0.6175, 12);
  });

  it('uses model_info.base_model, then per-deployment overrides (model_info over litellm_params)', () => {
    const base = priced('azure/my-deployment', { base_model: 'gpt-4o-mini' })!;
    expect(base.source).toBe('gpt-4o-mini');
    const over = priced(
      'openai/my-finetune',
      { input_cost_per_token: 0.000001 },
      { input_cost_per_token: 0.5, output_cost_per_token: '0.000002' },
    )!;
    expect(over.source).toBe('model_info');
    // 10 × 1e-6 + 20 × 2e-6
    expect(callCost(over, usage({ prompt: 10, completion: 20 }), 0)).toBeCloseTo(0.00005, 15);
    // an override of a priced model keeps the map's other fields (cache read 7.5e-8)
    const cheap = priced('openai/gpt-4o-mini', { output_cost_per_token: 0.000001 })!;
    // 900 × 1.5e-7 + 100 × 7.5e-8 + 10 × 1e-6
    expect(callCost(cheap, usage({ prompt: 1000, cached: 100, completion: 10 }), 0)).toBeCloseTo(0.0001525, 15);
  });

  it('bills input_cost_per_second by the call duration', () => {
    const p = priced('openai/my-hosted', { input_cost_per_second: 0.0001 })!;
    // 0.0001 $/s × 2.5 s
    expect(callCost(p, usage({ prompt: 10, completion: 10 }), 2500)).toBeCloseTo(0.00025, 15);
  });

  it('knows no price for an unknown model (the caller reports it unpriced)', () => {
    expect(priced('openai/no-such-model-anywhere')).toBeUndefined();
  });
});

describe('rawUsage', () => {
  it('reads the usage object of a raw answer from its end', () => {
    const raw = Buffer.from(
      JSON.stringify({
        id: 'x',
        choices: [{ message: { content: 'the "usage": {"prompt_tokens": 999}' } }],
        usage: { prompt_tokens: 11, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 3 } },
      }),
    );
    expect(rawUsage(raw)).toEqual({
      prompt_tokens: 11,
      completion_tokens: 7,
      prompt_tokens_details: { cached_tokens: 3 },
    });
    expect(rawUsage(Buffer.from('{"id":"x","choices":[]}'))).toBeUndefined();
    expect(rawUsage(Buffer.from('{"usage": null}'))).toBeUndefined();
  });
});
