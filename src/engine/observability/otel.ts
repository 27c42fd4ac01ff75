import { randomFillSync } from 'node:crypto';
import {
  type Attributes,
  type AttributeValue,
  type HrTime,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
} from '@opentelemetry/api';
import { type ExportResult, ExportResultCode, type InstrumentationScope } from '@opentelemetry/core';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { VERSION } from '../../version.js';
import { ByteBatches } from './byte-batches.js';
import { modelOf } from './langfuse.js';
import type { OtelConfig } from './otel-config.js';
import { OtlpProtoExporter, queueSpan, type SpanSource } from './otlp-proto.js';
import type { SettledEvent } from './settled.js';

export interface OtelSinkOptions {
  config: OtelConfig;
  /** each span dropped (queue full, or the exporter failed to deliver it): litellm_callback_logging_failures */
  onDrop?: (count: number) => void;
  warn: (fields: Record<string, unknown>, message: string) => void;
  /** the export period (default 1 s, OTEL_BSP_SCHEDULE_DELAY; tests shorten it) */
  scheduledDelayMs?: number;
  /** per export (default 10 s) */
  timeoutMs?: number;
  /** spans waiting for export beyond which new ones are dropped, counted and warned (default 10,000) */
  maxQueue?: number;
  /** spans per export (default 512, as the SDK's batch processor) */
  batchSize?: number;
  /** random trace and span ids as hex, `bytes` long (default: from crypto; a test makes them repeatable) */
  randomHex?: (bytes: number) => string;
}

/** The span's name, as LiteLLM names its request span (dashboards built on LiteLLM's traces find it). */
export const SPAN_NAME = 'litellm_request';
// gen_ai.operation.name per endpoint (GenAI semantic conventions)
const OPERATION = {
  chat: 'chat',
  completion: 'text_completion',
  embedding: 'embeddings',
  messages: 'chat',
  responses: 'chat',
  rerank: 'rerank',
  moderation: 'moderation',
  image_generation: 'image_generation',
  audio_transcription: 'transcription',
  audio_speech: 'speech',
} as const;
const WARN_EVERY_MS = 60_000;
// bytes of spans per export at most (a collector's default request limit is larger)
const MAX_BATCH_BYTES = 3_000_000;
// request metadata keys put on a span at most (the rest are left out)
const MAX_METADATA_KEYS = 64;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const OK_STATUS = Object.freeze({ code: SpanStatusCode.UNSET });
const NONE: never[] = [];
const NO_ATTRIBUTES: Attributes = Object.freeze({});

/**
 * The OpenTelemetry sink (`callbacks: ["otel"]`): each settled event becomes one SERVER span, a child of
 * the caller's span when the request carried a W3C `traceparent`, with the GenAI semantic-convention
 * attributes and LiteLLM's extras. The span is built as the finished, read-only span the OTLP exporter
 * serialises (no tracer, no live span, no attribute copy: the SDK's per-span work cost more than the
 * request itself), queued (bounded) and exported in batches to an OTLP/HTTP collector off the request
 * path: a collector that is down drops spans (counted), nothing waits on it. No prompt or answer is
 * ever exported.
 */
export class OtelSink {
  private readonly resource: Resource;
  private readonly scope: InstrumentationScope = { name: 'kubiya', version: VERSION };
  /** finished spans, for an exporter other than the sink's own protobuf one */
  private queue: ReadableSpan[] = [];
  /** with the sink's own protobuf exporter: each span's bytes, in the batch that carries it (ByteBatches) */
  private readonly bytes: ByteBatches | undefined;
  private readonly encoded: OtlpProtoExporter | undefined;
  private readonly head: SpanSource;
  private exporting: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly maxQueue: number;
  private readonly batchSize: number;
  private readonly timeoutMs: number;
  private lastWarn = 0;
  private kick = false;
  private closed = false;
  /** spans dropped: the queue was full, or the exporter reported them as not delivered */
  dropped = 0;
  private readonly randomHex: (bytes: number) => string;

