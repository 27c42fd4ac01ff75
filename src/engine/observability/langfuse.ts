import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import type { JsonObject } from '../wire.js';
import { ByteBatches } from './byte-batches.js';
import type { LangfuseConfig } from './langfuse-config.js';
import { callTypeOf, type SettledEvent } from './settled.js';

export interface LangfuseSinkOptions {
  config: LangfuseConfig;
  warn: (fields: Record<string, unknown>, message: string) => void;
  /** each ingestion event dropped (queue full, POST failed twice, rejected): litellm_callback_logging_failures */
  onDrop?: (count: number) => void;
  /** queued ingestion events beyond which new ones are dropped (default 10,000) */
  maxQueue?: number;
  /**
   * events per POST (default 500; fewer when they would pass ~3 MB, under the API's 3.5 MB a batch) and the
   * flush period (default: the config's, 1 s unless LANGFUSE_FLUSH_INTERVAL)
   */
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
// bytes per POST at most: Langfuse takes batches up to 3.5 MB
const MAX_BATCH_BYTES = 3_000_000;

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
   * Each ingestion event of Langfuse's public API (`POST /api/public/ingestion`, `{"batch": [...]}`) as its
   * JSON, in the bytes of the batch that will carry it (off the heap: see ByteBatches)
   */
  private readonly queue: ByteBatches;
  private sending: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly url: string;
  private readonly auth: string;
  private readonly maxQueue: number;
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
    this.queue = new ByteBatches({
      maxItems: opts.batchSize ?? 500,
      maxBytes: MAX_BATCH_BYTES,
      head: '{"batch":[',
      separator: ',',
      tail: ']}',
    });
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
    if (this.queue.count + events.length > this.maxQueue) {
      this.drop(events.length, 'langfuse queue full: events dropped');
      return;
    }
    let full = false;
    for (const ev of events) full = this.queue.pushString(ev) || full;
    if (full && !this.kick) {
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
    if (this.queue.count === 0) return Promise.resolve();
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
      while (this.queue.count > 0 || this.sending) await this.flushOwn();
    };
    await Promise.race([drainAll(), deadline]);
    clearTimeout(timer);
    this.abort.abort(); // a POST still hanging ends now; its batch counts as dropped
    if (this.queue.count > 0)
      this.drop(this.queue.clear(), 'langfuse: events still queued at shutdown were dropped', true);
  }

  /**
   * POST what is queued now, batch by batch (`whole`: only whole batches, a full queue's kick). Events queued
   * meanwhile wait for the next kick or tick: draining until the queue was empty made, under steady load, one
   * small POST per round trip (each costs the engine as much CPU as the events of several calls)
   */
  private async sendAll(whole: boolean): Promise<void> {
    if (!whole) this.queue.seal(); // the batch still filling goes too
    for (let batch = this.queue.take(); batch !== undefined; batch = this.queue.take()) {
      let failure: string | undefined;
      for (let attempt = 0; attempt < 2; attempt++) {
        failure = await this.post(batch.bytes, batch.count);
        if (failure === undefined) break;
      }
      // a failed POST's socket may still hold its bytes: only a batch Langfuse answered gives its buffer back
      if (failure === undefined) this.queue.release(batch);
      else this.drop(batch.count, 'langfuse ingestion failed: events dropped', false, failure);
    }
  }

  /** One POST; undefined when Langfuse took it (207/200: events it rejected are counted as dropped). */
  private async post(body: Buffer, n: number): Promise<string | undefined> {
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

/**
 * A settled event as Langfuse ingestion events, each as its JSON text: trace-create (unless
 * `existing_trace_id`) and generation-create. Written field by field rather than mapped to objects and
 * stringified: the prompt and the answer, which both events carry, are serialised once, and no object per
 * field is made (the mapped objects and the generic stringify were most of the sink's cost per call).
 * A field that is undefined is left out, as JSON.stringify leaves it out.
 */
export function langfuseEvents(e: SettledEvent, c: LangfuseConfig): string[] {
  const meta = e.metadata ?? {};
  const str = (k: string) => (typeof meta[k] === 'string' && meta[k] !== '' ? (meta[k] as string) : undefined);
  const existing = str('existing_trace_id');
  const traceId = q(existing ?? str('trace_id') ?? e.callId);
  const callType = `litellm-${callTypeOf(e)}`;
  const keyAlias = e.principal.keyAlias;
  const start = `"${isoTime(e.startTime)}"`;
  const end = `"${isoTime(e.endTime)}"`;
  // the event is already masked (mask_input / mask_output) or without content (turn_off_message_logging)
  const input = e.request ? json(inputOf(e)) : undefined;
  const output = json(e.response);
  const io = (input === undefined ? '' : `,"input":${input}`) + (output === undefined ? '' : `,"output":${output}`);
  const version = str('version');
  const out: string[] = [];
  if (existing === undefined) {
    let t = `{"id":${traceId},"timestamp":${start},"name":${q(str('trace_name') ?? callType)}`;
    t += opt('userId', str('trace_user_id') ?? e.principal.endUserId);
    t += opt('sessionId', str('session_id'));
    t += opt('version', str('trace_version') ?? version);
    t += opt('release', str('trace_release'));
    const tags = tagsOf(e, c, meta);
    if (tags !== undefined) t += `,"tags":${tags}`;
    if (isObject(meta.trace_metadata)) t += `,"metadata":${JSON.stringify(meta.trace_metadata)}`;
    out.push(`{"id":"${eventId()}","type":"trace-create","timestamp":${start},"body":${t}${io}}}`);
  }
  const u = e.usage;
  let g = `{"id":${q(str('generation_id') ?? e.callId)},"traceId":${traceId}`;
  g += `,"name":${q(str('generation_name') ?? (keyAlias ? `litellm:${keyAlias}` : callType))}`;
  g += `,"startTime":${start},"endTime":${end}`;
  if (e.timeToFirstTokenMs !== undefined)
    g += `,"completionStartTime":"${isoTime(e.startTime + e.timeToFirstTokenMs)}"`;
  g += `,"model":${q(modelOf(e))}`;
  const params = e.request ? paramsOf(e.request) : undefined;
  if (params !== undefined) g += `,"modelParameters":${params}`;
  g += io;
  if (e.usageReported) {
    const counts = `"input":${num(u.prompt)},"output":${num(u.completion)},"total":${num(u.total)}`;
    const cost = e.responseCost === undefined ? '' : `,"totalCost":${num(e.responseCost)}`;
    g += `,"usage":{${counts},"unit":"TOKENS"${cost}},"usageDetails":{${counts}`;
    if (u.cached > 0) g += `,"cache_read_input_tokens":${num(u.cached)}`;
    if (u.cacheCreation > 0) g += `,"cache_creation_input_tokens":${num(u.cacheCreation)}`;
    if (u.reasoning > 0) g += `,"reasoning_tokens":${num(u.reasoning)}`;
    g += '}';
  }
  if (e.responseCost !== undefined) g += `,"costDetails":{"total":${num(e.responseCost)}}`;
  g += `,"level":"${e.status === 'failure' ? 'ERROR' : e.status === 'client_abort' ? 'WARNING' : 'DEFAULT'}"`;
  if (e.status !== 'success') g += `,"statusMessage":${q(e.errorMessage ?? 'the client closed the request')}`;
  g += opt('version', version);
  g += `,"metadata":${metadataOf(e, meta)}}`;
  out.push(`{"id":"${eventId()}","type":"generation-create","timestamp":${end},"body":${g}}`);
  return out;
}

// a character JSON.stringify writes escaped (quote, backslash, control) or may (a surrogate, when lone)
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what it looks for
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
// an ingestion event's envelope id only has to be unique (Langfuse dedupes on it): a UUID (version 4 shape)
// whose first 74 random bits are drawn once per process and whose last 48 count, instead of fresh ones per event
const ID_PREFIX = (() => {
  const h = randomBytes(10).toString('hex');
  const variant = ((Number.parseInt(h[16]!, 16) & 3) | 8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-`;
})();
let idCount = 0;
/** A new ingestion event id. */
function eventId(): string {
  idCount = (idCount + 1) % 0x1000000000000;
  return ID_PREFIX + idCount.toString(16).padStart(12, '0');
}

/** A string as JSON: most need no escape and are only quoted (JSON.stringify's own call cost more). */
const q = (s: string): string => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`);
/** A number as JSON (as JSON.stringify writes it: null when not finite). */
const num = (n: number): string => (Number.isFinite(n) ? String(n) : 'null');
/** `,"key":"value"`, or nothing when the value is undefined. */
const opt = (key: string, v: string | undefined): string => (v === undefined ? '' : `,"${key}":${q(v)}`);
/** A value as JSON; undefined for undefined (and what JSON leaves out: functions, symbols). */
const json = (v: unknown): string | undefined =>
  typeof v === 'string' ? q(v) : typeof v === 'number' ? num(v) : v === undefined ? undefined : JSON.stringify(v);

/**
 * The trace's tags as a JSON array, each once: the request's, then `name:value` for each name that
 * langfuse_default_tags lists and the generation's metadata holds as a scalar; undefined when none.
 */
function tagsOf(e: SettledEvent, c: LangfuseConfig, meta: JsonObject): string | undefined {
  let tags: string[] | undefined;
  if (c.defaultTags.length > 0) {
    tags = [...e.tags];
    for (const name of c.defaultTags) {
      const v = metadataValue(e, meta, name);
      if (v !== undefined && v !== null && typeof v !== 'object') tags.push(`${name}:${String(v)}`);
    }
    tags = [...new Set(tags)];
  } else if (e.tags.length > 0) tags = e.tags.length === 1 ? (e.tags as string[]) : [...new Set(e.tags)];
  return tags === undefined || tags.length === 0 ? undefined : JSON.stringify(tags);
}

/** The deployment's model without its provider prefix (`openai/gpt-4o` -> `gpt-4o`), as LiteLLM reports it. */
export function modelOf(e: SettledEvent): string {
  const m = e.litellmModel ?? e.requestedModel;
  const slash = m.indexOf('/');
  return slash > 0 && e.provider !== undefined && m.slice(0, slash) === e.provider ? m.slice(slash + 1) : m;
}

/**
 * What the client sent as the prompt: chat/messages `messages` (with `system`), a completion's `prompt`, `input`,
 * Gemini's `contents` (a Vertex AI call through the pass-through route).
 */
function inputOf(e: SettledEvent): unknown {
  const b = e.request!;
  if (b.messages !== undefined) return b.system === undefined ? b.messages : { system: b.system, messages: b.messages };
  return b.prompt ?? b.input ?? b.contents;
}

/** The request's parameters (scalars, string lists) as a JSON object; undefined when it has none. */
function paramsOf(body: JsonObject): string | undefined {
  let out: string | undefined;
  for (const k of PARAMS) {
    const v = body[k];
    if (v === undefined) continue;
    const scalar = typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string';
    if (!scalar && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) continue;
    out = `${out === undefined ? '{' : `${out},`}"${k}":${JSON.stringify(v)}`;
  }
  return out === undefined ? undefined : `${out}}`;
}

/**
 * What the generation's metadata says of how the call went, key by key: each getter's value is written
 * unless undefined, over a requester key of the same name (as LiteLLM's own fields win).
 */
const OWN_METADATA: readonly (readonly [string, (e: SettledEvent) => unknown])[] = [
  // the request's and the x-litellm-spend-logs-metadata header's, merged (as the spend log stores it)
  ['spend_logs_metadata', (e) => e.spendLogsMetadata],
  ['litellm_call_id', (e) => e.callId],
  ['requested_model', (e) => e.requestedModel],
  ['model_group', (e) => e.modelGroup],
  ['model_id', (e) => e.deploymentId],
  ['custom_llm_provider', (e) => e.provider],
  ['api_base', (e) => e.apiBase],
  ['stream', (e) => e.stream],
  ['status', (e) => e.status],
  ['http_status', (e) => e.httpStatus],
  ['error_class', (e) => e.errorClass],
  ['attempted_retries', (e) => e.attemptedRetries],
  ['attempted_fallbacks', (e) => e.attemptedFallbacks],
  [
    'attempts',
    (e) =>
      e.attemptDetails !== undefined && e.attemptDetails.length > 1
        ? e.attemptDetails.map((a) => ({
            model_group: a.modelGroup,
            model_id: a.deploymentId,
            status: a.status,
            ...(a.errorClass ? { error_class: a.errorClass } : {}),
            ...(a.errorStatus ? { error_status: a.errorStatus } : {}),
          }))
        : undefined,
  ],
  ['cache_hit', (e) => e.cacheHit],
  ['litellm_response_cost', (e) => e.responseCost],
  ['unpriced', (e) => (e.unpriced ? true : undefined)],
  ['user_api_key_hash', (e) => e.principal.keyHash],
  ['user_api_key_alias', (e) => e.principal.keyAlias],
  ['user_api_key_team_id', (e) => e.principal.teamId],
];
const OWN_KEYS = OWN_METADATA.map(([k]) => k);
const OWN_GETTERS = OWN_METADATA.map(([, get]) => get);
const OWN_BY_KEY: ReadonlyMap<string, (e: SettledEvent) => unknown> = new Map(OWN_METADATA);

/** One key of the generation's metadata: the call's own field, else the requester's (not one steering Langfuse). */
function metadataValue(e: SettledEvent, meta: JsonObject, key: string): unknown {
  const own = OWN_BY_KEY.get(key)?.(e);
  return own !== undefined || CONTROL_KEYS.has(key) ? own : meta[key];
}

/** The generation's metadata as JSON: the requester's (minus the keys that steer Langfuse), how the call went. */
function metadataOf(e: SettledEvent, meta: JsonObject): string {
  let out = '';
  for (const k in meta) {
    if (CONTROL_KEYS.has(k) || OWN_BY_KEY.get(k)?.(e) !== undefined) continue;
    const v = json(meta[k]);
    if (v !== undefined) out += `,${q(k)}:${v}`;
  }
  for (let i = 0; i < OWN_KEYS.length; i++) {
    const v = json(OWN_GETTERS[i]!(e));
    if (v !== undefined) out += `,"${OWN_KEYS[i]}":${v}`;
  }
  return `{${out.slice(1)}}`;
}

// the last second an ISO time was written for, and its text up to the milliseconds
let isoSecond = Number.NaN;
let isoPrefix = '';
/** Epoch ms as `Date.prototype.toISOString` writes it, the date part computed once a second. */
export function isoTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    const full = new Date(second * 1000).toISOString();
    if (!full.endsWith('.000Z')) return new Date(ms).toISOString();
    isoSecond = second;
    isoPrefix = full.slice(0, -4);
  }
  const milli = Math.trunc(ms) - second * 1000;
  return `${isoPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);
