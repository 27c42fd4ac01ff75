/**
 * The Langfuse sink against a local fake Langfuse (public ingestion API, basic auth): one trace and one
 * generation per call with model, usage, cost and times; streams; a failure after a fallback (level ERROR);
 * per-request metadata keys; turn_off_message_logging; keys from environment_variables; missing keys;
 * a Langfuse that is down (requests unaffected, drops counted); close() flushes what is queued.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FaultUpstream, startFaultUpstream } from '../fakes/fault-upstream.js';
import { type FakeLangfuse, startFakeLangfuse } from '../fakes/langfuse.js';
import { type FakeUpstream, startOpenAIUpstream } from '../fakes/openai-upstream.js';
import { post, recordSettled, startTestEngine, type TestEngine } from './engine-helpers.js';
import { parseExposition, sum } from './prometheus-text.js';
import { sinkModels, startProxyCli } from './sink-fixtures.js';

const MASTER = 'sk-master-langfuse-0123';
const UPSTREAM_KEY = 'sk-upstream-langfuse-secret';
const auth = { authorization: `Bearer ${MASTER}` };
const msgs = [{ role: 'user', content: 'hello there' }];

let lf: FakeLangfuse;
let up: FakeUpstream;
let primary: FaultUpstream;
let backup: FaultUpstream;
let engine: TestEngine;

const models = () => sinkModels(up.url, primary.base, backup.base, UPSTREAM_KEY);

/** The environment that points an engine at a fake Langfuse with its keys. */
const keysOf = (f: FakeLangfuse) => ({
  LANGFUSE_PUBLIC_KEY: f.publicKey,
  LANGFUSE_SECRET_KEY: f.secretKey,
  LANGFUSE_HOST: f.url,
});

/** The generation and trace of one call id (waits until the generation arrived). */
async function traceOf(fake: FakeLangfuse, callId: string | null, traceId = callId) {
  expect(callId).toBeTruthy();
  await fake.until(() => fake.generations().some((g) => g.body.metadata?.litellm_call_id === callId));
  const gens = fake.generations().filter((g) => g.body.metadata?.litellm_call_id === callId);
  const traces = fake.traces().filter((t) => t.body.id === traceId);
  return { gens, traces, gen: gens[0]?.body, trace: traces[0]?.body };
}

beforeAll(async () => {
  lf = await startFakeLangfuse();
  up = await startOpenAIUpstream();
  primary = await startFaultUpstream('primary');
  backup = await startFaultUpstream('backup');
  engine = await startTestEngine(
    {
      model_list: models(),
      router_settings: { fallbacks: [{ main: ['spare'] }], num_retries: 0, disable_cooldowns: true },
      litellm_settings: {
        callbacks: ['prometheus'],
        success_callback: ['langfuse'],
        failure_callback: ['langfuse'],
        langfuse_default_tags: ['cache_hit', 'model_group'],
      },
      general_settings: { master_key: MASTER },
    },
    {
      apiKey: MASTER,
      // the batches go out every 50 ms instead of every second: each test waits for its call's events
      env: { ...keysOf(lf), LANGFUSE_FLUSH_INTERVAL: '0.05' },
    },
  );
});
afterAll(async () => {
  await engine?.close();
  await Promise.all([lf?.close(), up?.close(), primary?.close(), backup?.close()]);
});
beforeEach(() => {
  primary.script([]);
  backup.script([]);
});

