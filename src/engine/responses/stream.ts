/**
 * Responses API streams: the decoder for an upstream that speaks it natively, the framing that writes its events
 * to the client, and the framing that turns a chat stream into them (every other provider). Events go out as
 * `event: <type>` + `data: {...}` with a `sequence_number` counting from 0, as OpenAI sends them.
 */
import { GatewayError } from '../errors.js';
import type { ApiFormat, StreamFraming } from '../http/response-writer.js';
import { OPENAI_FORMAT } from '../http/response-writer.js';
import { badUpstreamAnswer } from '../providers/errors.js';
import { eventObject } from '../stream/chunks.js';
import { SseParser } from '../stream/sse.js';
import { contentText, estimateTokens } from '../tokens.js';
import type { JsonObject, OpenAIChunk, StreamDecoder } from '../wire.js';
import {
  functionCallItem,
  messageItem,
  newId,
  reasoningItem,
  responseShell,
  responsesUsage,
  statusOf,
} from './response.js';

/** The events that end a response stream. */
const TERMINAL = new Set(['response.completed', 'response.incomplete', 'response.failed']);
/** Events that carry nothing for the client yet: held until one that does, so a stream breaking after them retries. */
const PREAMBLE = new Set([
  'response.created',
  'response.in_progress',
  'response.queued',
  'response.output_item.added',
  'response.content_part.added',
]);

/**
 * The Responses API's errors: OpenAI's JSON before a stream starts; once it has, an `error` event (its documented
 * fields, plus the `error` object the SDKs raise on).
 */
export const RESPONSES_FORMAT: ApiFormat = {
  headers: OPENAI_FORMAT.headers,
  errorBody: OPENAI_FORMAT.errorBody,
  streamError: (err) => {
    const e = err.toJSON().error as JsonObject;
    const ev = {
      type: 'error',
      code: e.code,
      message: e.message,
      param: e.param ?? null,
      sequence_number: 0,
      error: e,
    };
    return `event: error\ndata: ${JSON.stringify(ev)}\n\n`;
  },
};

/**
 * A native Responses stream from upstream: each event parsed once and handed on. The events before the first
 * with content are held; after a terminal event its usage comes as one more object (`{usage}`, no `type`) for
 * the attempt's accounting, which the framing does not send.
 */
export class ResponsesSseDecoder implements StreamDecoder {
  private readonly sse = new SseParser();
  private held: OpenAIChunk[] = [];
  private opened = false;
  private done = false;
  /** an error event that came after events of the same read: those go out first, the error on the next call */
  private failed?: GatewayError;

  constructor(private readonly label: string) {}

  push(bytes: Uint8Array): OpenAIChunk[] {
    if (this.failed) throw this.failed;
    return this.decode(this.sse.push(bytes));
  }

  end(): OpenAIChunk[] {
    if (this.failed) throw this.failed;
    const out = this.decode(this.sse.end());
    if (!this.done) throw badUpstreamAnswer(this.label, 'a stream that ended before it was complete');
    return out;
  }

  private decode(events: { event?: string; data: string }[]): OpenAIChunk[] {
    const out: OpenAIChunk[] = [];
    for (const ev of events) {
      if (this.done) break;
      if (ev.data === '[DONE]') continue;
      const o = eventObject(this.label, ev.data);
      if (o.type === 'error' || ev.event === 'error') {
        const err = streamError(this.label, o);
        if (out.length === 0) throw err;
        this.failed = err;
        break;
      }
      const type = String(o.type);
      if (!this.opened && PREAMBLE.has(type)) {
        this.held.push(o);
        continue;
      }
      this.opened = true;
      if (this.held.length > 0) {
        out.push(...this.held);
        this.held = [];
      }
      out.push(o);
      if (TERMINAL.has(type)) {
        this.done = true;
        const usage = (o.response as JsonObject | undefined)?.usage;
        if (usage && typeof usage === 'object') out.push({ usage });
      }
    }
    return out;
  }
}

