/**
 * Metadata everywhere and content nowhere it must not be, with Prometheus, Langfuse and OpenTelemetry on
 * at once: the config's custom metadata (`litellm_settings.metadata`) under the request's, tags from the
 * body and the `x-litellm-tags` header, `x-litellm-spend-logs-metadata` and the end user reach the settled
 * event and every sink; `turn_off_message_logging`, `mask_input` / `mask_output` and
 * `x-litellm-enable-message-redaction` keep prompts and answers out of every sink.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SettledEvent } from '../../src/engine/observability/settled.js';
import { type FakeLangfuse, startFakeLangfuse } from '../fakes/langfuse.js';
import { type FakeOtlpReceiver, type ReceivedSpan, startFakeOtlpReceiver } from '../fakes/otlp-receiver.js';
import { post, recordSettled, startTestEngine, type TestEngine } from './engine-helpers.js';
import { parseExposition, select } from './prometheus-text.js';

const MASTER = 'sk-master-sinkmeta-0123';
const auth = { authorization: `Bearer ${MASTER}` };
// a prompt and an answer no sink may carry when content is off (the answer is the mock's)
const PROMPT = 'prompt-marker-7f3a: my card number is 4111';
const ANSWER = 'answer-marker-9c2e from the mock';
const msgs = [{ role: 'user', content: PROMPT }];

interface Sinks {
  engine: TestEngine;
  lf: FakeLangfuse;
  rx: FakeOtlpReceiver;
  eventOf: (callId: string | null) => Promise<SettledEvent>;
}

async function startSinks(litellm_settings: Record<string, unknown>): Promise<Sinks> {
  const lf = await startFakeLangfuse();
  const rx = await startFakeOtlpReceiver();
  const engine = await startTestEngine(
    {
      model_list: [
        {
          model_name: 'mocked',
          litellm_params: { model: 'openai/whatever', mock_response: ANSWER },
          model_info: { id: 'dep-mock' },
        },
      ],
      litellm_settings: { callbacks: ['prometheus', 'langfuse', 'otel'], ...litellm_settings },
      general_settings: { master_key: MASTER },
    },
    {
      apiKey: MASTER,
      env: {
        LANGFUSE_PUBLIC_KEY: lf.publicKey,
        LANGFUSE_SECRET_KEY: lf.secretKey,
        LANGFUSE_HOST: lf.url,
        LANGFUSE_FLUSH_INTERVAL: '0.05',
        OTEL_EXPORTER_OTLP_ENDPOINT: rx.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '50',
      },
    },
  );
  return { engine, lf, rx, eventOf: recordSettled(engine).eventOf };
}

async function stopSinks(s: Sinks | undefined): Promise<void> {
  await s?.engine.close();
  await Promise.all([s?.lf.close(), s?.rx.close()]);
}

/** The request's trace, generation and span, once each sink has it. */
async function sinksOf(s: Sinks, callId: string | null) {
  expect(callId).toBeTruthy();
  const { lf, rx } = s;
  await lf.until(() => lf.generations().some((g) => g.body.id === callId));
  await rx.until(() => rx.spans.some((x) => x.attributes['litellm.call_id'] === callId));
  const gen = lf.generations().find((g) => g.body.id === callId)?.body;
  const trace = lf.traces().find((t) => t.body.id === callId)?.body;
  const span = rx.spans.find((x) => x.attributes['litellm.call_id'] === callId) as ReceivedSpan;
  return { gen, trace, span };
}

/** Everything the sinks received or expose, as text. */
async function everythingSent(s: Sinks): Promise<string> {
  const metrics = await (await fetch(`${s.engine.url}/metrics`)).text();
  return [...s.lf.calls.map((c) => c.raw), ...s.rx.calls.map((c) => c.raw), metrics].join('\n');
}

