import type { Principal } from '../auth/principal.js';
import type { ErrorClass } from '../errors.js';
import type { ProviderId } from '../providers/types.js';
import type { TokenUsage } from '../upstream/result.js';
import type { EndpointKind, JsonObject } from '../wire.js';

/**
 * One request, settled: everything a spend writer, metrics, traces or a cache need, emitted exactly
 * once per client request to an inference endpoint when its response ended (success or failure,
 * stream or not, client aborts and fallbacks included). Holds no secret of the engine's: `apiBase` is
 * the deployment's public URL (known secrets masked) and error messages are masked; the one secret it may
 * carry is the client's own per-request Langfuse key (`langfuseKeys`, for the Langfuse sink alone).
 */
export interface SettledEvent {
  /** the request id (`x-request-id`; LiteLLM's `litellm_call_id`) */
  callId: string;
  principal: Principal;
  /** which API the client spoke */
  endpoint: SettledEndpoint;
  /** the model name the client asked for */
  requestedModel: string;
  /** the group, deployment and provider that answered (or failed last); absent when none was tried */
  modelGroup?: string;
  deploymentId?: string;
  /** litellm_params.model of that deployment, e.g. `groq/llama3` */
  litellmModel?: string;
  provider?: ProviderId;
  apiBase?: string;
  stream: boolean;
  /** success: the client got a whole answer; failure: an error (status, class); client_abort: the client left first */
  status: 'success' | 'failure' | 'client_abort';
  /** the HTTP status the client got (200: a stream that failed after it started; 499: it left before any answer) */
  httpStatus: number;
  errorClass?: ErrorClass;
  errorMessage?: string;
  /** usage as reported upstream; zeros when unknown (`usageReported` false) */
  usage: TokenUsage;
  usageReported: boolean;
  /**
   * USD this call cost, from its usage and the model's price (the price map, or model_info / litellm_params
   * overrides); undefined when the model has no price (then `unpriced` is true) or nothing priced it yet
   */
  responseCost?: number;
  unpriced?: boolean;
  /** epoch ms */
  startTime: number;
  endTime: number;
  /** ms from the request's arrival to the first byte/token sent upstream's way back, and in total */
  timeToFirstTokenMs?: number;
  durationMs: number;
  /** ms spent waiting on upstreams (all attempts) */
  upstreamMs: number;
  attemptedRetries: number;
  attemptedFallbacks: number;
  /** upstream calls made for this request */
  attempts: number;
  /** each upstream call, in order (the last one answered or failed last); absent when none was recorded */
  attemptDetails?: readonly SettledAttemptDetail[];
  /** the response cache answered (no upstream call; `responseCost` 0) */
  cacheHit: boolean;
  /** the response cache's key (`x-litellm-cache-key`) when the cache was consulted: a hit, or a miss */
  cacheKey?: string;
  /**
   * The call's metadata, as every sink (and the spend-log writer) reads it: the config's custom metadata
   * (`litellm_settings.metadata`, e.g. environment, team, project) with the request's `metadata` over it
   * (a request key wins). The same object as the request's when the config has none; never copied per
   * sink. The end user (the body's `user`) is `principal.endUserId`, not a key here.
   */
  metadata?: JsonObject;
  /**
   * The request's tags: the body's `tags` (else `metadata.tags`), then those of the `x-litellm-tags`
   * header (comma-separated), strings only, each once, in that order.
   */
  tags: readonly string[];
  /**
   * What the spend log stores as this call's `metadata.spend_logs_metadata`: the request's
   * `metadata.spend_logs_metadata` object with the `x-litellm-spend-logs-metadata` header's (a JSON
   * object) keys over it; undefined when neither is there (a header that is not a JSON object is ignored).
   */
  spendLogsMetadata?: JsonObject;
  /**
   * Per-request Langfuse credentials (`metadata.langfuse_public_key`, `langfuse_secret_key` or
   * `langfuse_secret`, `langfuse_host`), as LiteLLM takes them: the call goes to that Langfuse project.
   * Taken out of `metadata` (which every sink and the spend log read), so the only place they are; the
   * Langfuse sink alone reads them, nothing logs or stores them.
   */
  langfuseKeys?: { publicKey: string; secretKey: string; host?: string };
  /**
   * The client's request body as parsed (messages, parameters), and the answer (a whole answer's first
   * choice's message, a stream's assembled text): set only while a sink asked for content
   * (`SettledBus.content`), `turn_off_message_logging` is off and the request did not ask for redaction
   * (`x-litellm-enable-message-redaction: true`). `metadata.mask_input` / `mask_output: true` replace the
   * prompt fields (`messages`, `prompt`, `input`; `system` dropped) / the answer with `redacted-by-litellm`.
   * Sinks pick the fields they send; no other field carries a prompt or an answer.
   */
  request?: JsonObject;
  response?: unknown;
  /**
   * Set only while a tracing sink asked for them (`SettledBus.trace`): the request's W3C `traceparent`
   * header as received, and its numeric sampling parameters (temperature, top_p, max_tokens, ...)
   */
  traceparent?: string;
  params?: Readonly<Record<string, number>>;
  /**
   * Set for a call made through a pass-through route: the path as called (`/anthropic/v1/messages`). Its
   * `endpoint` is what the call was (messages, chat, ...); spend logs and sinks record it as LiteLLM does, with
   * the call type `pass_through_endpoint` and this path as its route.
   */
  passThrough?: string;
}

