/**
 * The OpenTelemetry sink against a local fake OTLP/HTTP receiver: one SERVER span `litellm_request` per
 * call with the GenAI attributes, resource service.name and OTEL_EXPORTER_OTLP_HEADERS; a W3C traceparent
 * makes it the caller's child; streams; a failure (status ERROR, error.type); http/protobuf; a collector
 * that is down (requests stay fast, drops counted); close() flushes what is queued.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FaultUpstream, startFaultUpstream } from '../fakes/fault-upstream.js';
import { type FakeUpstream, startOpenAIUpstream } from '../fakes/openai-upstream.js';
import { type FakeOtlpReceiver, type ReceivedSpan, startFakeOtlpReceiver } from '../fakes/otlp-receiver.js';
import { post, startTestEngine, type TestEngine } from './engine-helpers.js';
import { parseExposition, sum } from './prometheus-text.js';
import { sinkModels, startProxyCli } from './sink-fixtures.js';

const MASTER = 'sk-master-otel-0123';
const UPSTREAM_KEY = 'sk-upstream-otel-secret';
const OTLP_TOKEN = 'otlp-header-secret-value-42';
const auth = { authorization: `Bearer ${MASTER}` };
const msgs = [{ role: 'user', content: 'hello there' }];

let rx: FakeOtlpReceiver;
let up: FakeUpstream;
let primary: FaultUpstream;
let backup: FaultUpstream;
let engine: TestEngine;

const models = () => sinkModels(up.url, primary.base, backup.base, UPSTREAM_KEY);

const envOf = (r: FakeOtlpReceiver, extra: Record<string, string> = {}) => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: r.url,
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  OTEL_BSP_SCHEDULE_DELAY: '50',
  ...extra,
});

async function spanOf(r: FakeOtlpReceiver, callId: string | null): Promise<ReceivedSpan> {
  expect(callId).toBeTruthy();
  await r.until(() => r.spans.some((s) => s.attributes['litellm.call_id'] === callId));
  const found = r.spans.filter((s) => s.attributes['litellm.call_id'] === callId);
  expect(found).toHaveLength(1);
  return found[0]!;
}

beforeAll(async () => {
  rx = await startFakeOtlpReceiver();
  up = await startOpenAIUpstream();
  primary = await startFaultUpstream('primary');
  backup = await startFaultUpstream('backup');
  engine = await startTestEngine(
    {
      model_list: models(),
      router_settings: { fallbacks: [{ main: ['spare'] }], num_retries: 0, disable_cooldowns: true },
      litellm_settings: { callbacks: ['otel', 'prometheus'] },
      general_settings: { master_key: MASTER },
      // the service name and a header from the config's environment_variables
      environment_variables: {
        OTEL_SERVICE_NAME: 'kubiya-test',
        OTEL_EXPORTER_OTLP_HEADERS: `x-token=${OTLP_TOKEN}`,
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=staging,service.name=overridden',
      },
    },
    { apiKey: MASTER, env: envOf(rx) },
  );
});
afterAll(async () => {
  await engine?.close();
  await Promise.all([rx?.close(), up?.close(), primary?.close(), backup?.close()]);
});
beforeEach(() => {
  primary.script([]);
  backup.script([]);
});

describe('otel sink', () => {
  it('starts without a callback warning and says where it sends (no header value in the logs)', () => {
    const logs = engine.logs.join('\n');
    expect(logs).not.toMatch(/not supported yet; ignored: .*otel/);
    expect(logs).toContain('otel callback on');
    expect(logs).toContain(`${rx.url}/v1/traces`);
    expect(logs).not.toContain(OTLP_TOKEN);
  });

  it('a call: one SERVER span with the GenAI attributes, resource and headers', async () => {
    const metadata = { env: 'prod', n: 3, nested: { a: 1 } };
    const body = { model: 'gpt', messages: msgs, temperature: 0.2, max_tokens: 50, top_p: 0.9, metadata };
    const r = await post(`${engine.url}/v1/chat/completions`, body, auth);
    expect(r.status).toBe(200);
    const s = await spanOf(rx, r.headers.get('x-litellm-call-id'));
    expect(s.name).toBe('litellm_request');
    expect(s.kind).toBe(2); // SPAN_KIND_SERVER
    expect(s.parentSpanId).toBeUndefined();
    expect(s.status.code ?? 0).toBe(0);
    expect(s.resource['service.name']).toBe('kubiya-test'); // OTEL_SERVICE_NAME over OTEL_RESOURCE_ATTRIBUTES
    expect(s.resource['deployment.environment']).toBe('staging');
    expect(s.headers['x-token']).toBe(OTLP_TOKEN);
    expect(s.headers['content-type']).toContain('application/json');
    const u = r.json.usage;
    expect(s.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.system': 'openai',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt',
      'gen_ai.response.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': u.prompt_tokens,
      'gen_ai.usage.output_tokens': u.completion_tokens,
      'gen_ai.request.temperature': 0.2,
      'gen_ai.request.max_tokens': 50,
      'gen_ai.request.top_p': 0.9,
      'litellm.model_group': 'gpt',
      'litellm.model_id': 'dep-gpt',
      'litellm.api_base': `${up.url}/v1`,
      'litellm.attempted_retries': 0,
      'litellm.attempted_fallbacks': 0,
      'http.response.status_code': 200,
      'metadata.env': 'prod',
      'metadata.n': 3,
      'metadata.nested': '{"a":1}',
    });
    expect(s.attributes['litellm.response_cost']).toBeCloseTo(Number(r.headers.get('x-litellm-response-cost')), 12);
    expect(s.attributes['error.type']).toBeUndefined();
    expect(s.endMs).toBeGreaterThanOrEqual(s.startMs);
    expect(Math.abs(s.startMs - Date.now())).toBeLessThan(10_000);
    // no key, no prompt, no answer in what the collector got
    const raw = rx.calls.map((c) => c.raw).join('\n');
    expect(raw).not.toContain(UPSTREAM_KEY);
    expect(raw).not.toContain(MASTER);
    expect(raw).not.toContain('hello there');
  });

  it('a traceparent header: the span is a child of the caller span, in its trace', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parent = '00f067aa0ba902b7';
    const r = await post(
      `${engine.url}/v1/chat/completions`,
      { model: 'mocked', messages: msgs },
      { ...auth, traceparent: `00-${traceId}-${parent}-01` },
    );
    const s = await spanOf(rx, r.headers.get('x-litellm-call-id'));
    expect(s.traceId).toBe(traceId);
    expect(s.parentSpanId).toBe(parent);
    expect(s.spanId).not.toBe(parent);
    // a malformed one starts a trace of its own
    const bad = await post(
      `${engine.url}/v1/chat/completions`,
      { model: 'mocked', messages: msgs },
      { ...auth, traceparent: 'garbage' },
    );
    const b = await spanOf(rx, bad.headers.get('x-litellm-call-id'));
    expect(b.parentSpanId).toBeUndefined();
    expect(b.traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('a stream: one span with usage and time to first token', async () => {
    const r = await post(
      `${engine.url}/v1/chat/completions`,
      { model: 'mocked', messages: msgs, stream: true, stream_options: { include_usage: true } },
      auth,
    );
    expect(r.status).toBe(200);
    const s = await spanOf(rx, r.headers.get('x-litellm-call-id'));
    expect(s.attributes['litellm.stream']).toBe(true);
    expect(s.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    expect(s.attributes['litellm.time_to_first_token_ms']).toBeGreaterThanOrEqual(0);
    expect(rx.calls.map((c) => c.raw).join('')).not.toContain('Hi from the mock');
  });

  it('embeddings and text completions name their operation', async () => {
    const r = await post(`${engine.url}/v1/completions`, { model: 'mocked', prompt: 'hi' }, auth);
    const s = await spanOf(rx, r.headers.get('x-litellm-call-id'));
    expect(s.attributes['gen_ai.operation.name']).toBe('text_completion');
  });

  it('a failure after a fallback: status ERROR, error.type, fallbacks counted', async () => {
    primary.script([], { kind: 'status', status: 500 });
    backup.script([], { kind: 'status', status: 500 });
    const r = await post(`${engine.url}/v1/chat/completions`, { model: 'main', messages: msgs }, auth);
    expect(r.status).toBeGreaterThanOrEqual(500);
    const s = await spanOf(rx, r.headers.get('x-request-id'));
    expect(s.status.code).toBe(2); // STATUS_CODE_ERROR
    expect(s.status.message).toBeTruthy();
    expect(s.status.message).not.toContain(UPSTREAM_KEY);
    expect(s.attributes['error.type']).toBeTruthy();
    expect(s.attributes['litellm.status']).toBe('failure');
    expect(s.attributes['litellm.attempted_fallbacks']).toBe(1);
    expect(s.attributes['http.response.status_code']).toBe(r.status);
  });
});

describe('otel sink edges', () => {
  it('http/protobuf (the default protocol): spans arrive as protobuf with the headers', async () => {
    const r2 = await startFakeOtlpReceiver();
    const e = await startTestEngine(
      { model_list: models(), litellm_settings: { success_callback: ['otel'] } },
      {
        env: {
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${r2.url}/v1/traces`,
          OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20otlp-proto-secret',
          OTEL_BSP_SCHEDULE_DELAY: '50',
        },
      },
    );
    try {
      const r = await post(`${e.url}/v1/chat/completions`, { model: 'mocked', messages: msgs });
      expect(r.status).toBe(200);
      await r2.until(() => r2.calls.length > 0);
      const c = r2.calls[0]!;
      expect(c.headers['content-type']).toBe('application/x-protobuf');
      expect(c.headers.authorization).toBe('Bearer otlp-proto-secret');
      expect(c.raw).toContain('litellm_request');
      expect(c.raw).toContain('gen_ai.request.model');
      expect(c.raw).toContain('litellm'); // the default service.name
      expect(e.logs.join('\n')).not.toContain('otlp-proto-secret');
    } finally {
      await e.close();
      await r2.close();
    }
  });

  it('a collector that is down: requests stay fast, drops counted, close() is bounded', async () => {
    const r3 = await startFakeOtlpReceiver();
    r3.mode = 'fail';
    const e = await startTestEngine(
      { model_list: models(), litellm_settings: { callbacks: ['otel', 'prometheus'] } },
      { env: envOf(r3) },
    );
    try {
      const t0 = performance.now();
      for (let i = 0; i < 5; i++) {
        const r = await post(`${e.url}/v1/chat/completions`, { model: 'mocked', messages: msgs });
        expect(r.status).toBe(200);
      }
      expect(performance.now() - t0).toBeLessThan(1000);
      await r3.until(() => r3.calls.length > 0);
      let failures = 0;
      for (let i = 0; i < 100 && failures === 0; i++) {
        await new Promise((res) => setTimeout(res, 50));
        const x = parseExposition(await (await fetch(`${e.url}/metrics`)).text());
        failures = sum(x, 'litellm_callback_logging_failures_metric_total', { callback_name: 'otel' });
      }
      expect(failures).toBeGreaterThan(0);
      await r3.close(); // now nothing listens at all
      await post(`${e.url}/v1/chat/completions`, { model: 'mocked', messages: msgs });
      const c0 = performance.now();
      await e.close();
      expect(performance.now() - c0).toBeLessThan(7000);
      expect(e.logs.join('\n')).toContain('otel export failed: spans dropped');
    } finally {
      await r3.close();
    }
  }, 30_000);

  it('close() (SIGTERM) exports what is still queued before it resolves', async () => {
    const r4 = await startFakeOtlpReceiver();
    const e = await startTestEngine(
      { model_list: models(), litellm_settings: { callbacks: ['otel'] } },
      { env: { ...envOf(r4), OTEL_BSP_SCHEDULE_DELAY: '60000' } },
    );
    try {
      const ids: (string | null)[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await post(`${e.url}/v1/chat/completions`, { model: 'mocked', messages: msgs });
        ids.push(r.headers.get('x-litellm-call-id'));
      }
      await e.close();
      expect(r4.spans.map((s) => s.attributes['litellm.call_id'])).toEqual(ids);
    } finally {
      await r4.close();
    }
  });

  it('an unsupported protocol (grpc): a warning, the sink stays off, requests are served', async () => {
    const e = await startTestEngine(
      { model_list: models(), litellm_settings: { callbacks: ['otel'] } },
      { env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' } },
    );
    try {
      expect(e.logs.join('\n')).toContain('otel callback is off: protocol "grpc" is not supported');
      const r = await post(`${e.url}/v1/chat/completions`, { model: 'mocked', messages: msgs });
      expect(r.status).toBe(200);
    } finally {
      await e.close();
    }
  });
});

describe('kubiya proxy start with otel', () => {
  it('a YAML config with environment_variables: a call is traced, SIGTERM exports it before exit', async () => {
    const r5 = await startFakeOtlpReceiver();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubiya-otel-'));
    try {
      const { url, child, exit, output } = await startProxyCli(
        dir,
        [
          'model_list:',
          '  - model_name: mock',
          '    litellm_params: {model: openai/whatever, mock_response: "Hi from the mock."}',
          'litellm_settings:',
          '  callbacks: ["otel"]',
          'environment_variables:',
          `  OTEL_EXPORTER_OTLP_ENDPOINT: ${r5.url}`,
          '  OTEL_EXPORTER_OTLP_PROTOCOL: http/json',
          `  OTEL_EXPORTER_OTLP_HEADERS: x-token=${OTLP_TOKEN}`,
          '  OTEL_SERVICE_NAME: kubiya-cli',
        ],
        Object.keys(process.env).filter((k) => k.startsWith('OTEL_')),
      );
      try {
        const r = await post(`${url}/v1/chat/completions`, { model: 'mock', messages: msgs });
        expect(r.status).toBe(200);
        child.kill('SIGTERM'); // before the 1 s export period: close() must export it
        expect(await exit).toBe(0);
        expect(r5.spans).toHaveLength(1);
        expect(r5.spans[0]!.attributes['litellm.call_id']).toBe(r.headers.get('x-litellm-call-id'));
        expect(r5.spans[0]!.resource['service.name']).toBe('kubiya-cli');
        expect(r5.spans[0]!.headers['x-token']).toBe(OTLP_TOKEN);
        expect(output()).not.toContain('not supported yet');
        expect(output()).not.toContain(OTLP_TOKEN);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await r5.close();
    }
  }, 30_000);
});

describe('loading', () => {
  it('kubiya --help never loads the OpenTelemetry SDK (a resolve hook sees what is imported)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'otel-lazy-'));
    try {
      const hooks = path.join(dir, 'hooks.mjs');
      fs.writeFileSync(
        hooks,
        'export async function resolve(s, c, next) { const r = await next(s, c); ' +
          "if (r.url.includes('@opentelemetry')) process.stderr.write('LOADED ' + s + '\\n'); return r; }\n",
      );
      const reg = path.join(dir, 'register.mjs');
      fs.writeFileSync(
        reg,
        `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${hooks}`)});\n`,
      );
      const run = (args: string[]) => spawnSync(process.execPath, ['--import', reg, ...args], { encoding: 'utf8' });
      const help = run(['bin/kubiya.js', '--help']);
      expect(help.stdout).toContain('Usage');
      expect(help.stderr).not.toContain('LOADED');
      // the probe works: importing the module it watches for is seen
      const probe = run(['--input-type=module', '-e', "await import('@opentelemetry/api');"]);
      expect(probe.stderr).toContain('LOADED @opentelemetry/api');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