describe('metadata everywhere', () => {
  let s: Sinks;
  beforeAll(async () => {
    s = await startSinks({
      metadata: { environment: 'prod', project: 'apollo', team: 'platform' },
      custom_prometheus_metadata_labels: ['metadata.environment', 'metadata.project'],
      custom_prometheus_tags: ['nightly', 'batch'],
    });
  });
  afterAll(() => stopSinks(s));

  it('config metadata under the request one, body and header tags, spend-logs metadata, the end user', async () => {
    const body = {
      model: 'mocked',
      messages: msgs,
      user: 'end-user-7',
      tags: ['batch'],
      metadata: { project: 'zeus', run: 42, spend_logs_metadata: { job: 'etl', owner: 'a' } },
    };
    const r = await post(`${s.engine.url}/v1/chat/completions`, body, {
      ...auth,
      'x-litellm-tags': 'nightly, eu ,batch',
      'x-litellm-spend-logs-metadata': '{"owner":"b","ticket":"T-9"}',
    });
    expect(r.status).toBe(200);
    const callId = r.headers.get('x-litellm-call-id');

    // the event the spend-log writer reads
    const e = await s.eventOf(callId);
    expect(e.metadata).toMatchObject({ environment: 'prod', team: 'platform', project: 'zeus', run: 42 });
    expect(e.tags).toEqual(['batch', 'nightly', 'eu']);
    expect(e.spendLogsMetadata).toEqual({ job: 'etl', owner: 'b', ticket: 'T-9' });
    expect(e.principal.endUserId).toBe('end-user-7');

    const { gen, trace, span } = await sinksOf(s, callId);
    // Langfuse: trace tags and user, generation metadata
    expect(trace.tags).toEqual(expect.arrayContaining(['batch', 'nightly', 'eu']));
    expect(trace.userId).toBe('end-user-7');
    expect(gen.metadata).toMatchObject({
      environment: 'prod',
      team: 'platform',
      project: 'zeus',
      run: 42,
      spend_logs_metadata: { job: 'etl', owner: 'b', ticket: 'T-9' },
    });
    // OpenTelemetry: metadata.* attributes, every tag, the end user
    expect(span.attributes).toMatchObject({
      'metadata.environment': 'prod',
      'metadata.team': 'platform',
      'metadata.project': 'zeus',
      'metadata.run': 42,
      'llm.user': 'end-user-7',
      'litellm.tags': ['batch', 'nightly', 'eu'],
    });
    expect(JSON.parse(span.attributes['metadata.tags'] as string)).toEqual(['batch', 'nightly', 'eu']);
    expect(JSON.parse(span.attributes['metadata.spend_logs_metadata'] as string)).toEqual({
      job: 'etl',
      owner: 'b',
      ticket: 'T-9',
    });
    // Prometheus: the configured metadata and tag labels only (the end user stays empty: cardinality)
    const m = parseExposition(await (await fetch(`${s.engine.url}/metrics`)).text());
    const [total] = select(m, 'litellm_proxy_total_requests_metric_total', { status_code: '200' });
    expect(total?.labels).toMatchObject({
      metadata_environment: 'prod',
      metadata_project: 'zeus',
      tag_nightly: 'true',
      tag_batch: 'true',
      end_user: '',
    });
    expect(total?.labels).not.toHaveProperty('metadata_team');
  });

  it('without metadata or headers: the config metadata alone; a spend-logs header not JSON is ignored', async () => {
    const r = await post(
      `${s.engine.url}/v1/chat/completions`,
      { model: 'mocked', messages: msgs },
      {
        ...auth,
        'x-litellm-spend-logs-metadata': '{not json',
      },
    );
    expect(r.status).toBe(200);
    const e = await s.eventOf(r.headers.get('x-litellm-call-id'));
    expect(e.metadata).toEqual({ environment: 'prod', project: 'apollo', team: 'platform' });
    expect(e.tags).toEqual([]);
    expect(e.spendLogsMetadata).toBeUndefined();
    const { span } = await sinksOf(s, r.headers.get('x-litellm-call-id'));
    expect(span.attributes['metadata.project']).toBe('apollo');
    expect(span.attributes).not.toHaveProperty('metadata.spend_logs_metadata');
  });
});

