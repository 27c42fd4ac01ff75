import { GatewayError } from '../../errors.js';
import { SseJsonDecoder } from '../../stream/sse-json-decoder.js';
import type { JsonObject, OpenAIChunk } from '../types.js';
import { cohereFinish, cohereUsage } from './convert.js';

/**
 * Cohere chat v2 SSE (`message-start`, `content-delta`, `tool-plan-delta`, `tool-call-start|delta|end`,
 * `message-end`) -> OpenAI chunks. `message-end` carries finish_reason and usage: it yields the finish
 * chunk and the usage chunk. The event type is read from the JSON `type` (the `event:` line as fallback).
 */
export class CohereStreamDecoder extends SseJsonDecoder {
  private tools = 0;
  private sawTools = false;
  private started = false;

  constructor(label: string, model: string) {
    super(label, model, '"message-end"');
  }

  protected handle(o: JsonObject, type: string | undefined, out: OpenAIChunk[]): void {
    const msg = (((o.delta ?? {}) as JsonObject).message ?? {}) as JsonObject;
    if (!this.started && type !== 'message-start') {
      this.started = true;
      out.push(this.chunk({ role: 'assistant', content: '' }));
    }
    switch (type) {
      case 'message-start':
        if (typeof o.id === 'string') this.id = o.id;
        this.started = true;
        out.push(this.chunk({ role: 'assistant', content: '' }));
        break;
      case 'content-delta': {
        const t = (msg.content as JsonObject | undefined)?.text;
        if (typeof t === 'string' && t !== '') out.push(this.chunk({ content: t }));
        break;
      }
      case 'tool-plan-delta':
        if (typeof msg.tool_plan === 'string' && msg.tool_plan)
          out.push(this.chunk({ reasoning_content: msg.tool_plan }));
        break;
      case 'tool-call-start': {
        const tc = (msg.tool_calls ?? {}) as JsonObject;
        const fn = (tc.function ?? {}) as JsonObject;
        this.sawTools = true;
        const args = typeof fn.arguments === 'string' ? fn.arguments : '';
        out.push(
          this.chunk({
            tool_calls: [
              { index: this.tools++, id: tc.id, type: 'function', function: { name: fn.name, arguments: args } },
            ],
          }),
        );
        break;
      }
      case 'tool-call-delta': {
        const a = (((msg.tool_calls ?? {}) as JsonObject).function as JsonObject | undefined)?.arguments;
        if (typeof a === 'string' && a !== '')
          out.push(this.chunk({ tool_calls: [{ index: Math.max(0, this.tools - 1), function: { arguments: a } }] }));
        break;
      }
      case 'message-end': {
        this.done = true;
        const d = (o.delta ?? {}) as JsonObject;
        if (d.error)
          throw new GatewayError(502, {
            message: `${this.label} error in stream: ${String(d.error)}`,
            code: 'stream_error',
            errorClass: 'upstream',
            provider: this.label,
          });
        out.push(this.chunk({}, this.sawTools ? 'tool_calls' : cohereFinish(d.finish_reason)));
        const usage = cohereUsage(d.usage);
        if (usage) out.push(this.usageChunk(usage));
        break;
      }
      default:
        break; // content-start/end, tool-call-end, citation-*, debug
    }
  }
}
