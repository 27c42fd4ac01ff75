/**
 * OpenAI chat chunks -> Anthropic Messages SSE, one chunk at a time (nothing is buffered but the
 * last few characters of text, for stop-sequence detection). The event order is Anthropic's:
 * message_start, ping, then per block content_block_start / *_delta / content_block_stop, then
 * message_delta (stop_reason, usage) and message_stop.
 */
import { randomBytes } from 'node:crypto';
import { estimateTokens } from '../tokens.js';
import type { JsonObject, OpenAIChunk } from '../wire.js';
import { anthropicUsage, messageId, stopReason } from './response.js';

/** One SSE frame with Anthropic's `event:` line. */
function frame(type: string, data: JsonObject): string {
  return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Translates one stream; create one per request. */
export class AnthropicStreamTranslator {
  private readonly id = messageId();
  /** index of the last block opened (-1: none yet) */
  private index = -1;
  private open: 'text' | 'tool' | null = null;
  /** OpenAI tool call index -> Anthropic block index */
  private readonly toolBlocks = new Map<number, number>();
  private tail = '';
  private readonly tailMax: number;
  private outputEstimate = 0;
  private usage: unknown;
  private finishReason: unknown;
  private matchedStop: unknown;

  /**
   * @param model the model name the client asked for (echoed back)
   * @param stops the client's stop_sequences
   * @param inputEstimate estimated prompt tokens for message_start (the upstream's count, when it
   *   reports one, follows in message_delta)
   */
  constructor(
    private readonly model: string,
    private readonly stops: string[],
    private readonly inputEstimate: number,
  ) {
    this.tailMax = stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  /** message_start (empty content, estimated input tokens) and a ping. */
  start(): string {
    const usage = {
      input_tokens: this.inputEstimate,
      output_tokens: 0,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    };
    const message = {
      id: this.id,
      type: 'message',
      role: 'assistant',
      model: this.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage,
    };
    return frame('message_start', { type: 'message_start', message }) + frame('ping', { type: 'ping' });
  }

  /** The SSE text for a batch of OpenAI chunks (may be empty). */
  push(chunks: OpenAIChunk[]): string {
    let out = '';
    for (const c of chunks) {
      if (c.usage !== undefined && c.usage !== null) this.usage = c.usage;
      const choices = c.choices;
      if (!Array.isArray(choices)) continue;
      for (const ch of choices as JsonObject[]) {
        if (typeof ch.index === 'number' && ch.index !== 0) continue; // Anthropic has one answer per message
        const d = ch.delta as JsonObject | undefined;
        if (d) {
          if (typeof d.content === 'string' && d.content !== '') out += this.text(d.content);
          if (Array.isArray(d.tool_calls)) for (const tc of d.tool_calls as JsonObject[]) out += this.tool(tc);
        }
        if (ch.finish_reason !== undefined && ch.finish_reason !== null) {
          this.finishReason = ch.finish_reason;
          if (ch.stop_reason !== undefined) this.matchedStop = ch.stop_reason;
        }
      }
    }
    return out;
  }

  /** Close the open block, then message_delta (stop reason, usage) and message_stop. */
  finish(): string {
    let out = this.close();
    const hadTools = this.toolBlocks.size > 0;
    const finish =
      hadTools && (this.finishReason === 'stop' || this.finishReason === undefined) ? 'tool_calls' : this.finishReason;
    const delta = stopReason(finish, this.matchedStop, this.tail, this.stops);
    let usage: JsonObject;
    const reported = this.usage as JsonObject | undefined;
    if (reported && typeof reported.completion_tokens === 'number') {
      const u = anthropicUsage(reported);
      // the upstream's prompt count replaces message_start's estimate (the SDK overwrites, never adds)
      usage = typeof reported.prompt_tokens === 'number' ? { ...u } : { output_tokens: u.output_tokens };
    } else usage = { output_tokens: this.outputEstimate };
    out += frame('message_delta', { type: 'message_delta', delta, usage });
    out += frame('message_stop', { type: 'message_stop' });
    return out;
  }

  private close(): string {
    if (this.open === null) return '';
    this.open = null;
    return frame('content_block_stop', { type: 'content_block_stop', index: this.index });
  }

  private text(t: string): string {
    let out = '';
    if (this.open !== 'text') {
      out += this.close();
      this.open = 'text';
      out += frame('content_block_start', {
        type: 'content_block_start',
        index: ++this.index,
        content_block: { type: 'text', text: '' },
      });
    }
    this.outputEstimate += estimateTokens(t);
    if (this.tailMax > 0) this.tail = (this.tail + t).slice(-this.tailMax);
    return (
      out +
      frame('content_block_delta', {
        type: 'content_block_delta',
        index: this.index,
        delta: { type: 'text_delta', text: t },
      })
    );
  }

  private tool(tc: JsonObject): string {
    let out = '';
    const fn = (tc.function ?? {}) as JsonObject;
    const key =
      typeof tc.index === 'number'
        ? tc.index
        : typeof tc.id === 'string'
          ? this.toolBlocks.size
          : this.toolBlocks.size - 1;
    let block = this.toolBlocks.get(key);
    if (block === undefined) {
      out += this.close();
      this.open = 'tool';
      block = ++this.index;
      this.toolBlocks.set(key, block);
      const id = typeof tc.id === 'string' ? tc.id : `toolu_${randomBytes(12).toString('base64url')}`;
      out += frame('content_block_start', {
        type: 'content_block_start',
        index: block,
        content_block: { type: 'tool_use', id, name: String(fn.name ?? ''), input: {} },
      });
    }
    const args =
      typeof fn.arguments === 'string'
        ? fn.arguments
        : fn.arguments && typeof fn.arguments === 'object'
          ? JSON.stringify(fn.arguments)
          : '';
    if (args === '') return out;
    this.outputEstimate += estimateTokens(args);
    return (
      out +
      frame('content_block_delta', {
        type: 'content_block_delta',
        index: block,
        delta: { type: 'input_json_delta', partial_json: args },
      })
    );
  }
}
