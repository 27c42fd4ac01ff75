import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANTHROPIC_FAKE_KEY, startAnthropicUpstream } from '../fakes/anthropic-upstream.js';
import { post, type TestEngine } from './engine-helpers.js';
import { type Rig, startRig } from './router-helpers.js';

let rig: Rig;
let engine: TestEngine;
let claude: Awaited<ReturnType<typeof startAnthropicUpstream>>;
beforeAll(async () => {
  rig = await startRig(['primary', 'backup']);
  claude = await startAnthropicUpstream();
  engine = await rig.engine({
    model_list: [
      rig.dep('main', 'primary'),
      rig.dep('spare', 'backup'),
      {
        model_name: 'claude',
        litellm_params: {
          model: 'anthropic/claude-3-5-sonnet-20241022',
          api_base: claude.url,
          api_key: ANTHROPIC_FAKE_KEY,
        },
      },
    ],
    router_settings: { fallbacks: [{ main: ['spare'] }, { claude: ['spare'] }] },
  });
});
afterAll(async () => {
  await rig.closeAll();
  await claude.close();
});

const stream = (model: string) =>
  post(`${engine.url}/v1/chat/completions`, { model, stream: true, messages: [{ role: 'user', content: 'hi' }] });
/** The `data:` payloads of an SSE body, parsed (except [DONE]). */
const events = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('data: ') && l !== 'data: [DONE]')
    .map((l) => JSON.parse(l.slice(6)));

describe('a stream that breaks before its first token falls back', () => {
  it('cut right after the role-only opening chunk: the client sees only the fallback', async () => {
    rig.ups.primary.script([{ kind: 'cut-stream', after: 1 }]);
    const r = await stream('main');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-litellm-attempted-fallbacks')).toBe('1');
    const ev = events(r.text);
    expect(ev.some((e) => e.error)).toBe(false);
    expect(ev.every((e) => e.model === 'backup-model')).toBe(true);
    expect(r.text).toContain('data: [DONE]');
  });

  it('Anthropic overloaded_error right after message_start: falls back instead of an error event', async () => {
    claude.streamFault('error-at-start');
    claude.script({ type: 'text', text: 'hello there', usage: { input: 3, output: 2 } });
    try {
      const r = await stream('claude');
      expect(r.headers.get('x-litellm-attempted-fallbacks')).toBe('1');
      const ev = events(r.text);
      expect(ev.some((e) => e.error)).toBe(false);
      expect(ev.map((e) => e.choices?.[0]?.delta?.content ?? '').join('')).toContain('backup');
    } finally {
      claude.streamFault(undefined);
    }
  });

  it('a break after a token reached the client still ends with an error event and [DONE]', async () => {
    rig.ups.primary.script([{ kind: 'cut-stream', after: 2 }]);
    const r = await stream('main');
    expect(r.headers.get('x-litellm-attempted-fallbacks')).toBe('0');
    expect(events(r.text).some((e) => e.error)).toBe(true);
    expect(r.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('a first token later than stream_timeout: 408 naming the configured stream_timeout', async () => {
    rig.ups.primary.script([{ kind: 'slow-first-token', ms: 1500 }]);
    const r = await post(`${engine.url}/v1/chat/completions`, {
      model: 'main',
      stream: true,
      stream_timeout: 0.5,
      disable_fallbacks: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(r.status).toBe(408);
    expect(r.json.error.message).toMatch(/stream timeout \(0\.5s\)/);
  });
});
