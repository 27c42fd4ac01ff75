import { badUpstreamAnswer } from '../providers/errors.js';
import type { JsonObject, OpenAIChunk, StreamDecoder } from '../wire.js';
import { SseParser } from './sse.js';

/**
 * The skeleton of a decoder for a provider whose stream is SSE with one JSON object per event
 * (Anthropic, Cohere): bytes -> events -> JSON -> `handle()` per event, chunks out. A stream that
 * ends before the subclass set `done` (its end marker) is reported as cut short.
 */
export abstract class SseJsonDecoder implements StreamDecoder {
  private readonly sse = new SseParser();
  protected id = `chatcmpl-${Date.now()}`;
  protected readonly created = Math.floor(Date.now() / 1000);
  /** set by the subclass when it sees the provider's end marker; later events are ignored */
  protected done = false;

  /**
   * @param label provider name for error messages
   * @param endMarker how the provider ends a stream, for the "cut short" message
   */
  constructor(
    protected readonly label: string,
    protected model: string,
    private readonly endMarker: string,
  ) {}

  /** Translate one event; `type` is the JSON `type` field, else the SSE `event:` name. */
  protected abstract handle(o: JsonObject, type: string | undefined, out: OpenAIChunk[]): void;

  push(bytes: Uint8Array): OpenAIChunk[] {
    return this.decode(this.sse.push(bytes));
  }

  end(): OpenAIChunk[] {
    const out = this.decode(this.sse.end());
    if (!this.done) throw badUpstreamAnswer(this.label, `a stream that ended before ${this.endMarker}`);
    return out;
  }

  /** A chat chunk with one choice. */
  protected chunk(delta: JsonObject, finish: string | null = null): OpenAIChunk {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    };
  }

  /** The final usage chunk (`choices: []`). */
  protected usageChunk(usage: JsonObject): OpenAIChunk {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [],
      usage,
    };
  }

  private decode(events: { event?: string; data: string }[]): OpenAIChunk[] {
    const out: OpenAIChunk[] = [];
    for (const ev of events) {
      if (this.done) break;
      if (ev.data === '[DONE]') continue;
      let o: JsonObject;
      try {
        o = JSON.parse(ev.data) as JsonObject;
      } catch {
        throw badUpstreamAnswer(this.label, `a stream event that is not JSON: ${JSON.stringify(ev.data.slice(0, 80))}`);
      }
      if (!o || typeof o !== 'object') throw badUpstreamAnswer(this.label, 'a stream event that is not an object');
      this.handle(o, typeof o.type === 'string' ? o.type : ev.event, out);
    }
    return out;
  }
}
