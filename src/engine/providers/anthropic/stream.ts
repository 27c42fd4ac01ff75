import { SseJsonDecoder } from '../../stream/sse-json-decoder.js';
import type { JsonObject, OpenAIChunk } from '../types.js';
import { JSON_TOOL } from './convert.js';
import { finishReasonOf, mergeDeltaUsage, streamErrorOf, usageOf } from './response.js';

interface OpenBlock {
  kind: 'text' | 'tool' | 'json' | 'thinking' | 'other';
  /** OpenAI tool_calls index for tool blocks */
  toolIndex: number;
}

/**
 * Anthropic Messages SSE (`message_start`, `content_block_start|delta|stop`, `message_delta`,
 * `message_stop`, `ping`, `error`) -> OpenAI chat chunks, event by event: text deltas become
 * `content`, `input_json_delta` becomes tool-call argument pieces, thinking becomes
 * `reasoning_content`; the finish chunk comes with `message_delta`, the usage chunk with `message_stop`.
 */
export class AnthropicStreamDecoder extends SseJsonDecoder {
  private readonly blocks = new Map<number, OpenBlock>();
  private tools = 0;
  private usage: JsonObject = {};
  private stopReason: unknown;
  private stopSequence: string | undefined;
  private jsonMode = false;

  constructor(label: string, model: string) {
    super(label, model, 'it was complete');
  }

  protected handle(o: JsonObject, type: string | undefined, out: OpenAIChunk[]): void {
    switch (type) {
      case 'message_start': {
        const m = (o.message ?? {}) as JsonObject;
        if (typeof m.id === 'string') this.id = m.id;
        if (typeof m.model === 'string') this.model = m.model;
        this.usage = { ...((m.usage as JsonObject | undefined) ?? {}) };
        out.push(this.chunk({ role: 'assistant', content: '' }));
        break;
      }
      case 'content_block_start':
        this.startBlock(o, out);
        break;
      case 'content_block_delta':
        this.delta(o, out);
        break;
      case 'message_delta': {
        const d = (o.delta ?? {}) as JsonObject;
        if (d.stop_reason != null) this.stopReason = d.stop_reason;
        if (typeof d.stop_sequence === 'string') this.stopSequence = d.stop_sequence;
        mergeDeltaUsage(this.usage, o.usage);
        break;
      }
      case 'message_stop': {
        this.done = true;
        const last = this.chunk({}, this.jsonMode ? 'stop' : finishReasonOf(this.stopReason));
        if (this.stopSequence !== undefined) (last.choices as JsonObject[])[0].stop_reason = this.stopSequence;
        out.push(last);
        out.push(this.usageChunk(usageOf(this.usage)));
        break;
      }
      case 'error':
        throw streamErrorOf(this.label, o);
      default:
        break; // ping, content_block_stop, and event types added later
    }
  }

  private startBlock(o: JsonObject, out: OpenAIChunk[]): void {
    const b = (o.content_block ?? {}) as JsonObject;
    const index = typeof o.index === 'number' ? o.index : this.blocks.size;
    if (b.type === 'text') {
      this.blocks.set(index, { kind: 'text', toolIndex: -1 });
      if (typeof b.text === 'string' && b.text !== '') out.push(this.chunk({ content: b.text }));
    } else if (b.type === 'tool_use' && b.name === JSON_TOOL) {
      this.jsonMode = true;
      this.blocks.set(index, { kind: 'json', toolIndex: -1 });
    } else if (b.type === 'tool_use') {
      const toolIndex = this.tools++;
      this.blocks.set(index, { kind: 'tool', toolIndex });
      out.push(
        this.chunk({
          tool_calls: [{ index: toolIndex, id: b.id, type: 'function', function: { name: b.name, arguments: '' } }],
        }),
      );
    } else if (b.type === 'thinking') {
      this.blocks.set(index, { kind: 'thinking', toolIndex: -1 });
    } else this.blocks.set(index, { kind: 'other', toolIndex: -1 });
  }

  private delta(o: JsonObject, out: OpenAIChunk[]): void {
    const d = (o.delta ?? {}) as JsonObject;
    const block = this.blocks.get(typeof o.index === 'number' ? o.index : -1);
    if (d.type === 'text_delta' && typeof d.text === 'string') out.push(this.chunk({ content: d.text }));
    else if (d.type === 'thinking_delta' && typeof d.thinking === 'string')
      out.push(this.chunk({ reasoning_content: d.thinking }));
    else if (d.type === 'input_json_delta' && typeof d.partial_json === 'string' && d.partial_json !== '') {
      if (block?.kind === 'json') out.push(this.chunk({ content: d.partial_json }));
      else if (block?.kind === 'tool')
        out.push(this.chunk({ tool_calls: [{ index: block.toolIndex, function: { arguments: d.partial_json } }] }));
    }
  }
}