/** One upstream call of a request, as sinks see it (per-deployment and fallback metrics). Never a secret. */
export interface SettledAttemptDetail {
  deploymentId: string;
  /** the model group the deployment belongs to (a fallback group for fallback calls) */
  modelGroup: string;
  litellmModel: string;
  provider?: ProviderId;
  /** the deployment's public api_base (known secrets masked) */
  apiBase?: string;
  status: 'ok' | 'error' | 'client_abort';
  errorClass?: ErrorClass;
  /** the HTTP status of the failure (the upstream's, mapped) */
  errorStatus?: number;
  /** ms from the call's start to its end, and to its first token (when known) */
  durationMs: number;
  timeToFirstTokenMs?: number;
}

/**
 * The inference APIs that settle: every endpoint kind (chat, ..., audio_speech), `/v1/messages` and
 * `/v1/responses`.
 */
export type SettledEndpoint = EndpointKind | 'messages' | 'responses';

/** LiteLLM's `call_type` of each endpoint (spend logs filter on it; Langfuse names generations by it). */
export const CALL_TYPE_OF: Readonly<Record<SettledEndpoint, string>> = {
  chat: 'acompletion',
  completion: 'atext_completion',
  embedding: 'aembedding',
  messages: 'anthropic_messages',
  responses: 'aresponses',
  rerank: 'arerank',
  moderation: 'amoderation',
  image_generation: 'aimage_generation',
  audio_transcription: 'atranscription',
  audio_speech: 'aspeech',
};

/** The route each endpoint is served at (the rollups' `endpoint` column, Prometheus's `route` label). */
export const ROUTE_OF: Readonly<Record<SettledEndpoint, string>> = {
  chat: '/v1/chat/completions',
  completion: '/v1/completions',
  embedding: '/v1/embeddings',
  messages: '/v1/messages',
  responses: '/v1/responses',
  rerank: '/v1/rerank',
  moderation: '/v1/moderations',
  image_generation: '/v1/images/generations',
  audio_transcription: '/v1/audio/transcriptions',
  audio_speech: '/v1/audio/speech',
};

/** LiteLLM's call type of an event: its endpoint's, or `pass_through_endpoint` for a pass-through call. */
export function callTypeOf(e: SettledEvent): string {
  return e.passThrough === undefined ? CALL_TYPE_OF[e.endpoint] : 'pass_through_endpoint';
}

/** The route an event's call came in on: its endpoint's, or the pass-through path as called. */
export function routeOf(e: SettledEvent): string {
  return e.passThrough ?? ROUTE_OF[e.endpoint];
}

/** A subscriber; one that returns a promise is not awaited (a rejection is reported like a throw). */
export type SettledSubscriber = (event: SettledEvent) => undefined | Promise<unknown>;

/**
 * Fan-out of settled events. `emit` only queues: subscribers run later in one batch per tick, off the
 * response path, and a subscriber that throws is reported once and never breaks the others.
 */
export class SettledBus {
  private readonly subs: SettledSubscriber[] = [];
  private queue: SettledEvent[] = [];
  private scheduled = false;
  /** subscribers that failed once already (reported once, not per event) */
  private readonly failed = new WeakSet<SettledSubscriber>();
  private wantContent = false;
  /** false with `litellm_settings.turn_off_message_logging: true`: no sink ever gets prompts or answers */
  messageLogging = true;
  /** the config's custom metadata (`litellm_settings.metadata`), under every request's own */
  metadata?: JsonObject;
  /** set at start-up when a tracing sink wants `traceparent` and the request's parameters (OpenTelemetry) */
  trace = false;

  /**
   * Whether events carry prompts and answers: a sink asked for them (set at start-up, e.g. Langfuse) and
   * message logging is on. Reading it is all the response path pays when nobody wants content.
   */
  get content(): boolean {
    return this.wantContent && this.messageLogging;
  }
  set content(on: boolean) {
    this.wantContent = on;
  }

  /**
   * `onError` hears the first failure of each subscriber (a log line); `onEachFailure`, if given, every
   * failure (a metric such as litellm_callback_logging_failures_metric)
   */
  constructor(
    private readonly onError: (err: unknown) => void = () => {},
    private readonly onEachFailure?: (fn: SettledSubscriber) => void,
  ) {}

  /** true when someone listens: callers skip building events otherwise */
  get active(): boolean {
    return this.subs.length > 0;
  }

  /** Register a subscriber; returns the function that removes it. */
  subscribe(fn: SettledSubscriber): () => void {
    this.subs.push(fn);
    return () => {
      const i = this.subs.indexOf(fn);
      if (i !== -1) this.subs.splice(i, 1);
    };
  }

  emit(event: SettledEvent): void {
    if (this.subs.length === 0) return;
    this.queue.push(event);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Deliver what is queued now (also used at shutdown so nothing is lost). */
  readonly flush = (): void => {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const subs = this.subs.slice(); // a subscriber may unsubscribe while it runs
    for (const e of batch) {
      for (const fn of subs) {
        try {
          const r = fn(e);
          if (r instanceof Promise) r.catch((err: unknown) => this.report(fn, err));
        } catch (err) {
          this.report(fn, err);
        }
      }
    }
  };

  private report(fn: SettledSubscriber, err: unknown): void {
    this.onEachFailure?.(fn);
    if (this.failed.has(fn)) return;
    this.failed.add(fn);
    this.onError(err);
  }
}
