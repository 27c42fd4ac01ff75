/**
 * The cost of a Bedrock Claude call end to end (the Kubiya guide's production setup): a whole answer
 * (x-litellm-response-cost and the settled event) and a stream (the settled event), through the fake
 * Bedrock runtime. Expected costs are written out from the bundled map's numbers for
 * us.anthropic.claude-3-5-haiku-20241022-v1:0: $8e-7 per input token, $4e-6 per output token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BedrockFake, startBedrockUpstream } from '../fakes/bedrock-upstream.js';
import { post, recordSettled, startTestEngine, type TestEngine } from './engine-helpers.js';

const KEY = { id: 'ASIASPENDKEY0000001', secret: 'spend-secret-0123456789abcdef' };
let fake: BedrockFake;
let engine: TestEngine;
let eventOf: ReturnType<typeof recordSettled>['eventOf'];

beforeAll(async () => {
  fake = await startBedrockUpstream({ [KEY.id]: { secret: KEY.secret } });
  engine = await startTestEngine(
    {
      model_list: [
        {
          model_name: 'claude',
          litellm_params: {
            model: 'bedrock/converse/us.anthropic.claude-3-5-haiku-20241022-v1:0',
            aws_bedrock_runtime_endpoint: fake.url,
          },
        },
      ],
      environment_variables: { AWS_ACCESS_KEY_ID: KEY.id, AWS_SECRET_ACCESS_KEY: KEY.secret, AWS_REGION: 'us-east-1' },
    },
    { env: { AWS_EC2_METADATA_DISABLED: 'true' } },
  );
  eventOf = recordSettled(engine).eventOf;
});
afterAll(async () => {
  await engine?.close();
  await fake?.close();
});

describe('a Bedrock Claude call costs', () => {
  it('2000 × 8e-7 + 300 × 4e-6 for a whole answer of 2000 input and 300 output tokens', async () => {
    fake.script({ type: 'text', text: 'hi there', usage: { input: 2000, output: 300 } });
    const r = await post(`${engine.url}/v1/chat/completions`, {
      model: 'claude',
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(r.status).toBe(200);
    expect(Number(r.headers.get('x-litellm-response-cost'))).toBeCloseTo(0.0028, 15);
    const e = await eventOf(r.headers.get('x-request-id'));
    expect(e.responseCost).toBeCloseTo(0.0028, 15);
    expect(e.provider).toBe('bedrock');
  });

  it('the same for a stream (on the settled event; no cost header)', async () => {
    fake.script({ type: 'text', text: 'hi there', usage: { input: 2000, output: 300 } });
    const res = await fetch(`${engine.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude', messages: [{ role: 'user', content: 'hello' }], stream: true }),
    });
    expect(res.headers.get('x-litellm-response-cost')).toBeNull();
    expect(await res.text()).toContain('[DONE]');
    expect((await eventOf(res.headers.get('x-request-id'))).responseCost).toBeCloseTo(0.0028, 15);
  });

  // Bedrock counts cache reads and writes apart from inputTokens: each is billed at its own price (the map's
  // 8e-8 a read, 1e-6 a written token), the prompt the client sees is all three (as LiteLLM reports it)
  const CACHED_COST = 1000 * 8e-7 + 3000 * 8e-8 + 500 * 1e-6 + 200 * 4e-6;
  it('cache reads and writes at their own prices: 1000 new, 3000 read, 500 written, 200 out', async () => {
    fake.script({ type: 'text', text: 'hi', usage: { input: 1000, output: 200, cacheRead: 3000, cacheWrite: 500 } });
    const r = await post(`${engine.url}/v1/chat/completions`, {
      model: 'claude',
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(r.status).toBe(200);
    expect(r.json.usage.prompt_tokens).toBe(4500);
    expect(r.json.usage.prompt_tokens_details.cached_tokens).toBe(3000);
    expect(Number(r.headers.get('x-litellm-response-cost'))).toBeCloseTo(CACHED_COST, 15);
    const e = await eventOf(r.headers.get('x-request-id'));
    expect(e.usage).toMatchObject({ prompt: 4500, completion: 200, cached: 3000, cacheCreation: 500 });
    expect(e.responseCost).toBeCloseTo(CACHED_COST, 15);
  });

  it('the same cached call streamed', async () => {
    fake.script({ type: 'text', text: 'hi', usage: { input: 1000, output: 200, cacheRead: 3000, cacheWrite: 500 } });
    const res = await fetch(`${engine.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude', messages: [{ role: 'user', content: 'hello' }], stream: true }),
    });
    await res.text();
    const e = await eventOf(res.headers.get('x-request-id'));
    expect(e.usage).toMatchObject({ prompt: 4500, cached: 3000, cacheCreation: 500 });
    expect(e.responseCost).toBeCloseTo(CACHED_COST, 15);
  });
});
