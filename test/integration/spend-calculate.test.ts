/**
 * POST /spend/calculate (and /v1/spend/calculate): the cost of `{model, messages}` (prompt tokens only)
 * or `{model, completion_response}` (its usage), for served names (groups, aliases, overrides) and raw
 * model names in the price map; OpenAI-style 400s; behind the master key. Expected costs are written
 * out from the bundled map's numbers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, startTestEngine, type TestEngine } from './engine-helpers.js';

const MASTER = 'sk-master-spend-0123';
const auth = { authorization: `Bearer ${MASTER}` };
let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine(
    {
      model_list: [
        { model_name: 'mini', litellm_params: { model: 'openai/gpt-4o-mini', mock_response: 'ok' } },
        {
          model_name: 'custom',
          litellm_params: { model: 'openai/my-finetune', mock_response: 'ok' },
          model_info: { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 },
        },
      ],
      router_settings: { model_group_alias: { 'my-alias': 'mini' } },
      general_settings: { master_key: MASTER },
    },
    { apiKey: MASTER },
  );
});
afterAll(async () => {
  await engine?.close();
});

const calc = (body: unknown, path = '/spend/calculate', headers = auth) => post(`${engine.url}${path}`, body, headers);
const usage = { prompt_tokens: 2000, completion_tokens: 300, total_tokens: 2300 };

describe('POST /spend/calculate', () => {
  it('prices the prompt of {model, messages} with the tokenizer (completion 0)', async () => {
    const r = await calc({ model: 'mini', messages: [{ role: 'user', content: 'hello' }] });
    expect(r.status).toBe(200);
    // OpenAI counts 8 prompt tokens for one user message "hello": 8 × 1.5e-7
    expect(r.json.cost).toBeCloseTo(0.0000012, 15);
    const v1 = await calc({ model: 'my-alias', messages: [{ role: 'user', content: 'hello' }] }, '/v1/spend/calculate');
    expect(v1.json.cost).toBeCloseTo(0.0000012, 15);
  });

  it('prices the usage of {model, completion_response}: a served group, its override, raw map names', async () => {
    // 2000 × 1.5e-7 + 300 × 6e-7
    expect((await calc({ model: 'mini', completion_response: { usage } })).json.cost).toBeCloseTo(0.00048, 15);
    // 2000 × 1e-6 + 300 × 2e-6
    expect((await calc({ model: 'custom', completion_response: { usage } })).json.cost).toBeCloseTo(0.0026, 15);
    // a Bedrock Claude id, with and without its provider prefix: 2000 × 3e-6 + 300 × 1.5e-5
    for (const model of [
      'bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0',
      'anthropic.claude-3-5-sonnet-20240620-v1:0',
    ]) {
      expect((await calc({ model, completion_response: { usage } })).json.cost).toBeCloseTo(0.0105, 15);
    }
    // the model named inside the completion response; Anthropic cache reads and writes in its usage:
    // (3000 − 1000 − 500) × 3e-6 + 1000 × 3e-7 + 500 × 3.75e-6 + 100 × 1.5e-5
    const anthropic = {
      model: 'claude-sonnet-4-5-20250929',
      usage: {
        prompt_tokens: 3000,
        completion_tokens: 100,
        cache_read_input_tokens: 1000,
        cache_creation_input_tokens: 500,
      },
    };
    expect((await calc({ completion_response: anthropic })).json.cost).toBeCloseTo(0.008175, 15);
  });

  it('answers cost 0 and unpriced for a model without a price', async () => {
    const r = await calc({ model: 'no-such-model-xyz', completion_response: { usage } });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ cost: 0, unpriced: true });
  });

  it('400s name the missing parameter; 401 without the key', async () => {
    const noModel = await calc({ messages: [{ role: 'user', content: 'hello' }] });
    expect(noModel.status).toBe(400);
    expect(noModel.json.error).toMatchObject({ param: 'model', code: 'missing_required_parameter' });
    const noMessages = await calc({ model: 'mini' });
    expect(noMessages.status).toBe(400);
    expect(noMessages.json.error).toMatchObject({ param: 'messages' });
    expect(noMessages.json.error.message).toMatch(/messages.*completion_response/);
    const noUsage = await calc({ model: 'mini', completion_response: { id: 'x' } });
    expect(noUsage.status).toBe(400);
    expect(noUsage.json.error.param).toBe('completion_response');
    expect((await calc({ model: 'mini', completion_response: { usage } }, '/spend/calculate', {})).status).toBe(401);
  });
});
