import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { VERSION } from '../../version.js';
import { modelOf } from './langfuse.js';
import type { OtelConfig } from './otel-config.js';
import type { SettledEvent } from './settled.js';

export interface OtelSinkOptions {
  config: OtelConfig;
  /** each span the exporter failed to deliver: litellm_callback_logging_failures */
  onDrop?: (count: number) => void;
  warn: (fields: Record<string, unknown>, message: string) => void;
  /** the batch processor's delay (default 1 s; tests shorten it) */
  scheduledDelayMs?: number;
  /** spans waiting for export beyond which new ones are dropped, counted and warned (default 10,000) */
  maxQueue?: number;
  /** per export (default 10 s) */
  timeoutMs?: number;
}

/** The span's name, as LiteLLM names its request span (dashboards built on LiteLLM's traces find it). */
export const SPAN_NAME = 'litellm_request';
// gen_ai.operation.name per endpoint (GenAI semantic conventions)
const OPERATION = { chat: 'chat', completion: 'text_completion', embedding: 'embeddings', messages: 'chat' } as const;
const WARN_EVERY_MS = 60_000;
// request metadata keys put on a span at most (the rest are left out)
const MAX_METADATA_KEYS = 64;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The OpenTelemetry sink (`callbacks: ["otel"]`): each settled event becomes one SERVER span, a child of
 * the caller's span when the request carried a W3C `traceparent`, with the GenAI semantic-convention
 * attributes and LiteLLM's extras. A tracer provider of its own (never the global one) batches spans to
 * an OTLP/HTTP collector off the request path: a collector that is down drops spans (counted), nothing
 * waits on it. No prompt or answer content is exported.
 */
export class OtelSink {
  private readonly provider: BasicTracerProvider;
  private readonly tracer: Tracer;
  private lastWarn = 0;
  private readonly maxQueue: number;
  /** spans recorded and not yet handed to the exporter (the batch processor's queue) */
  private queued = 0;
  /** spans dropped: the queue was full, or the exporter reported them as not delivered */
  dropped = 0;

  constructor(
    private readonly opts: OtelSinkOptions,
    exporter: SpanExporter,
  ) {
    this.maxQueue = opts.maxQueue ?? 10_000;
    const counted: SpanExporter = {
      export: (spans, done) => {
        this.queued = Math.max(0, this.queued - spans.length);
        exporter.export(spans, (r: ExportResult) => {
          if (r.code !== ExportResultCode.SUCCESS)
            this.drop(spans.length, 'otel export failed: spans dropped', r.error);
          done(r);
        });
      },
      shutdown: () => exporter.shutdown(),
      forceFlush: exporter.forceFlush ? () => exporter.forceFlush!() : undefined,
    };
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        'service.name': opts.config.serviceName,
        'service.version': VERSION,
        'telemetry.sdk.language': 'nodejs',
      }),
      spanProcessors: [
        new BatchSpanProcessor(counted, {
          scheduledDelayMillis: opts.scheduledDelayMs ?? 1000,
          exportTimeoutMillis: opts.timeoutMs ?? 10_000,
          // one above ours: the processor would drop silently, the sink counts and warns first
          maxQueueSize: this.maxQueue + 1,
          maxExportBatchSize: 512,
        }),
      ],
    });
    this.tracer = this.provider.getTracer('kubiya', VERSION);
  }

  /** The settled-event subscriber: records one span (the processor queues it), never waits. */
  readonly observe = (e: SettledEvent): undefined => {
    const c = this.opts.config;
    if (e.status === 'success' ? !c.successes : !c.failures) return;
    if (e.httpStatus === 401) return; // as the Langfuse sink: a rejected key is no call
    if (this.queued >= this.maxQueue) {
      this.drop(1, 'otel queue full: spans dropped');
      return;
    }
    this.queued++;
    const span = this.tracer.startSpan(
      SPAN_NAME,
      { kind: SpanKind.SERVER, startTime: new Date(e.startTime), attributes: spanAttributes(e) },
      parentOf(e.traceparent),
    );
    if (e.status === 'failure') {
      span.setStatus({ code: SpanStatusCode.ERROR, message: e.errorMessage });
    }
    span.end(new Date(e.endTime));
  };

  /** Export what is queued, waiting at most `timeoutMs` (default 5 s), then shut the provider down. */
  async close(timeoutMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => {
      timer = setTimeout(r, timeoutMs);
      timer.unref();
    });
    const done = this.provider
      .forceFlush()
      .then(() => this.provider.shutdown())
      .catch(() => {});
    await Promise.race([done, deadline]);
    clearTimeout(timer);
  }

  private drop(n: number, message: string, error?: Error): void {
    this.dropped += n;
    this.opts.onDrop?.(n);
    const now = Date.now();
    if (now - this.lastWarn < WARN_EVERY_MS) return;
    this.lastWarn = now;
    // the exporter's error text (status or transport), never the headers
    this.opts.warn({ dropped: n, dropped_total: this.dropped, ...(error ? { error: error.message } : {}) }, message);
  }
}

