/**
 * What a pass-through call costs: which calls are inference calls (a chat, messages, responses, embeddings or
 * completions call in the provider's own API), the model they name, and the usage their answer reports, read
 * from the bytes as they go back to the client (never changed, never held back). The answer's formats: JSON,
 * SSE (OpenAI, Anthropic, Gemini), Bedrock's event stream (Converse and InvokeModel), Gemini's JSON array.
 */
import type { SettledEndpoint } from '../observability/settled.js';
import { mergeDeltaUsage } from '../providers/anthropic/response.js';
import type { EventStreamDecoder } from '../providers/bedrock/event-stream.js';
import { usageOf as converseUsage } from '../providers/bedrock/response.js';
import { usageOf as geminiUsage } from '../providers/google/response.js';
import type { ProviderId } from '../providers/types.js';
import { SseParser } from '../stream/sse.js';
import { type TokenUsage, tokenUsage } from '../upstream/result.js';
import type { JsonObject } from '../wire.js';

/** The wire format of a metered call's answer. */
export type WireFormat = 'openai' | 'responses' | 'anthropic' | 'gemini' | 'converse' | 'invoke';

/** An inference call made through a pass-through route. */
export interface MeteredCall {
  endpoint: SettledEndpoint;
  format: WireFormat;
  /** the provider the route goes to (undefined for a configured route) */
  provider?: ProviderId;
  /** the model the call names (its body's `model`, else the one in its path) */
  model: string;
  /** asked for a stream (the answer's content type decides how it is read) */
  stream: boolean;
}

// OpenAI's inference paths (also Azure's `/openai/deployments/{name}/...` and configured routes), by their end
const OPENAI_PATHS: readonly (readonly [RegExp, SettledEndpoint, WireFormat])[] = [
  [/\/chat\/completions$/, 'chat', 'openai'],
  [/\/completions$/, 'completion', 'openai'],
  [/\/embeddings$/, 'embedding', 'openai'],
  [/\/responses$/, 'responses', 'responses'],
];
const MESSAGES_PATH = /(?:^|\/)v1\/messages$/;
const AZURE_DEPLOYMENT = /\/deployments\/([^/]+)\//;
const BEDROCK_PATH = /^\/model\/([^/]+)\/(converse|converse-stream|invoke|invoke-with-response-stream)$/;
const GEMINI_PATH = /^\/v1(?:beta|alpha)?\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;
const VERTEX_PATH =
  /\/publishers\/([^/]+)\/models\/([^/:]+):(generateContent|streamGenerateContent|rawPredict|streamRawPredict)$/;

/**
 * The inference call a pass-through request is, or undefined (a GET, a file upload, a batch, a path the engine
 * does not read: forwarded, not metered). `rest` is the sub-path after the route's prefix, without the query.
 */
