import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestEngine } from './engine-helpers.js';
import { chat, order, type Rig, reset, startRig } from './router-helpers.js';

let rig: Rig;
let engine: TestEngine;
beforeAll(async () => {
  rig = await startRig(['slow', 'fast', 'pair1', 'pair2', 'streamy', 'backup']);
  engine = await rig.engine({
    model_list: [
      rig.dep('hangs', 'slow', { timeout: 0.5 }),
      rig.dep('backup', 'backup'),
      rig.dep('pair', 'pair1', { timeout: 0.5, stream_timeout: 0.5 }),
      rig.dep('pair', 'pair2', { timeout: 0.5, stream_timeout: 0.5 }),
      rig.dep('streams', 'streamy', { stream_timeout: 0.5 }),
    ],
    router_settings: { fallbacks: [{ hangs: ['backup'] }, { streams: ['backup'] }], disable_cooldowns: true },
  });
});
afterAll(() => rig?.closeAll());
beforeEach(() => reset(rig));

/** SSE events of a raw response text. */
const events = (text: string) =>
  text
    .split('\n\n')
    .filter(Boolean)
    .map((e) => e.replace(/^data: /, ''));

describe('timeouts', () => {
  it('a hung upstream with timeout 0.5 s: the fallback answers within a few seconds', async () => {
    rig.ups.slow.script([], { kind: 'hang' });
    const t0 = Date.now();
    const r = await chat(engine, 'hangs');
    expect(r.status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(order(rig)).toEqual(['slow', 'backup']);
    expect(r.json.model).toBe('backup-model');
  });

  it('a hung upstream and nowhere else to go: 408 within a few seconds, never a hang', async () => {
    rig.ups.slow.script([], { kind: 'hang' });
    const t0 = Date.now();
    const r = await chat(engine, 'hangs', { disable_fallbacks: true });
    expect(r.status).toBe(408);
    expect(r.json.error.code).toBe('timeout');
    expect(Date.now() - t0).toBeLessThan(4000);
  });

  it('a timeout counts for retries: the other deployment of the group answers', async () => {
    rig.ups.pair1.script([], { kind: 'hang' });
    for (let i = 0; i < 30 && rig.ups.pair1.calls.length === 0; i++) {
      const t0 = Date.now();
      const r = await chat(engine, 'pair');
      expect(r.status).toBe(200);
      expect(r.json.model).toBe('pair2-model');
      if (rig.ups.pair1.calls.length) {
        expect(r.headers.get('x-litellm-attempted-retries')).toBe('1');
        expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
      }
    }
    expect(rig.ups.pair1.calls).toHaveLength(1);
  });

  it('stream_timeout bounds the wait for the first token, then the other deployment streams', async () => {
    rig.ups.pair1.script([], { kind: 'slow-first-token', ms: 3000 });
    for (let i = 0; i < 30 && rig.ups.pair1.calls.length === 0; i++) {
      const t0 = Date.now();
      const r = await chat(engine, 'pair', { stream: true });
      expect(r.status).toBe(200);
      expect(Date.now() - t0).toBeLessThan(2500);
      const ev = events(r.text);
      expect(ev.at(-1)).toBe('[DONE]');
      expect(
        ev
          .slice(0, -1)
          .map((e) => JSON.parse(e).choices[0]?.delta?.content ?? '')
          .join(''),
      ).toBe('pair2 says hi');
    }
    expect(rig.ups.pair1.calls).toHaveLength(1);
  });
});

describe('streams that break', () => {
  it('cut before the first byte reached the client: falls back, and the client sees only the fallback', async () => {
    rig.ups.streamy.script([{ kind: 'cut-stream', after: 0 }]);
    const r = await chat(engine, 'streams', { stream: true });
    expect(r.status).toBe(200);
    expect(order(rig)).toEqual(['streamy', 'backup']);
    expect(r.headers.get('x-litellm-attempted-fallbacks')).toBe('1');
    const chunks = events(r.text)
      .slice(0, -1)
      .map((e) => JSON.parse(e));
    expect(chunks.every((c) => c.model === 'backup-model')).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('backup says hi');
  });

  it('a 5xx before the stream starts falls back too', async () => {
    rig.ups.streamy.script([{ kind: 'status', status: 503 }]);
    const r = await chat(engine, 'streams', { stream: true });
    expect(r.status).toBe(200);
    expect(r.text).toContain('"model":"backup-model"');
    expect(order(rig)).toEqual(['streamy', 'backup']);
  });

  it('cut after chunks reached the client: an error event, then [DONE], never a hang', async () => {
    rig.ups.streamy.script([{ kind: 'cut-stream', after: 2 }]);
    const t0 = Date.now();
    const r = await chat(engine, 'streams', { stream: true });
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(r.status).toBe(200);
    const ev = events(r.text);
    expect(ev.at(-1)).toBe('[DONE]');
    expect(JSON.parse(ev.at(-2)!).error).toBeDefined();
    expect(JSON.parse(ev[0]).model).toBe('streamy-model');
    expect(order(rig)).toEqual(['streamy']); // no fallback once the client has bytes
  });
});