/** The caller's span from a W3C `traceparent` (version 00), as a remote parent; the root context otherwise. */
export function parentOf(traceparent: string | undefined): Context {
  const m = traceparent === undefined ? null : TRACEPARENT.exec(traceparent.trim().toLowerCase());
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: m[1]!,
    spanId: m[2]!,
    traceFlags: Number.parseInt(m[3]!, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  });
}

/** A settled event as span attributes: GenAI semantic conventions, then LiteLLM's (`litellm.*`, `metadata.*`). */
export function spanAttributes(e: SettledEvent): Attributes {
  const a: Attributes = {
    'gen_ai.operation.name': OPERATION[e.endpoint],
    'gen_ai.request.model': e.requestedModel,
    'llm.request.type': e.endpoint === 'embedding' ? 'embedding' : e.endpoint === 'completion' ? 'completion' : 'chat',
    'http.response.status_code': e.httpStatus,
    'litellm.call_id': e.callId,
    'litellm.status': e.status,
    'litellm.stream': e.stream,
    'litellm.attempted_retries': e.attemptedRetries,
    'litellm.attempted_fallbacks': e.attemptedFallbacks,
    'litellm.cache_hit': e.cacheHit,
  };
  if (e.provider !== undefined) {
    a['gen_ai.system'] = e.provider;
    a['gen_ai.provider.name'] = e.provider;
  }
  if (e.litellmModel !== undefined) a['gen_ai.response.model'] = modelOf(e);
  if (e.usageReported) {
    a['gen_ai.usage.input_tokens'] = e.usage.prompt;
    a['gen_ai.usage.output_tokens'] = e.usage.completion;
    a['llm.usage.total_tokens'] = e.usage.total;
    if (e.usage.cached > 0) a['gen_ai.usage.cache_read.input_tokens'] = e.usage.cached;
    if (e.usage.cacheCreation > 0) a['gen_ai.usage.cache_creation.input_tokens'] = e.usage.cacheCreation;
    if (e.usage.reasoning > 0) a['gen_ai.usage.reasoning.output_tokens'] = e.usage.reasoning;
  }
  const p = e.params;
  if (p) {
    if (p.temperature !== undefined) a['gen_ai.request.temperature'] = p.temperature;
    if (p.top_p !== undefined) a['gen_ai.request.top_p'] = p.top_p;
    const max = p.max_tokens ?? p.max_completion_tokens;
    if (max !== undefined) a['gen_ai.request.max_tokens'] = max;
  }
  if (e.status === 'failure') a['error.type'] = e.errorClass ?? String(e.httpStatus);
  if (e.timeToFirstTokenMs !== undefined) a['litellm.time_to_first_token_ms'] = e.timeToFirstTokenMs;
  if (e.modelGroup !== undefined) a['litellm.model_group'] = e.modelGroup;
  if (e.deploymentId !== undefined) a['litellm.model_id'] = e.deploymentId;
  if (e.apiBase !== undefined) a['litellm.api_base'] = e.apiBase;
  if (e.responseCost !== undefined) a['litellm.response_cost'] = e.responseCost;
  if (e.unpriced) a['litellm.unpriced'] = true;
  // the requester metadata (the config's custom metadata under it) as LiteLLM puts it on its span:
  // `metadata.<key>`, objects as JSON
  const meta = e.metadata;
  if (meta) {
    let n = 0;
    for (const k in meta) {
      if (++n > MAX_METADATA_KEYS) break;
      const v = meta[k];
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') a[`metadata.${k}`] = v;
      else if (v !== null && v !== undefined) a[`metadata.${k}`] = JSON.stringify(v);
    }
  }
  // every tag (body, metadata and x-litellm-tags header), where LiteLLM's merged metadata.tags would be
  if (e.tags.length > 0) {
    a['litellm.tags'] = [...e.tags];
    a['metadata.tags'] = JSON.stringify(e.tags);
  }
  if (e.spendLogsMetadata !== undefined) a['metadata.spend_logs_metadata'] = JSON.stringify(e.spendLogsMetadata);
  const pr = e.principal;
  // the body's `user`, as LiteLLM's llm.user
  if (pr.endUserId !== undefined) a['llm.user'] = pr.endUserId;
  if (pr.keyHash !== undefined) a['metadata.user_api_key_hash'] = pr.keyHash;
  if (pr.keyAlias !== undefined) a['metadata.user_api_key_alias'] = pr.keyAlias;
  if (pr.userId !== undefined) a['metadata.user_api_key_user_id'] = pr.userId;
  if (pr.teamId !== undefined) a['metadata.user_api_key_team_id'] = pr.teamId;
  if (pr.endUserId !== undefined) a['metadata.user_api_key_end_user_id'] = pr.endUserId;
  return a;
}

/** The exporter for the configured protocol (each module loaded only when chosen). */
export async function otlpExporter(c: OtelConfig, timeoutMs = 10_000): Promise<SpanExporter> {
  const config = { url: c.url, headers: c.headers, timeoutMillis: timeoutMs };
  if (c.protocol === 'http/json') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    return new OTLPTraceExporter(config);
  }
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
  return new OTLPTraceExporter(config);
}