function streamError(label: string, o: JsonObject): GatewayError {
  const e = (o.error && typeof o.error === 'object' ? o.error : o) as JsonObject;
  const message = typeof e.message === 'string' ? e.message : JSON.stringify(o).slice(0, 300);
  return new GatewayError(502, {
    message: `${label} error in stream: ${message}`,
    code: e.code != null ? String(e.code) : 'stream_error',
    errorClass: 'upstream',
    provider: label,
  });
}

/** `event: <type>` + `data:` with the next sequence number. */
class Sequencer {
  private seq = 0;

  event(type: string, fields: JsonObject): string {
    const ev = { type, ...fields, sequence_number: this.seq++ };
    return `event: ${type}\ndata: ${JSON.stringify(ev)}\n\n`;
  }
}

/**
 * A native stream to the client: events as the upstream sent them (sequence numbers included). The response
 * objects name the `previous_response_id` the client gave (the upstream saw the whole conversation instead).
 */
export class NativeResponsesFraming implements StreamFraming {
  private final?: JsonObject;

  constructor(
    private readonly previous: string | undefined,
    private readonly done: (response: JsonObject) => void,
  ) {}

  start(): string {
    return '';
  }

  push(batch: OpenAIChunk[]): string {
    let out = '';
    for (const ev of batch) {
      const type = ev.type;
      if (typeof type !== 'string') continue; // the attempt's usage record
      const r = ev.response as JsonObject | undefined;
      if (r && typeof r === 'object') {
        if (this.previous !== undefined) r.previous_response_id = this.previous;
        if (TERMINAL.has(type)) this.final = r;
      }
      out += `event: ${type}\ndata: ${JSON.stringify(ev)}\n\n`;
    }
    return out;
  }

  finish(): string {
    if (this.final) this.done(this.final);
    return '';
  }
}

/** One output item being streamed. */
interface OpenItem {
  index: number;
  id: string;
  kind: 'message' | 'reasoning' | 'call';
  text: string;
  callId?: string;
  name?: string;
}

/**
 * A chat stream as Responses events: response.created and response.in_progress first, then per output item
 * (reasoning, message, function calls) its added / delta / done events, and response.completed (or
 * response.incomplete) with the whole response and its usage (estimated when the upstream reported none).
 */
export class ChatToResponsesFraming implements StreamFraming {
  private readonly seq = new Sequencer();
  private readonly items: JsonObject[] = [];
  private readonly open: OpenItem[] = [];
  private readonly calls = new Map<number, OpenItem>();
  private finishReason: unknown;
  private usage?: JsonObject;
  private completion = 0;
  private readonly shell: JsonObject;

  constructor(
    body: JsonObject,
    id: string,
    model: string,
    private readonly promptTokens: number,
    private readonly done: (response: JsonObject) => void,
  ) {
    this.shell = responseShell(body, id, model, Math.floor(Date.now() / 1000));
  }

  start(): string {
    const r = this.shell;
    return (
      this.seq.event('response.created', { response: r }) + this.seq.event('response.in_progress', { response: r })
    );
  }

  push(batch: OpenAIChunk[]): string {
    let out = '';
    for (const c of batch) {
      if (c.usage && typeof c.usage === 'object') this.usage = c.usage as JsonObject;
      const choice = (Array.isArray(c.choices) ? c.choices[0] : undefined) as JsonObject | undefined;
      if (!choice) continue;
      const d = choice.delta as JsonObject | undefined;
      if (d) {
        const r = d.reasoning_content;
        if (typeof r === 'string' && r !== '') out += this.text('reasoning', r);
        const t = d.content;
        if (typeof t === 'string' && t !== '') out += this.text('message', t);
        if (Array.isArray(d.tool_calls)) for (const tc of d.tool_calls as JsonObject[]) out += this.call(tc);
      }
      if (choice.finish_reason != null) this.finishReason = choice.finish_reason;
    }
    return out;
  }

  finish(): string {
    let out = this.closeAll();
    const r = this.shell;
    const { status, incomplete } = statusOf(this.finishReason);
    r.status = status;
    r.incomplete_details = incomplete;
    r.output = this.items;
    r.usage = responsesUsage(
      this.usage ?? {
        prompt_tokens: this.promptTokens,
        completion_tokens: this.completion,
        total_tokens: this.promptTokens + this.completion,
      },
    );
    out += this.seq.event(status === 'completed' ? 'response.completed' : 'response.incomplete', { response: r });
    this.done(r);
    return out;
  }

