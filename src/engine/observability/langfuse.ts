import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import type { JsonObject } from '../wire.js';
import type { LangfuseConfig } from './langfuse-config.js';
import { CALL_TYPE_OF, type SettledEvent } from './settled.js';

/** One event of Langfuse's public ingestion API (`POST /api/public/ingestion`, `{"batch": [...]}`). */
export interface IngestionEvent {
  id: string;
  type: 'trace-create' | 'generation-create';
  timestamp: string;
  body: Record<string, unknown>;
}

export interface LangfuseSinkOptions {
  config: LangfuseConfig;
  warn: (fields: Record<string, unknown>, message: string) => void;
  /** each ingestion event dropped (queue full, POST failed twice, rejected): litellm_callback_logging_failures */
  onDrop?: (count: number) => void;
  /** queued ingestion events beyond which new ones are dropped (default 10,000) */
  maxQueue?: number;
  /** events per POST (default 100) and the flush period (default: the config's, 1 s unless LANGFUSE_FLUSH_INTERVAL) */
  batchSize?: number;
  flushMs?: number;
  /** per POST (default 10 s) */
  timeoutMs?: number;
  /** Langfuse projects per-request keys may name at most (default 16); calls for more are dropped */
  maxProjects?: number;
}

// the requester-metadata keys LiteLLM reads for Langfuse itself (kept out of the generation's metadata)
const CONTROL_KEYS = new Set([
  'trace_id',
  'existing_trace_id',
  'session_id',
  'generation_name',
  'generation_id',
  'trace_name',
  'trace_user_id',
  'trace_metadata',
  'trace_version',
  'trace_release',
  'version',
  'mask_input',
  'mask_output',
  'tags',
]);
// the request parameters sent as the generation's modelParameters (scalars only; never keys or headers)
const PARAMS = [
  'temperature',
  'top_p',
  'max_tokens',
  'max_completion_tokens',
  'n',
  'stop',
  'presence_penalty',
  'frequency_penalty',
  'seed',
  'stream',
  'reasoning_effort',
  'top_k',
  'dimensions',
  'encoding_format',
];
const WARN_EVERY_MS = 60_000;