describe('langfuse sink', () => {
  it('starts without a callback warning and says it is on (no secret in the logs)', () => {
    const logs = engine.logs.join('\n');
    expect(logs).not.toMatch(/not supported yet; ignored: .*langfuse/);
    expect(logs).toContain('langfuse callback on');
    expect(logs).not.toContain(lf.secretKey);
  });

  it('a call: one trace and one generation with model, usage, cost, times, input and output', async () => {
    const r = await post(`${engine.url}/v1/chat/completions`, { model: 'gpt', messages: msgs, temperature: 0.2 }, auth);
    expect(r.status).toBe(200);
    const callId = r.headers.get('x-litellm-call-id');
    const { gens, traces, gen, trace } = await traceOf(lf, callId);
    expect(gens).toHaveLength(1);
    expect(traces).toHaveLength(1);
    expect(trace).toMatchObject({ id: callId, name: 'litellm-acompletion', input: msgs });
    expect(trace.tags).toEqual(['cache_hit:false', 'model_group:gpt']);
    expect(gen.traceId).toBe(callId);
    expect(gen.name).toBe('litellm-acompletion');
    expect(gen.model).toBe('gpt-4o');
    expect(gen.modelParameters).toEqual({ temperature: 0.2 });
    expect(gen.input).toEqual(msgs);
    expect(gen.output).toEqual(r.json.choices[0].message);
    const u = r.json.usage;
    expect(gen.usage).toMatchObject({
      input: u.prompt_tokens,
      output: u.completion_tokens,
      total: u.total_tokens,
      unit: 'TOKENS',
    });
    const cost = Number(r.headers.get('x-litellm-response-cost'));
    expect(cost).toBeGreaterThan(0);
    expect(gen.costDetails.total).toBeCloseTo(cost, 12);
    expect(gen.level).toBe('DEFAULT');
    expect(Date.parse(gen.endTime)).toBeGreaterThanOrEqual(Date.parse(gen.startTime));
    expect(gen.completionStartTime).toBeTruthy();
    expect(gen.metadata).toMatchObject({ model_group: 'gpt', model_id: 'dep-gpt', attempted_fallbacks: 0 });
    // no key, no header anywhere in what Langfuse got
    const raw = lf.calls.map((c) => c.raw).join('\n');
    expect(raw).not.toContain(UPSTREAM_KEY);
    expect(raw).not.toContain(MASTER);
    // the fake checked basic auth: public key as user, secret key as password
    expect(lf.calls.at(-1)!.headers.authorization).toBe(
      `Basic ${Buffer.from(`${lf.publicKey}:${lf.secretKey}`).toString('base64')}`,
    );
  });

  it('a stream: the assembled text as output, usage and time to first token', async () => {
    const r = await post(
      `${engine.url}/v1/chat/completions`,
      { model: 'mocked', messages: msgs, stream: true, stream_options: { include_usage: true } },
      auth,
    );
    expect(r.status).toBe(200);
    const { gens, gen } = await traceOf(lf, r.headers.get('x-litellm-call-id'));
    expect(gens).toHaveLength(1);
    expect(gen.output).toBe('Hi from the mock.');
    expect(gen.modelParameters).toMatchObject({ stream: true });
    expect(gen.completionStartTime).toBeTruthy();
    expect(gen.metadata.stream).toBe(true);
  });

  it('a failure after a fallback: one trace, level ERROR with the message, fallbacks in the metadata', async () => {
    primary.script([], { kind: 'status', status: 500 });
    backup.script([], { kind: 'status', status: 500 });
    const r = await post(`${engine.url}/v1/chat/completions`, { model: 'main', messages: msgs }, auth);
    expect(r.status).toBeGreaterThanOrEqual(500);
    const callId = r.headers.get('x-request-id');
    const { gens, traces, gen } = await traceOf(lf, callId);
    expect(gens).toHaveLength(1);
    expect(traces).toHaveLength(1);
    expect(gen.level).toBe('ERROR');
    expect(typeof gen.statusMessage).toBe('string');
    expect(gen.statusMessage.length).toBeGreaterThan(0);
    expect(gen.statusMessage).not.toContain(UPSTREAM_KEY);
    expect(gen.output).toBeUndefined();
    expect(gen.metadata).toMatchObject({ attempted_fallbacks: 1, model_group: 'spare', status: 'failure' });
    expect(gen.metadata.attempts.map((a: { model_group: string }) => a.model_group)).toEqual(['main', 'spare']);
  });

  it('per-request metadata: trace_id, session_id, generation_name, trace_name, trace_user_id, tags', async () => {
    const metadata = {
      trace_id: 'trace-abc-1',
      session_id: 'sess-9',
      generation_name: 'summarize',
      generation_id: 'gen-abc-1',
      trace_name: 'nightly-job',
      trace_user_id: 'user-42',
      tags: ['batch', 'eu'],
      project: 'apollo',
      trace_version: 'v7',
      mask_input: true,
    };
    const r = await post(`${engine.url}/v1/chat/completions`, { model: 'mocked', messages: msgs, metadata }, auth);
    expect(r.status).toBe(200);
    const { traces, gen, trace } = await traceOf(lf, r.headers.get('x-litellm-call-id'), 'trace-abc-1');
    expect(traces).toHaveLength(1);
    expect(trace).toMatchObject({
      id: 'trace-abc-1',
      name: 'nightly-job',
      sessionId: 'sess-9',
      userId: 'user-42',
      version: 'v7',
      tags: ['batch', 'eu', 'cache_hit:false', 'model_group:mocked'],
      input: 'redacted-by-litellm',
    });
    expect(gen).toMatchObject({ id: 'gen-abc-1', traceId: 'trace-abc-1', name: 'summarize' });
    expect(gen.metadata.project).toBe('apollo');
    expect(gen.metadata.trace_id).toBeUndefined();
    expect(gen.input).toBe('redacted-by-litellm'); // mask_input hides the prompt, not the answer
    expect(gen.output).toMatchObject({ content: 'Hi from the mock.' });
  });

  it('/v1/messages: the system prompt and messages as input, the answer as output', async () => {
    const r = await post(
      `${engine.url}/v1/messages`,
      { model: 'mocked', max_tokens: 50, system: 'be brief', messages: msgs },
      { 'x-api-key': MASTER },
    );
    expect(r.status).toBe(200);
    const { gen, trace } = await traceOf(lf, r.headers.get('x-litellm-call-id'));
    expect(trace.name).toBe('litellm-anthropic_messages');
    expect(gen.input).toEqual({ system: 'be brief', messages: msgs });
    expect(JSON.stringify(gen.output)).toContain('Hi from the mock.');
    expect(gen.modelParameters).toEqual({ max_tokens: 50 });
  });

  it('a rejected key (401) sends nothing, as LiteLLM', async () => {
    const before = lf.events.length;
    const r = await post(
      `${engine.url}/v1/chat/completions`,
      { model: 'mocked', messages: msgs },
      {
        authorization: 'Bearer sk-wrong',
      },
    );
    expect(r.status).toBe(401);
    // several flush periods (50 ms here) pass: had an event been queued, it would have been sent
    await new Promise((res) => setTimeout(res, 300));
    expect(lf.events.length).toBe(before);
  });

  it('existing_trace_id: the generation joins that trace, no trace is created', async () => {
    const before = lf.traces().length;
    const metadata = { existing_trace_id: 'outer-trace-7' };
    const r = await post(`${engine.url}/v1/chat/completions`, { model: 'mocked', messages: msgs, metadata }, auth);
    const { gen } = await traceOf(lf, r.headers.get('x-litellm-call-id'), 'outer-trace-7');
    expect(gen.traceId).toBe('outer-trace-7');
    expect(lf.traces().filter((t) => t.body.id === 'outer-trace-7')).toHaveLength(0);
    expect(lf.traces().length).toBe(before);
  });
});