describe('prompts and answers kept out of every sink', () => {
  it('turn_off_message_logging: no prompt or answer in Langfuse, OTLP, /metrics or the settled event', async () => {
    const s = await startSinks({ turn_off_message_logging: true, metadata: { environment: 'prod' } });
    try {
      const ids: (string | null)[] = [];
      for (const stream of [false, true]) {
        const r = await post(`${s.engine.url}/v1/chat/completions`, { model: 'mocked', messages: msgs, stream }, auth);
        expect(r.status).toBe(200);
        expect(r.text).toContain(stream ? 'answer-marker' : ANSWER); // the client got it
        ids.push(r.headers.get('x-litellm-call-id'));
      }
      for (const id of ids) {
        const e = await s.eventOf(id);
        expect(e.request).toBeUndefined();
        expect(e.response).toBeUndefined();
        const { gen, trace, span } = await sinksOf(s, id);
        expect(gen.input).toBeUndefined();
        expect(trace.output).toBeUndefined();
        expect(gen.metadata.environment).toBe('prod'); // metadata still goes
        expect(span.attributes['metadata.environment']).toBe('prod');
      }
      const sent = await everythingSent(s);
      expect(sent).not.toContain('prompt-marker');
      expect(sent).not.toContain('answer-marker');
    } finally {
      await stopSinks(s);
    }
  });

  describe('per request, with message logging on', () => {
    let s: Sinks;
    beforeAll(async () => {
      s = await startSinks({});
    });
    afterAll(() => stopSinks(s));

    it('metadata.mask_input and mask_output: the marker instead of prompt and answer, in every sink', async () => {
      const ids: (string | null)[] = [];
      for (const stream of [false, true]) {
        const metadata = { mask_input: true, mask_output: true };
        const r = await post(
          `${s.engine.url}/v1/chat/completions`,
          { model: 'mocked', messages: msgs, stream, metadata },
          auth,
        );
        expect(r.status).toBe(200);
        ids.push(r.headers.get('x-litellm-call-id'));
      }
      for (const id of ids) {
        const e = await s.eventOf(id);
        expect(e.request?.messages).toBe('redacted-by-litellm');
        expect(e.response).toBe('redacted-by-litellm');
        const { gen, trace } = await sinksOf(s, id);
        expect(gen.input).toBe('redacted-by-litellm');
        expect(gen.output).toBe('redacted-by-litellm');
        expect(trace.input).toBe('redacted-by-litellm');
      }
      const sent = await everythingSent(s);
      expect(sent).not.toContain('prompt-marker');
      expect(sent).not.toContain('answer-marker');
    });

    it('mask_output alone keeps the prompt; x-litellm-enable-message-redaction: true drops both', async () => {
      const masked = await post(
        `${s.engine.url}/v1/chat/completions`,
        { model: 'mocked', messages: [{ role: 'user', content: 'plain question' }], metadata: { mask_output: true } },
        auth,
      );
      const a = await sinksOf(s, masked.headers.get('x-litellm-call-id'));
      expect(a.gen.input).toEqual([{ role: 'user', content: 'plain question' }]);
      expect(a.gen.output).toBe('redacted-by-litellm');

      const redacted = await post(
        `${s.engine.url}/v1/chat/completions`,
        { model: 'mocked', messages: msgs },
        {
          ...auth,
          'x-litellm-enable-message-redaction': 'true',
        },
      );
      const b = await sinksOf(s, redacted.headers.get('x-litellm-call-id'));
      expect(b.gen.input).toBeUndefined();
      expect(b.gen.output).toBeUndefined();
      expect(await everythingSent(s)).not.toContain('prompt-marker');
    });

    it('the OTel span never carries a prompt or an answer, even with message logging on', async () => {
      const before = s.rx.calls.length;
      const r = await post(`${s.engine.url}/v1/chat/completions`, { model: 'mocked', messages: msgs }, auth);
      const { gen, span } = await sinksOf(s, r.headers.get('x-litellm-call-id'));
      expect(gen.input).toEqual(msgs); // Langfuse has it: message logging is on
      expect(JSON.stringify(span.attributes)).not.toContain('marker');
      expect(
        s.rx.calls
          .slice(before)
          .map((c) => c.raw)
          .join(''),
      ).not.toContain('marker');
    });
  });
});