  constructor(
    private readonly opts: OtelSinkOptions,
    private readonly exporter: SpanExporter,
  ) {
    this.resource = resourceFromAttributes({
      'service.version': VERSION,
      ...opts.config.resourceAttributes,
      'service.name': opts.config.serviceName,
      'telemetry.sdk.language': 'nodejs',
    });
    this.encoded = exporter instanceof OtlpProtoExporter ? exporter : undefined;
    this.head = { resource: this.resource, instrumentationScope: this.scope };
    this.maxQueue = opts.maxQueue ?? 10_000;
    this.batchSize = opts.batchSize ?? 512;
    this.randomHex = opts.randomHex ?? randomHex;
    if (this.encoded) this.bytes = new ByteBatches({ maxItems: this.batchSize, maxBytes: MAX_BATCH_BYTES });
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.timer = setInterval(() => void this.flush(), opts.scheduledDelayMs ?? 1000);
    this.timer.unref();
  }

  /** The settled-event subscriber: queues one finished span, never waits. */
  readonly observe = (e: SettledEvent): undefined => {
    const c = this.opts.config;
    if (e.status === 'success' ? !c.successes : !c.failures) return;
    if (e.httpStatus === 401 || this.closed) return; // as the Langfuse sink: a rejected key is no call
    if (this.queued >= this.maxQueue) {
      this.drop(1, 'otel queue full: spans dropped');
      return;
    }
    const parent = parentOf(e.traceparent);
    const context: SpanContext = {
      traceId: parent ? parent.traceId : this.randomHex(16),
      spanId: this.randomHex(8),
      traceFlags: parent ? parent.traceFlags : TraceFlags.SAMPLED,
    };
    const status = e.status === 'failure' ? { code: SpanStatusCode.ERROR, message: e.errorMessage } : OK_STATUS;
    const start = hrTime(e.startTime);
    const end = hrTime(e.endTime);
    const span: ReadableSpan = {
      name: SPAN_NAME,
      kind: SpanKind.SERVER,
      spanContext: () => context,
      parentSpanContext: parent,
      startTime: start,
      endTime: end,
      duration: hrTime(e.endTime - e.startTime),
      status,
      // the protobuf exporter writes them straight from the event
      attributes: this.bytes ? NO_ATTRIBUTES : spanAttributes(e),
      links: NONE,
      events: NONE,
      ended: true,
      resource: this.resource,
      instrumentationScope: this.scope,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
    let full: boolean;
    if (this.bytes) full = queueSpan(this.bytes, span, (put) => eachSpanAttribute(e, put));
    else full = this.queue.push(span) >= this.batchSize;
    if (full && !this.kick) {
      this.kick = true;
      setImmediate(() => {
        this.kick = false;
        void this.flush(true);
      });
    }
  };

  /**
   * Export what is queued now, batch by batch (one export at a time); resolves when done. `whole`: only whole
   * batches (a full queue's kick). Spans queued meanwhile wait for the next kick or tick: draining until the
   * queue was empty made, under steady load, one small export per round trip.
   */
  flush(whole = false): Promise<void> {
    if (this.exporting) return this.exporting;
    if (this.queued === 0) return Promise.resolve();
    this.exporting = this.exportAll(whole).finally(() => {
      this.exporting = undefined;
    });
    return this.exporting;
  }

  /** Export what is queued, waiting at most `timeoutMs` (default 5 s), then shut the exporter down. */
  async close(timeoutMs = 5000): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => {
      timer = setTimeout(r, timeoutMs);
      timer.unref();
    });
    const drainAll = async () => {
      while (this.queued > 0 || this.exporting) await this.flush();
    };
    const drained = await Promise.race([drainAll().then(() => true), deadline.then(() => false)]);
    clearTimeout(timer);
    if (this.queued > 0) {
      const n = this.queued;
      this.queue = [];
      this.bytes?.clear();
      this.drop(n, 'otel: spans still queued at shutdown were dropped', undefined, true);
    }
    // past the deadline nothing more is awaited: an export still hanging ends with the process
    const shutdown = this.exporter.shutdown().catch(() => {});
    if (drained) await shutdown;
  }

  /** spans waiting for export */
  private get queued(): number {
    return this.bytes ? this.bytes.count : this.queue.length;
  }

  private async exportAll(whole: boolean): Promise<void> {
    if (this.bytes) {
      if (!whole) this.bytes.seal(); // the batch still filling goes too
      for (let batch = this.bytes.take(); batch !== undefined; batch = this.bytes.take()) {
        const r = await this.exportOne(batch.bytes);
        if (r.code === ExportResultCode.SUCCESS) this.bytes.release(batch);
        else this.drop(batch.count, 'otel export failed: spans dropped', r.error);
      }
      return;
    }
    let left = whole ? 0 : this.queue.length;
    while (left > 0 || this.queue.length >= this.batchSize) {
      const batch = this.queue.splice(0, this.batchSize);
      left -= batch.length;
      const r = await this.exportOne(batch);
      if (r.code !== ExportResultCode.SUCCESS) this.drop(batch.length, 'otel export failed: spans dropped', r.error);
    }
  }

  /** One export, bounded by `timeoutMs` (an exporter that never calls back counts as failed). */
  private exportOne(batch: ReadableSpan[] | Buffer): Promise<ExportResult> {
    return new Promise((resolve) => {
      const t = setTimeout(
        () => resolve({ code: ExportResultCode.FAILED, error: new Error('export timed out') }),
        this.timeoutMs,
      );
      t.unref();
      try {
        const done = (r: ExportResult) => {
          clearTimeout(t);
          resolve(r);
        };
        if (Buffer.isBuffer(batch)) this.encoded!.exportEncoded(this.head, [batch], done);
        else this.exporter.export(batch, done);
      } catch (err) {
        clearTimeout(t);
        resolve({ code: ExportResultCode.FAILED, error: err instanceof Error ? err : new Error(String(err)) });
      }
    });
  }

  private drop(n: number, message: string, error?: Error, always = false): void {
    this.dropped += n;
    this.opts.onDrop?.(n);
    const now = Date.now();
    if (!always && now - this.lastWarn < WARN_EVERY_MS) return;
    this.lastWarn = now;
    // the exporter's error text (status or transport), never the headers
    this.opts.warn({ dropped: n, dropped_total: this.dropped, ...(error ? { error: error.message } : {}) }, message);
  }
}

