import { GatewayError } from '../../errors.js';
import { SseParser } from '../../stream/sse.js';
import { badUpstreamAnswer } from '../errors.js';
import type { OpenAIChunk, StreamDecoder } from '../types.js';

/**
 * OpenAI SSE stream decoder: `data: {chunk}` events until `data: [DONE]`. Chunks pass through as
 * parsed; an `error` event becomes a GatewayError; a stream that stops before [DONE] or a
 * finish_reason is reported as cut short.
 */
export class OpenAISseDecoder implements StreamDecoder {
  private readonly sse = new SseParser();
  private done = false;
  private finished = false;

  constructor(private readonly label: string) {}

  push(bytes: Uint8Array): OpenAIChunk[] {
    return this.decode(this.sse.push(bytes));
  }

  end(): OpenAIChunk[] {
    const out = this.decode(this.sse.end());
    if (!this.done && !this.finished) throw badUpstreamAnswer(this.label, 'a stream that ended before it was complete');
    return out;
  }

  private decode(events: { event?: string; data: string }[]): OpenAIChunk[] {
    const out: OpenAIChunk[] = [];
    for (const ev of events) {
      if (this.done) break;
      const data = ev.data;
      if (data === '[DONE]') {
        this.done = true;
        break;
      }
      let chunk: OpenAIChunk;
      try {
        chunk = JSON.parse(data) as OpenAIChunk;
      } catch {
        throw badUpstreamAnswer(this.label, `a stream event that is not JSON: ${JSON.stringify(data.slice(0, 80))}`);
      }
      if (chunk === null || typeof chunk !== 'object')
        throw badUpstreamAnswer(this.label, 'a stream event that is not an object');
      if (chunk.error !== undefined || ev.event === 'error') throw streamError(this.label, chunk);
      if (!this.finished && Array.isArray(chunk.choices)) {
        for (const c of chunk.choices as { finish_reason?: unknown }[]) if (c?.finish_reason) this.finished = true;
      }
      out.push(chunk);
    }
    return out;
  }
}

function streamError(label: string, chunk: OpenAIChunk): GatewayError {
  const e = chunk.error as Record<string, unknown> | string | undefined;
  const message =
    typeof e === 'string' ? e : typeof e?.message === 'string' ? e.message : JSON.stringify(chunk).slice(0, 300);
  const code = typeof e === 'object' && e?.code != null ? String(e.code) : 'stream_error';
  return new GatewayError(502, {
    message: `${label} error in stream: ${message}`,
    code,
    errorClass: 'upstream',
    provider: label,
  });
}
