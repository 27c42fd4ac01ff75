/**
 * Several models in one chat request (`"model": "a,b"`, LiteLLM's batch completion): a JSON list with one
 * completion per model, each call through the normal dispatch (retries, fallbacks) and settled with an event of
 * its own; an error in one slot leaves the others; streams are refused; a configured name with a comma is one model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FaultUpstream, startFaultUpstream } from '../fakes/fault-upstream.js';
import { post, recordSettled, startTestEngine, type TestEngine } from './engine-helpers.js';
import { generate } from './governance/key-helpers.js';

const MASTER = 'sk-master-batch-models';
const auth = { authorization: `Bearer ${MASTER}` };
const messages = [{ role: 'user', content: 'hello there' }];

describe('several models in one request', () => {
  let engine: TestEngine;
  let primary: FaultUpstream;
  let backup: FaultUpstream;
  let settled: ReturnType<typeof recordSettled>;

  beforeAll(async () => {
    primary = await startFaultUpstream('primary');
    backup = await startFaultUpstream('backup');
    engine = await startTestEngine(
      {
        model_list: [
          { model_name: 'mock-a', litellm_params: { model: 'openai/a', mock_response: 'from a' } },
          { model_name: 'mock-b', litellm_params: { model: 'openai/b', mock_response: 'from b' } },
          { model_name: 'comma,name', litellm_params: { model: 'openai/c', mock_response: 'one model' } },
          {
            model_name: 'flaky',
            litellm_params: { model: 'openai/flaky', api_base: primary.base, api_key: 'k1' },
            model_info: { id: 'dep-flaky' },
          },
          {
            model_name: 'rescue',
            litellm_params: { model: 'openai/rescue', api_base: backup.base, api_key: 'k2' },
            model_info: { id: 'dep-rescue' },
          },
        ],
        router_settings: { num_retries: 0, fallbacks: [{ flaky: ['rescue'] }] },
        general_settings: { master_key: MASTER },
      },
      { apiKey: MASTER },
    );
    settled = recordSettled(engine);
  });
  afterAll(async () => {
    await engine?.close();
    await primary?.close();
    await backup?.close();
  });

  it('answers a list with one completion per model, in the order asked, each settled on its own', async () => {
    const r = await post(`${engine.url}/v1/chat/completions`, { model: 'mock-a, mock-b', messages }, auth);
    expect(r.status).toBe(200);
    expect(Array.isArray(r.json)).toBe(true);
    expect(r.json.map((c: any) => c.object)).toEqual(['chat.completion', 'chat.completion']);
    expect(r.json.map((c: any) => c.choices[0].message.content)).toEqual(['from a', 'from b']);
    const id = r.headers.get('x-request-id');
    const [a, b] = await Promise.all([settled.eventOf(`${id}.1`), settled.eventOf(`${id}.2`)]);
    expect(a).toMatchObject({ requestedModel: 'mock-a', modelGroup: 'mock-a', status: 'success', httpStatus: 200 });
    expect(b).toMatchObject({ requestedModel: 'mock-b', modelGroup: 'mock-b', status: 'success' });
    expect(a.usage.completion).toBeGreaterThan(0);
    // the request itself settles no event of its own (its sub-calls account for it)
    expect(settled.events.filter((e) => e.callId === id)).toEqual([]);
  });

  it('each model goes through fallbacks; a failing model holds its error and leaves the others', async () => {
    primary.script([{ kind: 'status', status: 500 }]);
    const r = await post(`${engine.url}/v1/chat/completions`, { model: 'flaky,mock-a,nope', messages }, auth);
    expect(r.status).toBe(200);
    expect(r.json).toHaveLength(3);
    // flaky failed upstream and its fallback answered
    expect(r.json[0].object).toBe('chat.completion');
    expect(backup.calls.length).toBe(1);
    expect(r.json[1].choices[0].message.content).toBe('from a');
    expect(r.json[2].error).toMatchObject({ code: 'model_not_found', param: 'model' });
    const id = r.headers.get('x-request-id');
    const flaky = await settled.eventOf(`${id}.1`);
    expect(flaky).toMatchObject({ status: 'success', modelGroup: 'rescue', attemptedFallbacks: 1 });
    const nope = await settled.eventOf(`${id}.3`);
    expect(nope).toMatchObject({ status: 'failure', httpStatus: 400, requestedModel: 'nope' });
  });

  it('takes LiteLLM list form too, refuses stream and too many models with a 400', async () => {
    const list = await post(`${engine.url}/v1/chat/completions`, { model: ['mock-b', 'mock-a'], messages }, auth);
    expect(list.json.map((c: any) => c.choices[0].message.content)).toEqual(['from b', 'from a']);
    const stream = await post(
      `${engine.url}/v1/chat/completions`,
      { model: 'mock-a,mock-b', messages, stream: true },
      auth,
    );
    expect(stream.status).toBe(400);
    expect(stream.json.error).toMatchObject({ param: 'stream', code: 'invalid_value' });
    const many = Array.from({ length: 11 }, () => 'mock-a').join(',');
    const tooMany = await post(`${engine.url}/v1/chat/completions`, { model: many, messages }, auth);
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.error.message).toContain('at most 10 models');
    const empty = await post(`${engine.url}/v1/chat/completions`, { model: 'mock-a,,mock-b', messages }, auth);
    expect(empty.status).toBe(400);
    expect(empty.json.error.param).toBe('model');
  });

  it('a virtual key is admitted per model: a model it may not call holds its 403, the others answer', async () => {
    const k = await generate(engine, { models: ['mock-a'] }, MASTER);
    const r = await post(
      `${engine.url}/v1/chat/completions`,
      { model: 'mock-a,mock-b', messages },
      { authorization: `Bearer ${k.key}` },
    );
    expect(r.status).toBe(200);
    expect(r.json[0].choices[0].message.content).toBe('from a');
    expect(r.json[1].error).toMatchObject({ type: 'key_model_access_denied', code: '403' });
  });

  it('a configured model name holding a comma is one model, answered as usual', async () => {
    const r = await engine.openai.chat.completions.create({ model: 'comma,name', messages: [...messages] as any });
    expect(r.choices[0].message.content).toBe('one model');
  });
});
