import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, startTestEngine, type TestEngine } from './engine-helpers.js';

let engine: TestEngine;
beforeAll(async () => {
  engine = await startTestEngine({ model_list: [{ model_name: 'demo', litellm_params: { model: 'openai/gpt-4o', mock_response: 'hi' } }] });
});
afterAll(async () => engine?.close());

describe('request validation messages', () => {
  it('a model that is not a string is called invalid, not missing', async () => {
    const r = await post(`${engine.url}/v1/chat/completions`, { model: 5, messages: [{ role: 'user', content: 'x' }] });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ param: 'model', code: 'invalid_type' });
    expect(r.json.error.message).not.toMatch(/missing/i);
    const missing = await post(`${engine.url}/chat/completions`, { messages: [{ role: 'user', content: 'x' }] });
    expect(missing.json.error).toMatchObject({ param: 'model', code: 'missing_required_parameter' });
  });

  it('an empty messages list and a stream flag that is not a boolean are 400s naming the parameter', async () => {
    const empty = await post(`${engine.url}/v1/chat/completions`, { model: 'demo', messages: [] });
    expect(empty.status).toBe(400);
    expect(empty.json.error).toMatchObject({ param: 'messages', code: 'invalid_value', type: 'invalid_request_error' });
    const st = await post(`${engine.url}/v1/chat/completions`, { model: 'demo', stream: 'yes', messages: [{ role: 'user', content: 'x' }] });
    expect(st.status).toBe(400);
    expect(st.json.error).toMatchObject({ param: 'stream', code: 'invalid_type' });
    expect(st.json.error.message).toContain('"yes"');
  });
});
