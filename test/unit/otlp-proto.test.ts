/**
 * The OpenTelemetry sink's own OTLP/protobuf encoder writes, for the sink's spans, exactly the bytes the
 * SDK's ProtobufTraceSerializer writes: ids, parent, times, every attribute type (strings with non-ASCII
 * text, long strings whose length takes more bytes, negative and large integers, doubles, arrays),
 * status with and without a message, many spans in one request. Its exporter POSTs them with the
 * configured headers, retries a retryable answer once and fails on the others.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExportResult } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import type { SettledEvent } from '../../src/engine/index.js';
import { OtelSink } from '../../src/engine/observability/otel.js';
import { encodeTraceRequest, OtlpProtoExporter } from '../../src/engine/observability/otlp-proto.js';
import { sendJson, startFake } from '../fakes/fake-server.js';

function event(i: number, over: Partial<SettledEvent> = {}): SettledEvent {
  return {
    callId: `call-${i}`,
    principal: { kind: 'master', endUserId: 'end-ü' },
    endpoint: 'chat',
    requestedModel: 'gpt',
    modelGroup: 'gpt',
    deploymentId: 'dep-1',
    litellmModel: 'openai/gpt-4o',
    provider: 'openai',
    apiBase: 'http://127.0.0.1:1/v1',
    stream: i % 2 === 0,
    status: 'success',
    httpStatus: 200,
    usage: { prompt: 24, completion: 300, total: 324, cached: 3, cacheCreation: 0, reasoning: 0 },
    usageReported: true,
    responseCost: 0.000123,
    startTime: Date.UTC(2026, 10, 30, 12, 0, 0) + i * 1.25,
    endTime: Date.UTC(2026, 10, 30, 12, 0, 1) + i * 7.5,
    timeToFirstTokenMs: 12.5,
    durationMs: 1000,
    upstreamMs: 900,
    attemptedRetries: 0,
    attemptedFallbacks: 0,
    attempts: 1,
    cacheHit: false,
    metadata: {
      project: 'Zürich ✓ 日本',
      negative: -42,
      big: 2 ** 60,
      ratio: 0.1,
      long: 'x'.repeat(200),
      longer: 'y'.repeat(20_000),
      nested: { a: [1, 2] },
    },
    tags: ['a', 'b'],
    ...over,
  };
}

describe('encodeTraceRequest', () => {
  it("writes the SDK serializer's bytes for the sink's spans", async () => {
    const spans: ReadableSpan[] = [];
    const exporter: SpanExporter = {
      export(batch: ReadableSpan[], done: (r: ExportResult) => void) {
        spans.push(...batch);
        done({ code: 0 });
      },
      shutdown: () => Promise.resolve(),
    };
    const sink = new OtelSink(
      {
        config: {
          url: 'http://127.0.0.1:9/v1/traces',
          headers: {},
          protocol: 'http/protobuf',
          serviceName: 'svc',
          resourceAttributes: { 'deployment.environment': 'prod' },
          successes: true,
          failures: true,
        },
        warn: () => {},
        scheduledDelayMs: 60_000,
      },
      exporter,
    );
    sink.observe(event(0));
    sink.observe(event(1, { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }));
    sink.observe(event(2, { status: 'failure', httpStatus: 503, errorClass: 'overloaded', errorMessage: 'büsy' }));
    sink.observe(event(3, { status: 'client_abort', httpStatus: 499, metadata: undefined, tags: [] }));
    for (let i = 4; i < 40; i++) sink.observe(event(i));
    await sink.close(1000);
    expect(spans).toHaveLength(40);
    for (const batch of [spans.slice(0, 1), spans.slice(0, 4), spans]) {
      const mine = Buffer.from(encodeTraceRequest(batch));
      const sdk = Buffer.from(ProtobufTraceSerializer.serializeRequest(batch)!);
      expect(mine.length).toBe(sdk.length);
      expect(mine.equals(sdk)).toBe(true);
    }
  });
});

describe('the sink with its own protobuf exporter', () => {
  it("POSTs the SDK serializer's bytes for the spans the sink would hand another exporter", async () => {
    const bodies: Buffer[] = [];
    const server = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        bodies.push(Buffer.concat(parts));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const fake = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
    // the same ids on both sides: a counter, not crypto
    const ids = () => {
      let n = 0;
      return (bytes: number) => (++n).toString(16).padStart(bytes * 2, '0');
    };
    const config = {
      url: `${fake.url}/v1/traces`,
      headers: {},
      protocol: 'http/protobuf' as const,
      serviceName: 'svc',
      resourceAttributes: { 'deployment.environment': 'prod' },
      successes: true,
      failures: true,
    };
    const spans: ReadableSpan[] = [];
    const collect = new OtelSink(
      { config, warn: () => {}, scheduledDelayMs: 60_000, randomHex: ids() },
      {
        export: (b: ReadableSpan[], done: (r: ExportResult) => void) => {
          spans.push(...b);
          done({ code: 0 });
        },
        shutdown: () => Promise.resolve(),
      },
    );
    const exporter = new OtlpProtoExporter(config.url, {}, 2000);
    const own = new OtelSink({ config, warn: () => {}, scheduledDelayMs: 60_000, randomHex: ids() }, exporter);
    const events = [
      event(0),
      event(1, { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }),
      event(2, { status: 'failure', httpStatus: 503, errorClass: 'overloaded', errorMessage: 'büsy' }),
      event(3, { status: 'client_abort', httpStatus: 499, metadata: undefined, tags: [] }),
      // requester keys named as the call's own: the call's value, once
      event(4, {
        principal: { kind: 'virtual_key', keyHash: 'h1', keyAlias: 'al', endUserId: 'u' },
        metadata: { tags: 'mine', user_api_key_hash: 'forged', user_api_key_team_id: 'kept', spend_logs_metadata: 1 },
        spendLogsMetadata: { a: 1 },
        params: { temperature: 0.2, max_tokens: 10 },
      }),
    ];
    for (const e of events) {
      collect.observe(e);
      own.observe(e);
    }
    await collect.close(1000);
    await own.close(1000);
    server.close();
    expect(bodies).toHaveLength(1);
    const sdk = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
    expect(bodies[0]!.equals(sdk)).toBe(true);
    const attrs = spans[4]!.attributes;
    expect(attrs['metadata.user_api_key_hash']).toBe('h1');
    expect(attrs['metadata.user_api_key_team_id']).toBe('kept');
    expect(attrs['metadata.tags']).toBe('["a","b"]');
    expect(attrs['metadata.spend_logs_metadata']).toBe('{"a":1}');
  });
});

describe('OtlpProtoExporter', () => {
  /** Spans as the sink makes them (handed over by close()). */
  async function spansOf(...events: SettledEvent[]): Promise<ReadableSpan[]> {
    const out: ReadableSpan[] = [];
    const sink = new OtelSink(
      {
        config: { url: 'x', headers: {}, protocol: 'http/protobuf', serviceName: 's', successes: true, failures: true },
        warn: () => {},
        scheduledDelayMs: 60_000,
      },
      {
        export: (b: ReadableSpan[], done: (r: ExportResult) => void) => {
          out.push(...b);
          done({ code: 0 });
        },
        shutdown: () => Promise.resolve(),
      },
    );
    for (const e of events) sink.observe(e);
    await sink.close(1000);
    return out;
  }
  const exportOnce = (e: OtlpProtoExporter, spans: ReadableSpan[]) =>
    new Promise<ExportResult>((resolve) => e.export(spans, resolve));

  it('a retryable answer (503) is retried once; a 400 fails at once; headers and content-type sent', async () => {
    const answers = [503, 200, 400];
    const fake = await startFake((_call, res) => sendJson(res, answers.shift() ?? 500, {}));
    const e = new OtlpProtoExporter(`${fake.url}/v1/traces`, { 'x-team': 'hc-key' }, 2000);
    try {
      const spans = await spansOf(event(1));
      expect((await exportOnce(e, spans)).code).toBe(0);
      expect(fake.calls).toHaveLength(2);
      expect(fake.calls[1]!.headers['content-type']).toBe('application/x-protobuf');
      expect(fake.calls[1]!.headers['x-team']).toBe('hc-key');
      expect(fake.calls[1]!.raw).toContain('litellm_request');
      const failed = await exportOnce(e, spans);
      expect(failed.code).toBe(1);
      expect(failed.error?.message).toBe('HTTP 400');
      expect(fake.calls).toHaveLength(3);
    } finally {
      await e.shutdown();
      await fake.close();
    }
  });
});
