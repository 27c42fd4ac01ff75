import { badUpstreamAnswer } from '../providers/errors.js';
import type { JsonObject, OpenAIChunk, StreamDecoder } from '../wire.js';
import { ChatChunkSource, eventObject } from './chunks.js';
import { SseParser } from './sse.js';

/**
 * The skeleton of a decoder for a provider whose stream is SSE with one JSON object per event
 * (Anthropic, Cohere): bytes -> events -> JSON -> `handle()` per event, chunks out. A stream that
 * ends before the subclass set `done` (its end marker) is reported as cut short.
 */
export abstract class SseJsonDecoder extends ChatChunkSource implements StreamDecoder {
  private readonly sse = new SseParser();
  /** set by the subclass when it sees the provider's end marker; later events are ignored */
  protected done = false;

  /**
   * @param label provider name for error messages
   * @param endMarker how the provider ends a stream, for the "cut short" message
   */
  constructor(
    protected readonly label: string,
    model: string,
    private readonly endMarker: string,
  ) {
    super(model);
  }

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

  private decode(events: { event?: string; data: string }[]): OpenAIChunk[] {
    const out: OpenAIChunk[] = [];
    for (const ev of events) {
      if (this.done) break;
      if (ev.data === '[DONE]') continue;
      const o = eventObject(this.label, ev.data);
      this.handle(o, typeof o.type === 'string' ? o.type : ev.event, out);
    }
    return out;
  }
}
