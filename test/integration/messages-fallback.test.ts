import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestEngine } from './engine-helpers.js';
import { type Rig, startRig } from './router-helpers.js';

let rig: Rig;
let engine: TestEngine;
let client: Anthropic;
beforeAll(async () => {
  rig = await startRig(['primary', 'backup']);
  engine = await rig.engine({
    model_list: [rig.dep('main', 'primary'), rig.dep('spare', 'backup')],
    router_settings: { fallbacks: [{ main: ['spare'] }] },
  });
  client = new Anthropic({ baseURL: engine.url, apiKey: 'none', maxRetries: 0 });
});
afterAll(async () => rig.closeAll());

const ask = { model: 'main', max_tokens: 16, messages: [{ role: 'user' as const, content: 'hi' }] };

describe('/v1/messages after a fallback', () => {
  it('names the group that answered, not the one that failed (non-stream)', async () => {
    rig.ups.primary.script([{ kind: 'status', status: 503 }]);
    const { data, response } = await client.messages.create(ask).withResponse();
    expect(response.headers.get('x-litellm-attempted-fallbacks')).toBe('1');
    expect(data.model).toBe('spare');
    expect(rig.ups.backup.calls.length).toBeGreaterThan(0);
  });

  it('names the group that answered in message_start (stream)', async () => {
    rig.ups.primary.script([{ kind: 'status', status: 503 }]);
    const stream = await client.messages.create({ ...ask, stream: true });
    let model: string | undefined;
    for await (const ev of stream) if (ev.type === 'message_start') model = ev.message.model;
    expect(model).toBe('spare');
  });

  it('echoes the requested name when no fallback was needed', async () => {
    const r = await client.messages.create(ask);
    expect(r.model).toBe('main');
  });
});
