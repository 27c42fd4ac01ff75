/**
 * The OpenTelemetry sink's queue on its own, with an exporter of the test's: bounded (beyond it spans are
 * dropped, counted and warned once), exported in batches, an exporter that fails or never answers counts
 * its spans as dropped, close() exports what is queued and counts what it could not.
 */
import type { ExportResult } from '@opentelemetry/core';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import type { SettledEvent } from '../../src/engine/index.js';
import { OtelSink } from '../../src/engine/observability/otel.js';
import type { OtelConfig } from '../../src/engine/observability/otel-config.js';

const config: OtelConfig = {
  url: 'http://127.0.0.1:9/v1/traces', // never reached: the exporter is the test's
  headers: {},
  protocol: 'http/json',
  serviceName: 'svc',
  successes: true,
  failures: true,
};

function event(callId: string): SettledEvent {
  return {
    callId,
    principal: { kind: 'master' },
    endpoint: 'chat',
    requestedModel: 'g',
    stream: false,
    status: 'success',
    httpStatus: 200,
    usage: { prompt: 1, completion: 1, total: 2, cached: 0, cacheCreation: 0, reasoning: 0 },
    usageReported: true,
    startTime: Date.UTC(2026, 0, 1),
    endTime: Date.UTC(2026, 0, 1) + 5,
    durationMs: 5,
    upstreamMs: 4,
    attemptedRetries: 0,
    attemptedFallbacks: 0,
    attempts: 1,
    cacheHit: false,
    tags: [],
  };
}

/** An exporter that records batches and answers as `answer` says ('never': no callback at all). */
function exporter(answer: () => 'ok' | 'fail' | 'never') {
  const batches: ReadableSpan[][] = [];
  const e: SpanExporter = {
    export(spans: ReadableSpan[], done: (r: ExportResult) => void) {
      batches.push(spans);
      const a = answer();
      if (a === 'ok') done({ code: ExportResultCode.SUCCESS });
      else if (a === 'fail') done({ code: ExportResultCode.FAILED, error: new Error('HTTP 503') });
    },
    shutdown: () => Promise.resolve(),
  };
  return { e, batches };
}

function sink(ex: SpanExporter, over: Partial<ConstructorParameters<typeof OtelSink>[0]> = {}) {
  const warned: string[] = [];
  let dropped = 0;
  const s = new OtelSink(
    {
      config,
      warn: (_f, m) => warned.push(m),
      onDrop: (n) => {
        dropped += n;
      },
      scheduledDelayMs: 60_000,
      ...over,
    },
    ex,
  );
  return { s, warned, dropped: () => dropped };
}

describe('OtelSink queue', () => {
  it('bounded: beyond it spans are dropped, counted and warned once; close() exports the rest', async () => {
    const { e, batches } = exporter(() => 'ok');
    const { s, warned, dropped } = sink(e, { maxQueue: 3 });
    for (let i = 0; i < 5; i++) s.observe(event(`c${i}`));
    expect(dropped()).toBe(2);
    expect(warned).toEqual(['otel queue full: spans dropped']);
    await s.close(1000);
    expect(batches.flat().map((x) => x.attributes['litellm.call_id'])).toEqual(['c0', 'c1', 'c2']);
    expect(dropped()).toBe(2);
  });

  it('a full batch is exported without waiting for the timer, in batches of batchSize', async () => {
    const { e, batches } = exporter(() => 'ok');
    const { s } = sink(e, { batchSize: 2 });
    for (let i = 0; i < 4; i++) s.observe(event(`c${i}`));
    for (let i = 0; i < 50 && batches.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
    expect(batches.map((b) => b.length)).toEqual([2, 2]);
    await s.close(1000);
  });

  it('an exporter that fails or never answers: its spans count as dropped; close() is bounded', async () => {
    let mode: 'fail' | 'never' = 'fail';
    const { e } = exporter(() => mode);
    const { s, warned, dropped } = sink(e, { timeoutMs: 50 });
    s.observe(event('a'));
    await s.flush();
    expect(dropped()).toBe(1);
    expect(warned).toEqual(['otel export failed: spans dropped']);
    mode = 'never';
    s.observe(event('b'));
    s.observe(event('c'));
    const t0 = Date.now();
    await s.close(2000); // the hanging export times out (50 ms) within close's own bound
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(dropped()).toBe(3);
    s.observe(event('d')); // after close nothing is queued
    expect(dropped()).toBe(3);
  });
});
