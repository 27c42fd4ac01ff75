/** Anthropic Messages answer -> OpenAI chat.completion (text, tool calls, thinking, finish reason, usage). */
import { GatewayError } from '../../errors.js';
import { badUpstreamAnswer } from '../errors.js';
import type { JsonObject, OpenAIResponse, Usage } from '../types.js';
import { JSON_TOOL } from './convert.js';

/** Anthropic `stop_reason` -> OpenAI `finish_reason`. */
export function finishReasonOf(stop: unknown): string {
  switch (stop) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop'; // end_turn, stop_sequence, pause_turn
  }
}

/** Anthropic usage (input, output, cache reads/writes) -> OpenAI usage; cached input counts as prompt. */
export function usageOf(u: JsonObject | undefined): Usage {
  const n = (v: unknown) => (typeof v === 'number' ? v : 0);
  const cacheRead = n(u?.cache_read_input_tokens);
  const cacheWrite = n(u?.cache_creation_input_tokens);
  const prompt = n(u?.input_tokens) + cacheRead + cacheWrite;
  const completion = n(u?.output_tokens);
  const out: Usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  if (cacheRead || cacheWrite) {
    const details: JsonObject = { cached_tokens: cacheRead };
    // the writes by time kept (5 minutes, 1 hour), as LiteLLM passes them on: a 1-hour write has its own price
    const split = u?.cache_creation as JsonObject | undefined;
    if (split && typeof split === 'object')
      details.cache_creation_token_details = {
        ephemeral_5m_input_tokens: n(split.ephemeral_5m_input_tokens),
        ephemeral_1h_input_tokens: n(split.ephemeral_1h_input_tokens),
      };
    out.prompt_tokens_details = details;
    out.cache_creation_input_tokens = cacheWrite;
    out.cache_read_input_tokens = cacheRead;
  }
  return out;
}

/**
 * A stream's usage so far with a `message_delta`'s over it: its counts are cumulative, so each one it gives
 * replaces the earlier; the input counts it may send as null (the API's MessageDeltaUsage) keep the earlier ones.
 */
export function mergeDeltaUsage(usage: JsonObject, delta: unknown): JsonObject {
  if (!delta || typeof delta !== 'object') return usage;
  for (const [k, v] of Object.entries(delta as JsonObject)) if (v !== null && v !== undefined) usage[k] = v;
  return usage;
}

/** The chat.completion for a Messages API answer. */
export function parseAnthropicResponse(label: string, model: string, json: unknown): OpenAIResponse {
  if (!json || typeof json !== 'object') throw badUpstreamAnswer(label, 'an answer that is not a JSON object');
  const o = json as JsonObject;
  if (o.type === 'error') throw streamErrorOf(label, o);
  if (!Array.isArray(o.content)) throw badUpstreamAnswer(label, 'an answer without "content"');
  let text = '';
  let reasoning = '';
  const toolCalls: JsonObject[] = [];
  let jsonMode = false;
  for (const b of o.content as JsonObject[]) {
    if (b?.type === 'text' && typeof b.text === 'string') text += b.text;
    else if (b?.type === 'thinking' && typeof b.thinking === 'string') reasoning += b.thinking;
    else if (b?.type === 'tool_use') {
      if (b.name === JSON_TOOL) {
        jsonMode = true;
        text = JSON.stringify(b.input ?? {});
      } else
        toolCalls.push({
          id: b.id,
          type: 'function',
          function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) },
        });
    }
  }
  const message: JsonObject = { role: 'assistant', content: text === '' && toolCalls.length > 0 ? null : text };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  if (reasoning) message.reasoning_content = reasoning;
  const finish = jsonMode ? 'stop' : finishReasonOf(o.stop_reason);
  return {
    id: typeof o.id === 'string' ? o.id : `chatcmpl-${Date.now()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: typeof o.model === 'string' ? o.model : model,
    // like vLLM, name the stop sequence that ended the text, so /v1/messages can report it
    choices: [
      {
        index: 0,
        message,
        finish_reason: finish,
        logprobs: null,
        ...(typeof o.stop_sequence === 'string' ? { stop_reason: o.stop_sequence } : {}),
      },
    ],
    usage: usageOf(o.usage as JsonObject | undefined),
  };
}

/** An Anthropic `{"type":"error","error":{type,message}}` seen inside a 200 (stream event): overloaded is 503. */
export function streamErrorOf(label: string, o: JsonObject): GatewayError {
  const e = (o.error ?? {}) as JsonObject;
  const type = typeof e.type === 'string' ? e.type : 'api_error';
  const message = typeof e.message === 'string' ? e.message : JSON.stringify(o).slice(0, 300);
  const overloaded = type === 'overloaded_error';
  const rate = type === 'rate_limit_error';
  return new GatewayError(overloaded ? 503 : rate ? 429 : 502, {
    message: `${label} error in stream: ${message}`,
    code: type,
    errorClass: overloaded ? 'overloaded' : rate ? 'rate_limit' : 'upstream',
    provider: label,
  });
}