describe('langfuse configuration', () => {
  it('turn_off_message_logging: no input or output, the rest unchanged', async () => {
    const fake = await startFakeLangfuse('pk-lf-quiet', 'sk-lf-quiet-secret');
    const e = await startTestEngine(
      {
        model_list: models(),
        litellm_settings: { success_callback: ['langfuse'], turn_off_message_logging: true },
      },
      { env: { ...keysOf(fake), LANGFUSE_FLUSH_INTERVAL: '0.05' } },
    );
    try {
      expect(e.logs.join('\n')).not.toContain('turn_off_message_logging');
      const r = await post(`${e.url}/v1/chat/completions`, { model: 'mocked', messages: msgs });
      const s = await post(`${e.url}/v1/chat/completions`, { model: 'mocked', messages: msgs, stream: true });
      const { gen, trace } = await traceOf(fake, r.headers.get('x-litellm-call-id'));
      expect(gen.usage.total).toBeGreaterThan(0);
      const streamed = await traceOf(fake, s.headers.get('x-litellm-call-id'));
      for (const body of [gen, trace, streamed.gen, streamed.trace]) {
        expect(body.input).toBeUndefined();
        expect(body.output).toBeUndefined();
      }
      expect(fake.calls.map((c) => c.raw).join('')).not.toContain('hello there');
    } finally {
      await e.close();
      await fake.close();
    }
  });

  it('per-request keys (metadata.langfuse_public_key, _secret_key, _host): that project gets the call', async () => {
    const own = await startFakeLangfuse('pk-lf-own', 'sk-lf-own-secret');
    const other = await startFakeLangfuse('pk-lf-other', 'sk-lf-other-secret-77');
    const e = await startTestEngine(
      { model_list: models(), litellm_settings: { callbacks: ['langfuse', 'prometheus'] } },
      { env: { ...keysOf(own), LANGFUSE_FLUSH_INTERVAL: '0.05' } },
    );
    const { eventOf } = recordSettled(e);
    try {
      const metadata = {
        langfuse_public_key: other.publicKey,
        langfuse_secret: other.secretKey, // LiteLLM's other name for the secret key
        langfuse_host: `${other.url}/`,
        project: 'apollo',
      };
      const r = await post(`${e.url}/v1/chat/completions`, { model: 'mocked', messages: msgs, metadata });
      const plain = await post(`${e.url}/v1/chat/completions`, { model: 'mocked', messages: msgs });
      const id = r.headers.get('x-litellm-call-id');
      const { gen } = await traceOf(other, id); // authenticated with the request's keys, or the fake refuses it
      expect(gen.metadata.project).toBe('apollo');
      await traceOf(own, plain.headers.get('x-litellm-call-id'));
      expect(own.generations().some((g) => g.body.id === id)).toBe(false);
      // the keys are in no payload and not in the event's metadata (what the spend log stores)
      const ev = await eventOf(id);
      expect(ev.metadata).toEqual({ project: 'apollo' });
      expect(ev.langfuseKeys).toEqual({
        publicKey: other.publicKey,
        secretKey: other.secretKey,
        host: `${other.url}/`,
      });
      const sent = [...own.calls, ...other.calls].map((c) => c.raw).join('');
      expect(sent).not.toContain(other.secretKey);
      // a host of another scheme: the call is not sent anywhere, the drop is counted
      const bad = { ...metadata, langfuse_host: 'ftp://127.0.0.1:9' };
      const b = await post(`${e.url}/v1/chat/completions`, { model: 'mocked', messages: msgs, metadata: bad });
      await eventOf(b.headers.get('x-litellm-call-id'));
      const m = parseExposition(await (await fetch(`${e.url}/metrics`)).text());
      expect(sum(m, 'litellm_callback_logging_failures_metric_total', { callback_name: 'langfuse' })).toBe(1);
    } finally {
      await e.close();
      await Promise.all([own.close(), other.close()]);
    }
  });

  it("the guide's example: keys in environment_variables, success_callback only (failures not sent)", async () => {
    const fake = await startFakeLangfuse('pk-lf-guide', 'sk-lf-guide-secret');
    const e = await startTestEngine({
      model_list: models(),
      litellm_settings: { success_callback: ['langfuse'] },
      environment_variables: {
        LANGFUSE_PUBLIC_KEY: fake.publicKey,
        LANGFUSE_SECRET_KEY: fake.secretKey,
        LANGFUSE_HOST: fake.url,
      },
    });
    try {
      const r = await post(`${e.url}/v1/chat/completions`, { model: 'mocked', messages: msgs });
      expect(r.status).toBe(200);
      const { gens } = await traceOf(fake, r.headers.get('x-litellm-call-id'));
      expect(gens).toHaveLength(1);
      const bad = await post(`${e.url}/v1/chat/completions`, { model: 'no-such-model', messages: msgs });
      expect(bad.status).toBe(400);
      await new Promise((res) => setTimeout(res, 1300));
      expect(fake.generations().some((g) => g.body.metadata.litellm_call_id === bad.headers.get('x-request-id'))).toBe(
        false,
      );
      expect(e.logs.join('\n')).not.toContain(fake.secretKey);
    } finally {
      await e.close();
      await fake.close();
    }
  });

  it('a missing key: a warning naming it, the sink off', async () => {
    const e = await startTestEngine(
      { model_list: models(), litellm_settings: { success_callback: ['langfuse'] } },
      { env: { LANGFUSE_PUBLIC_KEY: 'pk-lf-only' } },
    );
    try {
      const logs = e.logs.join('\n');
      expect(logs).toContain('langfuse callback is off: LANGFUSE_SECRET_KEY is not set');
      expect(logs).not.toContain('langfuse callback on');
    } finally {
      await e.close();
    }
  });

  it('a wrong key: Langfuse answers 401, events are dropped and counted, requests unaffected', async () => {
    const fake = await startFakeLangfuse('pk-lf-right', 'sk-lf-right-secret');
    const e = await startTestEngine(
      { model_list: models(), litellm_settings: { callbacks: ['prometheus', 'langfuse'] } },
      {
        env: { LANGFUSE_PUBLIC_KEY: 'pk-lf-right', LANGFUSE_SECRET_KEY: 'sk-lf-wrong-secret', LANGFUSE_HOST: fake.url },
      },
    );
    try {
      const r = await post(`${e.url}/v1/chat/completions`, { model: 'mocked', messages: msgs });
      expect(r.status).toBe(200);
      await e.close(); // flushes: two POSTs, both 401
      expect(fake.calls.length).toBe(2);
      expect(fake.events).toHaveLength(0);
      expect(e.logs.join('\n')).toContain('langfuse ingestion failed');
      expect(e.logs.join('\n')).not.toContain('sk-lf-wrong-secret');
    } finally {
      await e.close();
      await fake.close();
    }
  });

  it('a Langfuse that hangs: requests stay fast, close() waits a bounded time, warns of the drop', async () => {
    const fake = await startFakeLangfuse('pk-lf-slow', 'sk-lf-slow-secret');
    fake.mode = 'hang';
    const e = await startTestEngine(
      { model_list: models(), litellm_settings: { callbacks: ['prometheus', 'langfuse'] } },
      { env: keysOf(fake) },
    );
    try {
      const t0 = performance.now();
      for (let i = 0; i < 20; i++) {
        const r = await post(`${e.url}/v1/chat/completions`, { model: 'mocked', messages: msgs });
        expect(r.status).toBe(200);
      }
      expect(performance.now() - t0).toBeLessThan(2000);
      await new Promise((res) => setTimeout(res, 1200)); // a flush started and hangs
      const more = await post(`${e.url}/v1/chat/completions`, { model: 'mocked', messages: msgs });
      expect(more.status).toBe(200);
      const text = await (await fetch(`${e.url}/metrics`)).text();
      expect(text).toContain('litellm_proxy_total_requests_metric');
      const c0 = performance.now();
      await e.close();
      expect(performance.now() - c0).toBeLessThan(8000);
      expect(e.logs.join('\n')).toContain('langfuse: events still queued at shutdown were dropped');
    } finally {
      await e.close();
      await fake.close();
    }
  }, 20_000);

  it('a Langfuse that is down: drops counted in litellm_callback_logging_failures_metric', async () => {
    const fake = await startFakeLangfuse('pk-lf-down', 'sk-lf-down-secret');
    fake.mode = 'fail';
    const e = await startTestEngine(
      { model_list: models(), litellm_settings: { callbacks: ['prometheus', 'langfuse'] } },
      { env: keysOf(fake) },
    );
    try {
      const r = await post(`${e.url}/v1/chat/completions`, { model: 'mocked', messages: msgs });
      expect(r.status).toBe(200);
      await fake.until(() => fake.calls.length >= 2);
      await new Promise((res) => setTimeout(res, 100));
      const x = parseExposition(await (await fetch(`${e.url}/metrics`)).text());
      // a trace and a generation, retried once, then dropped
      expect(sum(x, 'litellm_callback_logging_failures_metric_total', { callback_name: 'langfuse' })).toBe(2);
    } finally {
      await e.close();
      await fake.close();
    }
  });

  it('close() (SIGTERM) sends what is still queued before it resolves', async () => {
    const fake = await startFakeLangfuse('pk-lf-close', 'sk-lf-close-secret');
    const e = await startTestEngine(
      { model_list: models(), litellm_settings: { success_callback: ['langfuse'] } },
      { env: keysOf(fake) },
    );
    try {
      const ids: (string | null)[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await post(`${e.url}/v1/chat/completions`, { model: 'mocked', messages: msgs });
        ids.push(r.headers.get('x-litellm-call-id'));
      }
      await e.close(); // well before the 1 s timer
      const sent = fake.generations().map((g) => g.body.metadata.litellm_call_id);
      expect(sent).toEqual(ids);
      expect(fake.traces()).toHaveLength(3);
    } finally {
      await fake.close();
    }
  });
});