  /** Text for the open message or reasoning item (opening it, and closing any other, first). */
  private text(kind: 'message' | 'reasoning', delta: string): string {
    this.completion += estimateTokens(contentText(delta));
    let out = '';
    let item = this.open.length === 1 && this.open[0].kind === kind ? this.open[0] : undefined;
    if (!item) {
      out += this.closeAll();
      item = this.add(kind, newId(kind === 'message' ? 'msg' : 'rs'));
      const part =
        kind === 'message'
          ? { type: 'output_text', text: '', annotations: [], logprobs: [] }
          : { type: 'reasoning_text', text: '' };
      out += this.seq.event('response.output_item.added', {
        output_index: item.index,
        item:
          kind === 'message'
            ? { id: item.id, type: 'message', status: 'in_progress', role: 'assistant', content: [] }
            : { id: item.id, type: 'reasoning', summary: [], content: [], status: 'in_progress' },
      });
      out += this.seq.event('response.content_part.added', {
        item_id: item.id,
        output_index: item.index,
        content_index: 0,
        part,
      });
    }
    item.text += delta;
    const at = { item_id: item.id, output_index: item.index, content_index: 0, delta };
    return (
      out +
      (kind === 'message'
        ? this.seq.event('response.output_text.delta', { ...at, logprobs: [] })
        : this.seq.event('response.reasoning_text.delta', at))
    );
  }

  /** A tool call delta: a new index opens a function_call item; arguments stream as its deltas. */
  private call(tc: JsonObject): string {
    const index = typeof tc.index === 'number' ? tc.index : 0;
    const fn = (tc.function ?? {}) as JsonObject;
    let out = '';
    let item = this.calls.get(index);
    if (!item) {
      if (this.open.some((o) => o.kind !== 'call')) out += this.closeAll();
      item = this.add('call', newId('fc'));
      item.callId = typeof tc.id === 'string' ? tc.id : newId('call');
      item.name = typeof fn.name === 'string' ? fn.name : '';
      this.calls.set(index, item);
      out += this.seq.event('response.output_item.added', {
        output_index: item.index,
        item: functionCallItem(item.id, item.callId, item.name, '', 'in_progress'),
      });
    }
    const args = fn.arguments;
    if (typeof args === 'string' && args !== '') {
      this.completion += estimateTokens(args);
      item.text += args;
      out += this.seq.event('response.function_call_arguments.delta', {
        item_id: item.id,
        output_index: item.index,
        delta: args,
      });
    }
    return out;
  }

  private add(kind: OpenItem['kind'], id: string): OpenItem {
    const item: OpenItem = { index: this.items.length, id, kind, text: '' };
    this.items.push({}); // its place in the output; filled when it closes
    this.open.push(item);
    return item;
  }

  /** The done events of every open item, in output order. */
  private closeAll(): string {
    let out = '';
    for (const item of this.open) {
      const at = { item_id: item.id, output_index: item.index };
      let done: JsonObject;
      if (item.kind === 'call') {
        out += this.seq.event('response.function_call_arguments.done', {
          ...at,
          name: item.name,
          arguments: item.text,
        });
        done = functionCallItem(item.id, item.callId!, item.name!, item.text);
      } else if (item.kind === 'message') {
        const part = { type: 'output_text', text: item.text, annotations: [], logprobs: [] };
        out += this.seq.event('response.output_text.done', { ...at, content_index: 0, text: item.text, logprobs: [] });
        out += this.seq.event('response.content_part.done', { ...at, content_index: 0, part });
        done = messageItem(item.id, item.text);
      } else {
        out += this.seq.event('response.reasoning_text.done', { ...at, content_index: 0, text: item.text });
        out += this.seq.event('response.content_part.done', {
          ...at,
          content_index: 0,
          part: { type: 'reasoning_text', text: item.text },
        });
        done = reasoningItem(item.id, item.text);
      }
      this.items[item.index] = done;
      out += this.seq.event('response.output_item.done', { output_index: item.index, item: done });
    }
    this.open.length = 0;
    this.calls.clear();
    return out;
  }
}