/** Epoch ms as OpenTelemetry's [seconds, nanoseconds]. */
function hrTime(ms: number): HrTime {
  const s = Math.floor(ms / 1000);
  return [s, Math.round((ms - s * 1000) * 1e6)];
}

// random ids from a pooled buffer (one crypto call per 256 spans)
const pool = Buffer.alloc(24 * 256);
let poolAt = pool.length;
function randomHex(bytes: number): string {
  if (poolAt + bytes > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const hex = pool.toString('hex', poolAt, poolAt + bytes);
  poolAt += bytes;
  return hex;
}

/** The caller's span from a W3C `traceparent` (version 00), as a remote parent; undefined otherwise. */
export function parentOf(traceparent: string | undefined): SpanContext | undefined {
  const m = traceparent === undefined ? null : TRACEPARENT.exec(traceparent.trim().toLowerCase());
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  return {
    traceId: m[1]!,
    spanId: m[2]!,
    traceFlags: Number.parseInt(m[3]!, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
}

/** A settled event as span attributes: GenAI semantic conventions, then LiteLLM's (`litellm.*`, `metadata.*`). */
export function spanAttributes(e: SettledEvent): Attributes {
  const a: Attributes = {};
  eachSpanAttribute(e, (k, v) => {
    a[k] = v;
  });
  return a;
}

/**
 * Each span attribute of a settled event, in order, to `put` (the protobuf exporter writes them as they come:
 * no attributes object per span). A key comes once.
 */
export function eachSpanAttribute(e: SettledEvent, put: (key: string, value: AttributeValue) => void): void {
  put('gen_ai.operation.name', OPERATION[e.endpoint]);
  put('gen_ai.request.model', e.requestedModel);
  put(
    'llm.request.type',
    e.endpoint === 'embedding' ? 'embedding' : e.endpoint === 'completion' ? 'completion' : 'chat',
  );
  put('http.response.status_code', e.httpStatus);
  put('litellm.call_id', e.callId);
  put('litellm.status', e.status);
  put('litellm.stream', e.stream);
  put('litellm.attempted_retries', e.attemptedRetries);
  put('litellm.attempted_fallbacks', e.attemptedFallbacks);
  put('litellm.cache_hit', e.cacheHit);
  if (e.provider !== undefined) {
    put('gen_ai.system', e.provider);
    put('gen_ai.provider.name', e.provider);
  }
  if (e.litellmModel !== undefined) put('gen_ai.response.model', modelOf(e));
  if (e.usageReported) {
    put('gen_ai.usage.input_tokens', e.usage.prompt);
    put('gen_ai.usage.output_tokens', e.usage.completion);
    put('llm.usage.total_tokens', e.usage.total);
    if (e.usage.cached > 0) put('gen_ai.usage.cache_read.input_tokens', e.usage.cached);
    if (e.usage.cacheCreation > 0) put('gen_ai.usage.cache_creation.input_tokens', e.usage.cacheCreation);
    if (e.usage.reasoning > 0) put('gen_ai.usage.reasoning.output_tokens', e.usage.reasoning);
  }
  const p = e.params;
  if (p) {
    if (p.temperature !== undefined) put('gen_ai.request.temperature', p.temperature);
    if (p.top_p !== undefined) put('gen_ai.request.top_p', p.top_p);
    const max = p.max_tokens ?? p.max_completion_tokens;
    if (max !== undefined) put('gen_ai.request.max_tokens', max);
  }
  if (e.status === 'failure') put('error.type', e.errorClass ?? String(e.httpStatus));
  if (e.timeToFirstTokenMs !== undefined) put('litellm.time_to_first_token_ms', e.timeToFirstTokenMs);
  if (e.modelGroup !== undefined) put('litellm.model_group', e.modelGroup);
  if (e.deploymentId !== undefined) put('litellm.model_id', e.deploymentId);
  if (e.apiBase !== undefined) put('litellm.api_base', e.apiBase);
  if (e.responseCost !== undefined) put('litellm.response_cost', e.responseCost);
  if (e.unpriced) put('litellm.unpriced', true);
  // the requester metadata (the config's custom metadata under it) as LiteLLM puts it on its span:
  // `metadata.<key>`, objects as JSON
  const meta = e.metadata;
  if (meta) {
    let n = 0;
    for (const k in meta) {
      if (++n > MAX_METADATA_KEYS) break;
      if (writtenLater(e, k)) continue; // the call's own value under that name comes below
      const v = meta[k];
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') put(`metadata.${k}`, v);
      else if (v !== null && v !== undefined) put(`metadata.${k}`, JSON.stringify(v));
    }
  }
  // every tag (body, metadata and x-litellm-tags header), where LiteLLM's merged metadata.tags would be
  if (e.tags.length > 0) {
    put('litellm.tags', [...e.tags]);
    put('metadata.tags', JSON.stringify(e.tags));
  }
  if (e.spendLogsMetadata !== undefined) put('metadata.spend_logs_metadata', JSON.stringify(e.spendLogsMetadata));
  const pr = e.principal;
  // the body's `user`, as LiteLLM's llm.user
  if (pr.endUserId !== undefined) put('llm.user', pr.endUserId);
  if (pr.keyHash !== undefined) put('metadata.user_api_key_hash', pr.keyHash);
  if (pr.keyAlias !== undefined) put('metadata.user_api_key_alias', pr.keyAlias);
  if (pr.userId !== undefined) put('metadata.user_api_key_user_id', pr.userId);
  if (pr.teamId !== undefined) put('metadata.user_api_key_team_id', pr.teamId);
  if (pr.endUserId !== undefined) put('metadata.user_api_key_end_user_id', pr.endUserId);
}

/** Whether eachSpanAttribute writes `metadata.<key>` itself after the requester's metadata (its value wins). */
function writtenLater(e: SettledEvent, key: string): boolean {
  switch (key) {
    case 'tags':
      return e.tags.length > 0;
    case 'spend_logs_metadata':
      return e.spendLogsMetadata !== undefined;
    case 'user_api_key_hash':
      return e.principal.keyHash !== undefined;
    case 'user_api_key_alias':
      return e.principal.keyAlias !== undefined;
    case 'user_api_key_user_id':
      return e.principal.userId !== undefined;
    case 'user_api_key_team_id':
      return e.principal.teamId !== undefined;
    case 'user_api_key_end_user_id':
      return e.principal.endUserId !== undefined;
    default:
      return false;
  }
}

/**
 * The exporter for the configured protocol: protobuf (the default) through the sink's own encoder and POST
 * (otlp-proto.ts), JSON through the SDK's exporter (loaded only when chosen).
 */
export async function otlpExporter(c: OtelConfig, timeoutMs = 10_000): Promise<SpanExporter> {
  if (c.protocol === 'http/json') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    return new OTLPTraceExporter({ url: c.url, headers: c.headers, timeoutMillis: timeoutMs });
  }
  const { OtlpProtoExporter } = await import('./otlp-proto.js');
  return new OtlpProtoExporter(c.url, c.headers, timeoutMs);
}
