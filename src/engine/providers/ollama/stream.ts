import { randomUUID } from 'node:crypto';
import { GatewayError } from '../../errors.js';
import { NdjsonParser } from '../../stream/ndjson.js';
import { badUpstreamAnswer } from '../errors.js';
import type { EndpointKind, JsonObject, OpenAIChunk, StreamDecoder } from '../types.js';
import { createdOf, finishReason, ollamaUsage, openAIToolCalls } from './convert.js';

/**
 * Ollama NDJSON stream (`/api/chat` or `/api/generate`) -> OpenAI chunks: a role chunk first, one
 * chunk per line with text or tool calls, a finish chunk, then a usage chunk from
 * prompt_eval_count/eval_count.
 */
export class OllamaStreamDecoder implements StreamDecoder {
  private readonly ndjson = new NdjsonParser();
  private readonly id: string;
  private readonly object: string;
  private started = false;
  private done = false;
  private sawToolCalls = false;
  private toolIndex = 0;
  private created = 0;

  constructor(
    private readonly kind: EndpointKind,
    private readonly model: string,
    private readonly label: string,
  ) {
    this.id = kind === 'chat' ? `chatcmpl-${randomUUID()}` : `cmpl-${randomUUID()}`;
    this.object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  }

  push(bytes: Uint8Array): OpenAIChunk[] {
    let lines: unknown[];
    try {
      lines = this.ndjson.push(bytes);
    } catch {
      throw badUpstreamAnswer(this.label, 'a stream line that is not JSON');
    }
    return this.decode(lines);
  }

  end(): OpenAIChunk[] {
    let lines: unknown[];
    try {
      lines = this.ndjson.end();
    } catch {
      throw badUpstreamAnswer(this.label, 'a stream line that is not JSON');
    }
    const out = this.decode(lines);
    if (!this.done) throw badUpstreamAnswer(this.label, 'a stream that ended before "done": true');
    return out;
  }

  private chunk(choice: JsonObject): OpenAIChunk {
    return { id: this.id, object: this.object, created: this.created, model: this.model, choices: [choice] };
  }

  private decode(lines: unknown[]): OpenAIChunk[] {
    const out: OpenAIChunk[] = [];
    for (const l of lines) {
      if (this.done) break;
      if (!l || typeof l !== 'object') throw badUpstreamAnswer(this.label, 'a stream line that is not an object');
      const o = l as JsonObject;
      if (o.error !== undefined) {
        throw new GatewayError(502, {
          message: `${this.label} error in stream: ${typeof o.error === 'string' ? o.error : JSON.stringify(o.error)}`,
          code: 'stream_error',
          errorClass: 'upstream',
          provider: this.label,
        });
      }
      if (!this.started) {
        this.started = true;
        this.created = createdOf(o.created_at);
        if (this.kind === 'chat')
          out.push(this.chunk({ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }));
      }
      if (this.kind === 'chat') {
        const m = (o.message ?? {}) as JsonObject;
        const calls = openAIToolCalls(m.tool_calls, true);
        if (calls) {
          for (const c of calls) c.index = this.toolIndex++;
          this.sawToolCalls = true;
          out.push(this.chunk({ index: 0, delta: { tool_calls: calls }, finish_reason: null }));
        }
        const delta: JsonObject = {};
        if (typeof m.content === 'string' && m.content !== '') delta.content = m.content;
        if (typeof m.thinking === 'string' && m.thinking !== '') delta.reasoning_content = m.thinking;
        if (delta.content !== undefined || delta.reasoning_content !== undefined)
          out.push(this.chunk({ index: 0, delta, finish_reason: null }));
      } else if (typeof o.response === 'string' && o.response !== '') {
        out.push(this.chunk({ index: 0, text: o.response, finish_reason: null, logprobs: null }));
      }
      if (o.done === true) {
        this.done = true;
        const fr = finishReason(o.done_reason, this.sawToolCalls);
        out.push(
          this.chunk(
            this.kind === 'chat'
              ? { index: 0, delta: {}, finish_reason: fr }
              : { index: 0, text: '', finish_reason: fr, logprobs: null },
          ),
        );
        out.push({
          id: this.id,
          object: this.object,
          created: this.created,
          model: this.model,
          choices: [],
          usage: ollamaUsage(o),
        });
      }
    }
    return out;
  }
}
