/**
 * `streamGenerateContent?alt=sse` -> OpenAI chunks. Each SSE event is a whole GenerateContentResponse
 * with the next text; function calls arrive whole (one delta each); the last event has the
 * finishReason and the final usageMetadata. An `error` object in the stream becomes a GatewayError.
 */
import { ChatChunkSource, eventObject } from '../../stream/chunks.js';
import { SseParser } from '../../stream/sse.js';
import { badUpstreamAnswer } from '../errors.js';
import type { JsonObject, OpenAIChunk, StreamDecoder } from '../types.js';
import { mapGoogleError } from './errors.js';
import { finishReasonOf, readParts, usageOf } from './response.js';

/** One Gemini SSE stream, decoded incrementally. */
export class GeminiStreamDecoder extends ChatChunkSource implements StreamDecoder {
  private readonly sse = new SseParser();
  private started = false;
  private finished = false;
  private tools = 0;
  private usage: JsonObject | undefined;
  /** an error met after chunks in the same read: those chunks go out first, the error next */
  private pendingError: Error | undefined;

  constructor(
    private readonly label: string,
    model: string,
  ) {
    super(model);
  }

  push(bytes: Uint8Array): OpenAIChunk[] {
    if (this.pendingError) throw this.pendingError;
    return this.decode(this.sse.push(bytes).map((e) => e.data));
  }

  end(): OpenAIChunk[] {
    if (this.pendingError) throw this.pendingError;
    const out = this.decode(this.sse.end().map((e) => e.data));
    if (!this.finished) throw badUpstreamAnswer(this.label, 'a stream that ended before it was complete');
    if (this.usage) out.push(this.usageChunk(usageOf(this.usage)));
    return out;
  }

  private decode(datas: string[]): OpenAIChunk[] {
    const out: OpenAIChunk[] = [];
    for (const data of datas) {
      const o = eventObject(this.label, data);
      if (o.error) {
        const e = mapGoogleError(this.label, {
          status: Number((o.error as JsonObject).code) || 500,
          headers: {},
          body: data,
        });
        if (out.length === 0) throw e;
        this.pendingError = e;
        return out;
      }
      if (!this.started) {
        this.started = true;
        out.push(this.chunk({ role: 'assistant', content: '' }));
      }
      if (o.usageMetadata) this.usage = o.usageMetadata as JsonObject;
      const c = Array.isArray(o.candidates) ? (o.candidates[0] as JsonObject | undefined) : undefined;
      if (!c) {
        if ((o.promptFeedback as JsonObject | undefined)?.blockReason) {
          this.finished = true;
          out.push(this.chunk({}, 'content_filter'));
        }
        continue;
      }
      const { text, reasoning, calls } = readParts((c.content as JsonObject | undefined)?.parts);
      if (reasoning) out.push(this.chunk({ reasoning_content: reasoning }));
      if (text) out.push(this.chunk({ content: text }));
      for (const call of calls) out.push(this.chunk({ tool_calls: [{ index: this.tools++, ...call }] }));
      if (c.finishReason && !this.finished) {
        this.finished = true;
        out.push(this.chunk({}, finishReasonOf(c.finishReason, this.tools > 0)));
      }
    }
    return out;
  }
}