/** A per-request `langfuse_host` as the sink reads LANGFUSE_HOST: http(s) only, no trailing slash. */
function hostOf(raw: string | undefined, fallback: string): string | undefined {
  if (raw === undefined) return fallback;
  let h = raw.trim().replace(/\/+$/, '');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(h)) {
    if (!/^https?:\/\//i.test(h)) return undefined; // another scheme: not a Langfuse
  } else h = `http://${h}`;
  try {
    const u = new URL(h);
    return u.protocol === 'http:' || u.protocol === 'https:' ? h : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The Langfuse sink (`success_callback` / `failure_callback` / `callbacks: ["langfuse"]`): each settled event
 * becomes a trace and a generation, mapped as LiteLLM maps a call. `observe` only queues (bounded: beyond it
 * events are dropped and counted); a timer sends batches to the public ingestion API, one POST at a time,
 * retried once. Langfuse being down or slow never touches a request. `close()` sends what is queued.
 */
export class LangfuseSink {
  /**
   * Each ingestion event as JSON, serialised when queued: a string is all the garbage collector sees of a
   * queued event (the mapped objects die young), and a batch is their join
   */
  private queue: string[] = [];
  private sending: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly url: string;
  private readonly auth: string;
  private readonly maxQueue: number;
  private readonly batchSize: number;
  private readonly timeoutMs: number;
  private lastWarn = 0;
  private kick = false;
  /** aborts a POST still in flight when close() gave up waiting */
  private readonly abort = new AbortController();
  /** ingestion events dropped so far (queue full, POST failed twice, rejected by Langfuse) */
  dropped = 0;
  /** ingestion events Langfuse accepted */
  sent = 0;
  /** sinks of the projects per-request keys named (`metadata.langfuse_public_key`, ...), by keys and host */
  private readonly projects = new Map<string, LangfuseSink>();

  constructor(private readonly opts: LangfuseSinkOptions) {
    const c = opts.config;
    this.url = `${c.host}/api/public/ingestion`;
    this.auth = `Basic ${Buffer.from(`${c.publicKey}:${c.secretKey}`).toString('base64')}`;
    this.maxQueue = opts.maxQueue ?? 10_000;
    this.batchSize = opts.batchSize ?? 100;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.timer = setInterval(() => void this.flushOwn(), opts.flushMs ?? c.flushMs);
    this.timer.unref();
  }

  /** The settled-event subscriber: maps and queues, never waits and never throws. */
  readonly observe = (e: SettledEvent): undefined => {
    const c = this.opts.config;
    if (e.status === 'success' ? !c.successes : !c.failures) return;
    if (e.httpStatus === 401) return; // as LiteLLM: a rejected key is no call (and no trace per guessed key)
    if (e.langfuseKeys !== undefined) {
      const project = this.projectOf(e.langfuseKeys);
      if (project !== this) {
        project?.observe(e);
        return;
      }
    }
    const events = langfuseEvents(e, c);
    if (this.queue.length + events.length > this.maxQueue) {
      this.drop(events.length, 'langfuse queue full: events dropped');
      return;
    }
    for (const ev of events) this.queue.push(JSON.stringify(ev));
    if (this.queue.length >= this.batchSize && !this.kick) {
      this.kick = true;
      setImmediate(() => {
        this.kick = false;
        void this.flushOwn(true);
      });
    }
  };

  /**
   * The sink of a project named per request (made on first use, the same options, its own queue); this
   * sink for its own project; undefined when the call cannot be sent (dropped, counted).
   */
  private projectOf(k: NonNullable<SettledEvent['langfuseKeys']>): LangfuseSink | undefined {
    const c = this.opts.config;
    const host = hostOf(k.host, c.host);
    if (host === undefined) {
      this.drop(1, 'langfuse: a per-request langfuse_host that is not an http(s) URL: call not sent');
      return undefined;
    }
    if (host === c.host && k.publicKey === c.publicKey && k.secretKey === c.secretKey) return this;
    const id = `${host}\u0001${k.publicKey}\u0001${k.secretKey}`;
    let sink = this.projects.get(id);
    if (sink === undefined) {
      if (this.projects.size >= (this.opts.maxProjects ?? 16)) {
        this.drop(1, 'langfuse: too many projects named by per-request keys: call not sent');
        return undefined;
      }
      const config = { ...c, publicKey: k.publicKey, secretKey: k.secretKey, host };
      this.projects.set(id, (sink = new LangfuseSink({ ...this.opts, config })));
    }
    return sink;
  }

  /** Send everything queued now, batch by batch (one POST at a time); resolves when done. */
  flush(): Promise<void> {
    if (this.projects.size > 0)
      return Promise.all([this.flushOwn(), ...[...this.projects.values()].map((p) => p.flush())]).then(() => {});
    return this.flushOwn();
  }

  private flushOwn(whole = false): Promise<void> {
    if (this.sending) return this.sending;
    if (this.queue.length === 0) return Promise.resolve();
    this.sending = this.sendAll(whole).finally(() => {
      this.sending = undefined;
    });
    return this.sending;
  }

  /** Stop the timer and send what is queued, waiting at most `timeoutMs` (default 5 s). */
  async close(timeoutMs = 5000): Promise<void> {
    const projects = [...this.projects.values()].map((p) => p.close(timeoutMs));
    await Promise.all([this.closeOwn(timeoutMs), ...projects]);
  }

  private async closeOwn(timeoutMs: number): Promise<void> {
    clearInterval(this.timer);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => {
      timer = setTimeout(r, timeoutMs);
    });
    const drainAll = async () => {
      // events queued while a POST was in flight go in the next round
      while (this.queue.length > 0 || this.sending) await this.flushOwn();
    };
    await Promise.race([drainAll(), deadline]);
    clearTimeout(timer);
    this.abort.abort(); // a POST still hanging ends now; its batch counts as dropped
    if (this.queue.length > 0) {
      const n = this.queue.length;
      this.queue = [];
      this.drop(n, 'langfuse: events still queued at shutdown were dropped', true);
    }
  }

  /**
   * POST what is queued now, batch by batch (`whole`: only whole batches, a full queue's kick). Events queued
   * meanwhile wait for the next kick or tick: draining until the queue was empty made, under steady load, one
   * small POST per round trip (each costs the engine as much CPU as the events of several calls)
   */
  private async sendAll(whole: boolean): Promise<void> {
    let left = whole ? 0 : this.queue.length;
    while (left > 0 || this.queue.length >= this.batchSize) {
      const batch = this.queue.splice(0, this.batchSize);
      left -= batch.length;
      const body = `{"batch":[${batch.join(',')}]}`;
      let failure: string | undefined;
      for (let attempt = 0; attempt < 2; attempt++) {
        failure = await this.post(body, batch.length);
        if (failure === undefined) break;
      }
      if (failure !== undefined) this.drop(batch.length, 'langfuse ingestion failed: events dropped', false, failure);
    }
  }

  /** One POST; undefined when Langfuse took it (207/200: events it rejected are counted as dropped). */
  private async post(body: string, n: number): Promise<string | undefined> {
    try {
      const res = await request(this.url, {
        method: 'POST',
        headers: { authorization: this.auth, 'content-type': 'application/json' },
        body,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: this.abort.signal,
      });
      const text = await res.body.text();
      if (res.statusCode !== 207 && res.statusCode !== 200) return `HTTP ${res.statusCode}`;
      let rejected = 0;
      try {
        const parsed = JSON.parse(text) as { errors?: unknown[] };
        rejected = Array.isArray(parsed.errors) ? parsed.errors.length : 0;
      } catch {
        // a 2xx without a JSON body: taken as accepted
      }
      this.sent += n - rejected;
      if (rejected > 0) this.drop(rejected, 'langfuse rejected events', false, `${rejected} of ${n}`);
      return undefined;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }

  private drop(n: number, message: string, always = false, error?: string): void {
    this.dropped += n;
    this.opts.onDrop?.(n);
    const now = Date.now();
    if (!always && now - this.lastWarn < WARN_EVERY_MS) return;
    this.lastWarn = now;
    // the error text is the transport's (no key: the auth header is never part of it)
    this.opts.warn({ dropped: n, dropped_total: this.dropped, ...(error ? { error } : {}) }, message);
  }
}

/** A settled event as Langfuse ingestion events: trace-create (unless `existing_trace_id`) and generation-create. */
export function langfuseEvents(e: SettledEvent, c: LangfuseConfig): IngestionEvent[] {
  const meta = e.metadata ?? {};
  const str = (k: string) => (typeof meta[k] === 'string' && meta[k] !== '' ? (meta[k] as string) : undefined);
  const existing = str('existing_trace_id');
  const traceId = existing ?? str('trace_id') ?? e.callId;
  const callType = `litellm-${CALL_TYPE_OF[e.endpoint]}`;
  const keyAlias = e.principal.keyAlias;
  const generationName = str('generation_name') ?? (keyAlias ? `litellm:${keyAlias}` : callType);
  const start = new Date(e.startTime).toISOString();
  const end = new Date(e.endTime).toISOString();
  // the event is already masked (mask_input / mask_output) or without content (turn_off_message_logging)
  const input = e.request ? inputOf(e) : undefined;
  const output = e.response;
  const generationMeta = metadataOf(e, meta);
  // langfuse_default_tags names what to add as `name:value` tags (cache_hit, user_api_key_alias, ...)
  const tags = [...e.tags];
  for (const name of c.defaultTags) {
    const v = generationMeta[name];
    if (v !== undefined && v !== null && typeof v !== 'object') tags.push(`${name}:${String(v)}`);
  }
  const out: IngestionEvent[] = [];
  if (existing === undefined) {
    const trace: Record<string, unknown> = {
      id: traceId,
      timestamp: start,
      name: str('trace_name') ?? callType,
      userId: str('trace_user_id') ?? e.principal.endUserId,
      sessionId: str('session_id'),
      version: str('trace_version') ?? str('version'),
      release: str('trace_release'),
      tags: tags.length > 0 ? [...new Set(tags)] : undefined,
      input,
      output,
    };
    if (isObject(meta.trace_metadata)) trace.metadata = meta.trace_metadata;
    out.push({ id: randomUUID(), type: 'trace-create', timestamp: start, body: trace });
  }
  const u = e.usage;
  const usageDetails: Record<string, number> = { input: u.prompt, output: u.completion, total: u.total };
  if (u.cached > 0) usageDetails.cache_read_input_tokens = u.cached;
  if (u.cacheCreation > 0) usageDetails.cache_creation_input_tokens = u.cacheCreation;
  if (u.reasoning > 0) usageDetails.reasoning_tokens = u.reasoning;
  const failed = e.status !== 'success';
  const generation: Record<string, unknown> = {
    id: str('generation_id') ?? e.callId,
    traceId,
    name: generationName,
    startTime: start,
    endTime: end,
    completionStartTime:
      e.timeToFirstTokenMs === undefined ? undefined : new Date(e.startTime + e.timeToFirstTokenMs).toISOString(),
    model: modelOf(e),
    modelParameters: e.request ? paramsOf(e.request) : undefined,
    input,
    output,
    usage: e.usageReported
      ? { input: u.prompt, output: u.completion, total: u.total, unit: 'TOKENS', totalCost: e.responseCost }
      : undefined,
    usageDetails: e.usageReported ? usageDetails : undefined,
    costDetails: e.responseCost === undefined ? undefined : { total: e.responseCost },
    level: e.status === 'failure' ? 'ERROR' : e.status === 'client_abort' ? 'WARNING' : 'DEFAULT',
    statusMessage: failed ? (e.errorMessage ?? 'the client closed the request') : undefined,
    version: str('version'),
    metadata: generationMeta,
  };
  out.push({ id: randomUUID(), type: 'generation-create', timestamp: end, body: generation });
  return out;
}

/** The deployment's model without its provider prefix (`openai/gpt-4o` -> `gpt-4o`), as LiteLLM reports it. */
export function modelOf(e: SettledEvent): string {
  const m = e.litellmModel ?? e.requestedModel;
  const slash = m.indexOf('/');
  return slash > 0 && e.provider !== undefined && m.slice(0, slash) === e.provider ? m.slice(slash + 1) : m;
}

/** What the client sent as the prompt: chat/messages `messages` (with `system`), a completion's `prompt`, `input`. */
function inputOf(e: SettledEvent): unknown {
  const b = e.request!;
  if (b.messages !== undefined) return b.system === undefined ? b.messages : { system: b.system, messages: b.messages };
  return b.prompt ?? b.input;
}

function paramsOf(body: JsonObject): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  for (const k of PARAMS) {
    const v = body[k];
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') (out ??= {})[k] = v;
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) (out ??= {})[k] = v;
  }
  return out;
}

