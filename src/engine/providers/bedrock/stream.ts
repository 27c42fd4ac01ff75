/**
 * ConverseStream events -> OpenAI chat chunks: messageStart gives the role chunk, contentBlockStart
 * opens a tool call (id and name), contentBlockDelta carries text, reasoning or pieces of a tool's
 * JSON input, messageStop the finish reason, metadata the usage. Exception events become errors.
 */
import type { GatewayError } from '../../errors.js';
import { ChatChunkSource } from '../../stream/chunks.js';
import { badUpstreamAnswer } from '../errors.js';
import type { JsonObject, OpenAIChunk, StreamDecoder } from '../types.js';
import { JSON_TOOL } from './convert.js';
import { bedrockError } from './errors.js';
import { EventStreamDecoder, type StreamEvent } from './event-stream.js';
import { finishReasonOf, usageOf } from './response.js';

/** One ConverseStream response, decoded incrementally. */
export class ConverseStreamDecoder extends ChatChunkSource implements StreamDecoder {
  private readonly frames = new EventStreamDecoder();
  private started = false;
  private stopped = false;
  /** contentBlockIndex -> OpenAI tool call index (or -1 for the JSON-mode tool, whose input is content) */
  private readonly tools = new Map<number, number>();
  private nextTool = 0;
  /** an exception met after chunks in the same read: those chunks go out first, the error next */
  private pendingError: Error | undefined;

  constructor(
    private readonly label: string,
    model: string,
    private readonly jsonMode: boolean,
  ) {
    super(model);
  }

  push(bytes: Uint8Array): OpenAIChunk[] {
    if (this.pendingError) throw this.pendingError;
    let events: StreamEvent[];
    try {
      events = this.frames.push(bytes);
    } catch (e) {
      throw badUpstreamAnswer(
        this.label,
        `a corrupt event-stream frame (${e instanceof Error ? e.message : String(e)})`,
      );
    }
    const out: OpenAIChunk[] = [];
    for (const ev of events) {
      try {
        this.event(ev, out);
      } catch (e) {
        if (out.length === 0) throw e;
        this.pendingError = e as Error;
        break;
      }
    }
    return out;
  }

  end(): OpenAIChunk[] {
    if (this.pendingError) throw this.pendingError;
    if (!this.stopped || this.frames.pending > 0)
      throw badUpstreamAnswer(this.label, 'a stream that ended before it was complete');
    return [];
  }

  private start(out: OpenAIChunk[]): void {
    if (this.started) return;
    this.started = true;
    out.push(this.chunk({ role: 'assistant', content: '' }));
  }

  private event(ev: StreamEvent, out: OpenAIChunk[]): void {
    if (ev.messageType === 'exception' || ev.messageType === 'error') throw this.error(ev);
    let p: JsonObject;
    try {
      p = (ev.payload ? JSON.parse(ev.payload) : {}) as JsonObject;
    } catch {
      throw badUpstreamAnswer(this.label, `a ${ev.eventType ?? 'stream'} event that is not JSON`);
    }
    switch (ev.eventType) {
      case 'messageStart':
        this.start(out);
        break;
      case 'contentBlockStart': {
        this.start(out);
        const tu = (p.start as JsonObject | undefined)?.toolUse as JsonObject | undefined;
        if (!tu) break;
        const block = Number(p.contentBlockIndex ?? 0);
        if (this.jsonMode && tu.name === JSON_TOOL) {
          this.tools.set(block, -1);
          break;
        }
        const index = this.nextTool++;
        this.tools.set(block, index);
        out.push(
          this.chunk({
            tool_calls: [{ index, id: tu.toolUseId, type: 'function', function: { name: tu.name, arguments: '' } }],
          }),
        );
        break;
      }
      case 'contentBlockDelta': {
        this.start(out);
        const d = (p.delta ?? {}) as JsonObject;
        if (typeof d.text === 'string') out.push(this.chunk({ content: d.text }));
        const rc = d.reasoningContent as JsonObject | undefined;
        if (typeof rc?.text === 'string') out.push(this.chunk({ reasoning_content: rc.text }));
        const input = (d.toolUse as JsonObject | undefined)?.input;
        if (typeof input === 'string') {
          const index = this.tools.get(Number(p.contentBlockIndex ?? 0));
          if (index === -1) out.push(this.chunk({ content: input }));
          else if (index !== undefined)
            out.push(this.chunk({ tool_calls: [{ index, function: { arguments: input } }] }));
        }
        break;
      }
      case 'messageStop': {
        this.start(out);
        this.stopped = true;
        let finish = finishReasonOf(p.stopReason);
        if (finish === 'tool_calls' && this.nextTool === 0) finish = 'stop'; // only the JSON-mode tool was used
        out.push(this.chunk({}, finish));
        break;
      }
      case 'metadata':
        if (p.usage) out.push(this.usageChunk(usageOf(p.usage)));
        break;
      default:
        break; // contentBlockStop and events added later carry nothing to forward
    }
  }

  private error(ev: StreamEvent): GatewayError {
    let message = ev.errorMessage;
    try {
      const o = JSON.parse(ev.payload) as JsonObject;
      if (typeof o.message === 'string') message = o.message;
      else if (typeof o.Message === 'string') message = o.Message;
    } catch {
      /* keep the header message */
    }
    const type = ev.exceptionType ?? ev.errorCode;
    return bedrockError(this.label, type, message, 500);
  }
}
