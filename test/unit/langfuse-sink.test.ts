/**
 * The Langfuse sink on its own: which config turns it on (and which side, successes or failures), the
 * missing-key warning, the host default, the bounded queue (drops counted) and the event mapping.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { loadLiteLLMConfig } from '../../src/config/litellm/load.js';
import type { SettledEvent } from '../../src/engine/index.js';
import { isoTime, LangfuseSink, langfuseEvents } from '../../src/engine/observability/langfuse.js';
import { type LangfuseConfig, langfuseConfig } from '../../src/engine/observability/langfuse-config.js';

const load = (value: Record<string, unknown>) => loadLiteLLMConfig({ kind: 'object', value, label: 't' }, { env: {} });
const model_list = [{ model_name: 'g', litellm_params: { model: 'openai/a', mock_response: 'x' } }];
const KEYS = { LANGFUSE_PUBLIC_KEY: 'pk-lf-1', LANGFUSE_SECRET_KEY: 'sk-lf-1' };

function config(litellm_settings: Record<string, unknown>, env: Record<string, string> = KEYS) {
  const warnings: string[] = [];
  const c = langfuseConfig(load({ model_list, litellm_settings }).config, env, (m) => warnings.push(m));
  return { c, warnings };
}

function event(over: Partial<SettledEvent> = {}): SettledEvent {
  return {
    callId: 'c1',
    principal: { kind: 'master' },
    endpoint: 'chat',
    requestedModel: 'g',
    modelGroup: 'g',
    deploymentId: 'dep-a',
    litellmModel: 'openai/a',
    provider: 'openai',
    stream: false,
    status: 'success',
    httpStatus: 200,
    usage: { prompt: 3, completion: 4, total: 7, cached: 2, cacheCreation: 0, reasoning: 0 },
    usageReported: true,
    responseCost: 0.25,
    startTime: Date.UTC(2026, 0, 1),
    endTime: Date.UTC(2026, 0, 1) + 10,
    timeToFirstTokenMs: 4,
    durationMs: 10,
    upstreamMs: 8,
    attemptedRetries: 0,
    attemptedFallbacks: 0,
    attempts: 1,
    cacheHit: false,
    tags: [],
    ...over,
  };
}

describe('langfuseConfig', () => {
  it('off unless langfuse is listed; which side each list turns on', () => {
    expect(config({ callbacks: ['prometheus'] }).c).toBeUndefined();
    expect(config({ success_callback: ['langfuse'] }).c).toMatchObject({ successes: true, failures: false });
    expect(config({ failure_callback: 'langfuse' }).c).toMatchObject({ successes: false, failures: true });
    expect(config({ callbacks: ['langfuse'] }).c).toMatchObject({ successes: true, failures: true, content: true });
    expect(config({ callbacks: ['langfuse'], turn_off_message_logging: true }).c!.content).toBe(false);
  });

  it('host: the cloud by default, a bare host gets http://, no trailing slash', () => {
    expect(config({ callbacks: ['langfuse'] }).c!.host).toBe('https://cloud.langfuse.com');
    expect(config({ callbacks: ['langfuse'] }, { ...KEYS, LANGFUSE_HOST: 'lf.local:3000/' }).c!.host).toBe(
      'http://lf.local:3000',
    );
  });

  it('LANGFUSE_FLUSH_INTERVAL (seconds) sets the flush period', () => {
    expect(config({ callbacks: ['langfuse'] }).c!.flushMs).toBe(1000);
    expect(config({ callbacks: ['langfuse'] }, { ...KEYS, LANGFUSE_FLUSH_INTERVAL: '0.5' }).c!.flushMs).toBe(500);
    expect(config({ callbacks: ['langfuse'] }, { ...KEYS, LANGFUSE_FLUSH_INTERVAL: 'x' }).c!.flushMs).toBe(1000);
  });

  it('missing keys: a warning naming them, the sink off', () => {
    const { c, warnings } = config({ success_callback: ['langfuse'] }, {});
    expect(c).toBeUndefined();
    expect(warnings).toEqual([
      'langfuse callback is off: LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY are not set ' +
        '(set them in the environment or in environment_variables)',
    ]);
  });

  it('the loader no longer calls langfuse "not supported yet"; turn_off_message_logging is known', () => {
    const loaded = load({
      model_list,
      litellm_settings: { success_callback: ['langfuse'], turn_off_message_logging: true, langfuse_default_tags: [] },
    });
    expect(loaded.warnings).toEqual([]);
  });
});

describe('LangfuseSink', () => {
  const cfg: LangfuseConfig = {
    publicKey: 'pk',
    secretKey: 'sk',
    host: 'http://127.0.0.1:9', // never reached: nothing is flushed in these tests
    successes: true,
    failures: false,
    content: true,
    defaultTags: [],
    flushMs: 1000,
  };

  it('a bounded queue: beyond it events are dropped, counted and warned once', async () => {
    const warned: string[] = [];
    let dropped = 0;
    const s = new LangfuseSink({
      config: cfg,
      warn: (_f, m) => warned.push(m),
      onDrop: (n) => {
        dropped += n;
      },
      maxQueue: 4,
      flushMs: 60_000,
      batchSize: 1000,
    });
    for (let i = 0; i < 5; i++) s.observe(event({ callId: `c${i}` }));
    expect(s.dropped).toBe(6); // 2 calls fit (a trace and a generation each), 3 do not
    expect(dropped).toBe(6);
    expect(warned).toEqual(['langfuse queue full: events dropped']);
    s.observe(event({ status: 'failure' })); // failures are not asked for
    expect(s.dropped).toBe(6);
    await s.close(50);
  });

  it('maps usage details, cost, times and the generation name from the endpoint', () => {
    const [trace, gen] = langfuseEvents(event({ endpoint: 'embedding' }), cfg).map((j) => JSON.parse(j));
    expect(trace.type).toBe('trace-create');
    expect(trace.body).toMatchObject({ id: 'c1', name: 'litellm-aembedding' });
    expect(gen.type).toBe('generation-create');
    expect(gen.body).toMatchObject({
      id: 'c1',
      traceId: 'c1',
      model: 'a',
      startTime: '2026-01-01T00:00:00.000Z',
      endTime: '2026-01-01T00:00:00.010Z',
      completionStartTime: '2026-01-01T00:00:00.004Z',
      usage: { input: 3, output: 4, total: 7, unit: 'TOKENS', totalCost: 0.25 },
      usageDetails: { input: 3, output: 4, total: 7, cache_read_input_tokens: 2 },
      costDetails: { total: 0.25 },
      level: 'DEFAULT',
    });
    expect(gen.body.input).toBeUndefined(); // no content on the event: none sent
  });

  it("writes valid JSON whatever the strings hold; the call's own metadata wins; one copy of prompt and answer", () => {
    const tricky = 'quote " backslash \\ newline \n tab \t nul \u0000 line sep \u2028 lone \ud800 pair \ud83d\ude00';
    const e = event({
      callId: tricky,
      principal: { kind: 'virtual_key', keyAlias: 'team "a"', endUserId: tricky },
      metadata: { [tricky]: tricky, model_group: 'mine', nested: { k: [1, null, tricky] }, trace_user_id: 'tu' },
      tags: [tricky, 'b', tricky],
      request: { model: 'g', messages: [{ role: 'user', content: tricky }], temperature: 0.5, stop: ['x', tricky] },
      response: { role: 'assistant', content: tricky },
      responseCost: Number.NaN,
    });
    const texts = langfuseEvents(e, { ...cfg, defaultTags: ['model_group', 'user_api_key_alias', 'nested', 'none'] });
    const [trace, gen] = texts.map((j) => JSON.parse(j));
    expect(trace.body).toMatchObject({ id: tricky, userId: 'tu', input: [{ role: 'user', content: tricky }] });
    expect(trace.body.tags).toEqual([tricky, 'b', 'model_group:g', 'user_api_key_alias:team "a"']);
    expect(gen.body.name).toBe('litellm:team "a"');
    expect(gen.body.output).toEqual({ role: 'assistant', content: tricky });
    expect(gen.body.modelParameters).toEqual({ temperature: 0.5, stop: ['x', tricky] });
    // the requester's key of the same name as one of the call's own loses; the steering keys stay out
    expect(gen.body.metadata).toMatchObject({ [tricky]: tricky, model_group: 'g', nested: { k: [1, null, tricky] } });
    expect(gen.body.metadata.trace_user_id).toBeUndefined();
    expect(gen.body.usage.totalCost).toBeNull(); // as JSON.stringify writes a number that is not finite
    // the same text JSON.stringify writes for the strings, surrogates included
    expect(texts[1]).toContain(`"traceId":${JSON.stringify(tricky)}`);
  });

  it('times are written as Date#toISOString writes them, across second boundaries and fractional ms', () => {
    for (const t of [0, 999.9, 1000, 1767225599999.5, 1767225600000, 1767225600000.25, 1767225600009, 1767225600099]) {
      expect(isoTime(t)).toBe(new Date(t).toISOString());
      expect(isoTime(t + 0.75)).toBe(new Date(t + 0.75).toISOString());
    }
  });

  it("a POST carries up to batchSize events and stays under the API's 3.5 MB a batch", async () => {
    const batches: number[] = [];
    const bytes: number[] = [];
    const server = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        const body = Buffer.concat(parts);
        bytes.push(body.length);
        batches.push((JSON.parse(body.toString()) as { batch: unknown[] }).batch.length);
        res.writeHead(207, { 'content-type': 'application/json' }).end('{"successes":[],"errors":[]}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const host = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const s = new LangfuseSink({ config: { ...cfg, host }, warn: () => {}, flushMs: 60_000, batchSize: 4 });
    for (let i = 0; i < 5; i++) s.observe(event({ callId: `small${i}` })); // 10 small events
    const big = 'x'.repeat(450_000); // traces and generations of ~0.9 MB each (prompt and answer): one a POST
    for (let i = 0; i < 3; i++)
      s.observe(event({ callId: `big${i}`, request: { messages: [{ role: 'user', content: big }] }, response: big }));
    await s.close(5000);
    server.close();
    // batches of 4 (the last small call's events with the first big call's), then 3 big events: a fourth
    // would pass 3 MB
    expect(batches).toEqual([4, 4, 4, 3, 1]);
    expect(Math.max(...bytes)).toBeLessThan(3_500_000);
    expect(s.sent).toBe(16);
  });

  it('each ingestion event has its own UUID-shaped envelope id', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 2000; i++)
      for (const j of langfuseEvents(event({ callId: `c${i}` }), cfg)) ids.add(JSON.parse(j).id as string);
    expect(ids.size).toBe(4000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