/** The requester metadata (minus the keys that steer Langfuse) and how the call went. */
function metadataOf(e: SettledEvent, meta: JsonObject): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in meta) if (!CONTROL_KEYS.has(k)) out[k] = meta[k];
  // the request's and the x-litellm-spend-logs-metadata header's, merged (as the spend log stores it)
  if (e.spendLogsMetadata !== undefined) out.spend_logs_metadata = e.spendLogsMetadata;
  out.litellm_call_id = e.callId;
  out.requested_model = e.requestedModel;
  if (e.modelGroup !== undefined) out.model_group = e.modelGroup;
  if (e.deploymentId !== undefined) out.model_id = e.deploymentId;
  if (e.provider !== undefined) out.custom_llm_provider = e.provider;
  if (e.apiBase !== undefined) out.api_base = e.apiBase;
  out.stream = e.stream;
  out.status = e.status;
  out.http_status = e.httpStatus;
  if (e.errorClass !== undefined) out.error_class = e.errorClass;
  out.attempted_retries = e.attemptedRetries;
  out.attempted_fallbacks = e.attemptedFallbacks;
  if (e.attemptDetails !== undefined && e.attemptDetails.length > 1) {
    out.attempts = e.attemptDetails.map((a) => ({
      model_group: a.modelGroup,
      model_id: a.deploymentId,
      status: a.status,
      ...(a.errorClass ? { error_class: a.errorClass } : {}),
      ...(a.errorStatus ? { error_status: a.errorStatus } : {}),
    }));
  }
  out.cache_hit = e.cacheHit;
  if (e.responseCost !== undefined) out.litellm_response_cost = e.responseCost;
  if (e.unpriced) out.unpriced = true;
  if (e.principal.keyHash !== undefined) out.user_api_key_hash = e.principal.keyHash;
  if (e.principal.keyAlias !== undefined) out.user_api_key_alias = e.principal.keyAlias;
  if (e.principal.teamId !== undefined) out.user_api_key_team_id = e.principal.teamId;
  return out;
}

const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);