describe('kubiya proxy start with langfuse', () => {
  it("the guide's config as YAML: a call is traced, SIGTERM sends it before the process exits", async () => {
    const fake = await startFakeLangfuse('pk-lf-cli', 'sk-lf-cli-secret');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubiya-langfuse-'));
    try {
      const { url, child, exit, output } = await startProxyCli(
        dir,
        [
          'model_list:',
          '  - model_name: mock',
          '    litellm_params: {model: openai/whatever, mock_response: "Hi from the mock."}',
          'litellm_settings:',
          '  success_callback: ["langfuse"]',
          'environment_variables:',
          `  LANGFUSE_PUBLIC_KEY: ${fake.publicKey}`,
          `  LANGFUSE_SECRET_KEY: ${fake.secretKey}`,
          `  LANGFUSE_HOST: ${fake.url}`,
        ],
        ['LANGFUSE_PUBLIC_KEY', 'LANGFUSE_SECRET_KEY', 'LANGFUSE_HOST'],
      );
      try {
        const r = await post(`${url}/v1/chat/completions`, { model: 'mock', messages: msgs });
        expect(r.status).toBe(200);
        child.kill('SIGTERM'); // before the 1 s flush timer: close() must send it
        expect(await exit).toBe(0);
        const gens = fake.generations();
        expect(gens).toHaveLength(1);
        expect(gens[0].body.metadata.litellm_call_id).toBe(r.headers.get('x-litellm-call-id'));
        expect(fake.traces()).toHaveLength(1);
        expect(output()).not.toContain('not supported yet');
        expect(output()).not.toContain(fake.secretKey);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await fake.close();
    }
  }, 30_000);
});