export function meteredCall(
  provider: ProviderId | undefined,
  method: string,
  rest: string,
  body: JsonObject | undefined,
): MeteredCall | undefined {
  if (method !== 'POST' || body === undefined) return undefined;
  const named = typeof body.model === 'string' && body.model !== '' ? body.model : undefined;
  const stream = body.stream === true;
  if (provider === 'bedrock') {
    const m = BEDROCK_PATH.exec(rest);
    if (!m) return undefined;
    const model = safeDecode(m[1]!);
    const kind = m[2]!;
    const converse = kind.startsWith('converse');
    return {
      endpoint: 'chat',
      format: converse ? 'converse' : 'invoke',
      provider,
      model,
      stream: kind.includes('stream'),
    };
  }
  if (provider === 'gemini') {
    const m = GEMINI_PATH.exec(rest);
    if (!m) return undefined;
    const model = safeDecode(m[1]!);
    return { endpoint: 'chat', format: 'gemini', provider, model, stream: m[2] === 'streamGenerateContent' };
  }
  if (provider === 'vertex_ai') {
    const m = VERTEX_PATH.exec(rest);
    if (!m) return undefined;
    const anthropic = m[1] === 'anthropic';
    if (!anthropic && m[1] !== 'google') return undefined;
    const verb = m[3]!;
    return {
      endpoint: anthropic ? 'messages' : 'chat',
      format: anthropic ? 'anthropic' : 'gemini',
      provider,
      model: safeDecode(m[2]!),
      stream: verb.startsWith('stream') || stream,
    };
  }
  if (provider === 'anthropic' || (provider === undefined && MESSAGES_PATH.test(rest))) {
    if (!MESSAGES_PATH.test(rest) || named === undefined) return undefined;
    return { endpoint: 'messages', format: 'anthropic', provider, model: named, stream };
  }
  for (const [re, endpoint, format] of OPENAI_PATHS) {
    if (!re.test(rest)) continue;
    const model = named ?? (provider === 'azure' ? AZURE_DEPLOYMENT.exec(rest)?.[1] : undefined);
    if (model === undefined) return undefined;
    return { endpoint, format, provider, model, stream };
  }
  return undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

// a whole (non-stream) answer is kept for reading up to this size; a bigger one goes back unread (usage unknown)
const MAX_WHOLE = 32 * 1024 * 1024;

/**
 * Reads one answer's usage (and, when asked, its text) from the bytes going back to the client. Feed it every
 * chunk with `push`, then call `end`; it never throws (an answer it cannot read reports no usage).
 */
export class UsageTap {
  /** what the answer reported; undefined when it reported none (or could not be read) */
  usage?: TokenUsage;
  /** the model the answer names (`model`, Gemini's `modelVersion`) */
  model?: string;
  /** the answer's text, assembled only when `wantText` */
  text?: string;
  private readonly mode: 'sse' | 'events' | 'whole';
  private sse?: SseParser;
  private events?: EventStreamReader;
  private whole: Buffer[] = [];
  private size = 0;
  private broken = false;
  /** Anthropic's usage as a stream gives it: message_start's, then message_delta's fields over it */
  private anthropicUsage?: JsonObject;
  /** Bedrock InvokeModel's own token counts (its headers, or a stream's last chunk), in Converse's usage shape */
  private invokeCounts?: JsonObject;

  constructor(
    private readonly format: WireFormat,
    contentType: string | undefined,
    private readonly wantText: boolean,
    headers?: Readonly<Record<string, string | string[] | undefined>>,
  ) {
    const ct = (contentType ?? '').toLowerCase();
    this.mode = ct.startsWith('text/event-stream')
      ? 'sse'
      : ct.startsWith('application/vnd.amazon.eventstream')
        ? 'events'
        : 'whole';
    if (format === 'invoke' && headers) {
      const sent = first(headers['x-amzn-bedrock-input-token-count']);
      const input = Number(sent);
      const output = Number(first(headers['x-amzn-bedrock-output-token-count']));
      if (sent && Number.isFinite(input) && Number.isFinite(output))
        this.invokeCounts = { inputTokens: input, outputTokens: output };
    }
  }

  push(b: Buffer): void {
    if (this.broken) return;
    try {
      if (this.mode === 'sse') {
        this.sse ??= new SseParser();
        for (const ev of this.sse.push(b)) this.event(ev.data);
      } else if (this.mode === 'events') {
        this.events ??= new EventStreamReader();
        for (const ev of this.events.push(b)) this.bedrockEvent(ev.type, ev.payload);
      } else {
        this.size += b.length;
        if (this.size > MAX_WHOLE) {
          this.whole = [];
          this.broken = true;
        } else this.whole.push(b);
      }
    } catch {
      this.broken = true; // a frame it cannot read: the answer still goes back as it is, unmetered
    }
  }

  end(): void {
    try {
      if (!this.broken && this.mode === 'sse' && this.sse) for (const ev of this.sse.end()) this.event(ev.data);
      if (!this.broken && this.mode === 'whole' && this.size > 0) {
        const parsed = JSON.parse(Buffer.concat(this.whole, this.size).toString('utf8')) as unknown;
        this.whole = [];
        if (Array.isArray(parsed)) for (const item of parsed) this.object(item);
        else this.object(parsed);
      }
    } catch {
      // not JSON (or cut short): no usage from the body
    }
    if (this.usage === undefined && this.anthropicUsage !== undefined) this.usage = tokenUsage(this.anthropicUsage);
    // the counts are Converse's (cache reads and writes apart from the input): the Converse reading applies
    if (this.usage === undefined && this.invokeCounts !== undefined)
      this.usage = tokenUsage(converseUsage(this.invokeCounts));
  }

  /** One whole answer, one item of Gemini's JSON array or one Gemini SSE event. */
  private object(v: unknown): void {
    if (!isObject(v)) return;
    switch (this.format) {
      case 'openai':
      case 'responses': {
        if (isObject(v.usage)) this.usage = tokenUsage(v.usage);
        this.named(v.model);
        if (this.wantText) this.addText(openaiText(v));
        return;
      }
      case 'anthropic':
        this.anthropic(v);
        return;
      case 'invoke':
        // InvokeModel answers in the model's own shape: Anthropic's for Claude (its usage carries the cache)
        if (isObject(v.usage) && v.usage.input_tokens !== undefined) this.usage = tokenUsage(v.usage);
        this.named(v.model);
        if (this.wantText) this.addText(anthropicText(v));
        return;
      case 'gemini':
        if (isObject(v.usageMetadata)) this.usage = tokenUsage(geminiUsage(v.usageMetadata));
        this.named(v.modelVersion);
        if (this.wantText) this.addText(geminiText(v));
        return;
      case 'converse':
        if (isObject(v.usage)) this.usage = tokenUsage(converseUsage(v.usage));
        if (this.wantText) this.addText(converseText(v));
        return;
    }
  }

  /** An Anthropic answer, whole or one stream event. */
  private anthropic(v: JsonObject): void {
    switch (v.type) {
      case 'message_start': {
        const m = isObject(v.message) ? v.message : undefined;
        if (m && isObject(m.usage)) this.anthropicUsage = { ...m.usage };
        this.named(m?.model);
        return;
      }
      case 'message_delta':
        // its usage holds the output so far (and, from some hosts, the input again): its fields win
        if (isObject(v.usage)) this.anthropicUsage = mergeDeltaUsage({ ...this.anthropicUsage }, v.usage);
        return;
      case 'content_block_delta':
        if (this.wantText && isObject(v.delta) && typeof v.delta.text === 'string') this.addText(v.delta.text);
        return;
      case 'message':
        if (isObject(v.usage)) this.usage = tokenUsage(v.usage);
        this.named(v.model);
        if (this.wantText) this.addText(anthropicText(v));
        return;
    }
  }

  /** One SSE event's data. */
  private event(data: string): void {
    if (data === '[DONE]' || data === '') return;
    const v = objectOf(data);
    if (!v) return;
    switch (this.format) {
      case 'openai':
        if (isObject(v.usage)) this.usage = tokenUsage(v.usage);
        this.named(v.model);
        if (this.wantText) this.addText(openaiDelta(v));
        return;
      case 'responses': {
        const r = isObject(v.response) ? v.response : undefined;
        if (r && isObject(r.usage)) this.usage = tokenUsage(r.usage);
        if (r) this.named(r.model);
        if (this.wantText && v.type === 'response.output_text.delta' && typeof v.delta === 'string')
          this.addText(v.delta);
        return;
      }
      case 'gemini':
        this.object(v);
        return;
      default:
        this.anthropic(v);
    }
  }

  /** One Bedrock event-stream message. */
  private bedrockEvent(type: string | undefined, payload: string): void {
    const v = objectOf(payload);
    if (!v) return;
    if (this.format === 'converse') {
      if (type === 'metadata' && isObject(v.usage)) this.usage = tokenUsage(converseUsage(v.usage));
      else if (this.wantText && type === 'contentBlockDelta' && isObject(v.delta) && typeof v.delta.text === 'string')
        this.addText(v.delta.text);
      return;
    }
    // InvokeModel's stream: each `chunk` carries one event of the model's own stream, base64-encoded
    if (type !== 'chunk' || typeof v.bytes !== 'string') return;
    const inner = objectOf(Buffer.from(v.bytes, 'base64').toString('utf8'));
    if (!inner) return;
    const metrics = inner['amazon-bedrock-invocationMetrics'];
    if (isObject(metrics)) {
      this.invokeCounts = {
        inputTokens: num(metrics.inputTokenCount),
        outputTokens: num(metrics.outputTokenCount),
        cacheReadInputTokens: num(metrics.cacheReadInputTokenCount),
        cacheWriteInputTokens: num(metrics.cacheWriteInputTokenCount),
      };
    }
    this.anthropic(inner);
  }

  private named(m: unknown): void {
    if (typeof m === 'string' && m !== '') this.model = m;
  }

  private addText(t: string | undefined): void {
    if (t) this.text = (this.text ?? '') + t;
  }
}

// Bedrock's event-stream decoder (the adapter's), loaded by loadMeterCodecs before a Bedrock answer is read
let Decoder: typeof EventStreamDecoder | undefined;

/** Bedrock event-stream messages: each one's `:event-type` and payload. */
class EventStreamReader {
  private readonly decoder: EventStreamDecoder;

  constructor() {
    if (Decoder === undefined) throw new Error('event-stream decoder not loaded');
    this.decoder = new Decoder();
  }

  push(b: Buffer): { type?: string; payload: string }[] {
    return this.decoder.push(b).map((e) => ({ type: e.eventType, payload: e.payload }));
  }
}

/** Load what reading Bedrock's event streams needs (once, on the first Bedrock call: it is not light). */
export async function loadMeterCodecs(): Promise<void> {
  Decoder ??= (await import('../providers/bedrock/event-stream.js')).EventStreamDecoder;
}

function openaiText(v: JsonObject): string | undefined {
  const c = Array.isArray(v.choices) && isObject(v.choices[0]) ? v.choices[0] : undefined;
  if (!c) return undefined;
  const m = isObject(c.message) ? c.message : undefined;
  return typeof m?.content === 'string' ? m.content : typeof c.text === 'string' ? c.text : undefined;
}

function openaiDelta(v: JsonObject): string | undefined {
  const c = Array.isArray(v.choices) && isObject(v.choices[0]) ? v.choices[0] : undefined;
  const d = c && isObject(c.delta) ? c.delta : undefined;
  return typeof d?.content === 'string' ? d.content : typeof c?.text === 'string' ? c.text : undefined;
}

function anthropicText(v: JsonObject): string | undefined {
  if (!Array.isArray(v.content)) return undefined;
  let t = '';
  for (const b of v.content) if (isObject(b) && typeof b.text === 'string') t += b.text;
  return t;
}

function geminiText(v: JsonObject): string | undefined {
  const c = Array.isArray(v.candidates) && isObject(v.candidates[0]) ? v.candidates[0] : undefined;
  const parts = c && isObject(c.content) && Array.isArray(c.content.parts) ? c.content.parts : undefined;
  if (!parts) return undefined;
  let t = '';
  for (const p of parts) if (isObject(p) && typeof p.text === 'string' && p.thought !== true) t += p.text;
  return t;
}

function converseText(v: JsonObject): string | undefined {
  const m = isObject(v.output) && isObject(v.output.message) ? v.output.message : undefined;
  return m ? anthropicText(m) : undefined;
}

/** A JSON object from text; undefined when the text is not one. */
function objectOf(text: string): JsonObject | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return isObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** A header's value (the first, when sent more than once). */
export const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);
