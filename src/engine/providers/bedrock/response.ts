/** Bedrock Converse answers -> OpenAI chat completions (text, tool calls, reasoning, usage, finish reason). */
import { randomUUID } from 'node:crypto';
import { badUpstreamAnswer } from '../errors.js';
import type { JsonObject, OpenAIResponse, Usage } from '../types.js';
import { JSON_TOOL } from './convert.js';

/** Converse `stopReason` -> OpenAI `finish_reason`. */
export function finishReasonOf(stopReason: unknown): string {
  switch (stopReason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'guardrail_intervened':
    case 'content_filtered':
      return 'content_filter';
    default:
      return 'stop'; // end_turn, stop_sequence
  }
}

/**
 * Converse `usage` -> OpenAI usage. Bedrock counts cache reads and writes apart from `inputTokens` (as Anthropic
 * does): the prompt is all three, as LiteLLM reports it, the reads in `prompt_tokens_details.cached_tokens` and
 * the writes in `cache_creation_input_tokens`, so each is billed at its own price.
 */
export function usageOf(u: unknown): Usage {
  const o = (u && typeof u === 'object' ? u : {}) as JsonObject;
  const read = typeof o.cacheReadInputTokens === 'number' ? o.cacheReadInputTokens : 0;
  const write = typeof o.cacheWriteInputTokens === 'number' ? o.cacheWriteInputTokens : 0;
  const p = (typeof o.inputTokens === 'number' ? o.inputTokens : 0) + read + write;
  const c = typeof o.outputTokens === 'number' ? o.outputTokens : 0;
  const usage: Usage = {
    prompt_tokens: p,
    completion_tokens: c,
    total_tokens: typeof o.totalTokens === 'number' ? o.totalTokens : p + c,
  };
  if (typeof o.cacheReadInputTokens === 'number') usage.prompt_tokens_details = { cached_tokens: read };
  if (write > 0) usage.cache_creation_input_tokens = write;
  return usage;
}

/** The whole Converse answer in OpenAI shape. In JSON mode the forced tool's input becomes the content. */
export function parseConverse(label: string, model: string, json: unknown, jsonMode: boolean): OpenAIResponse {
  const o = (json && typeof json === 'object' ? json : {}) as JsonObject;
  const msg = (o.output as JsonObject | undefined)?.message as JsonObject | undefined;
  if (!msg || !Array.isArray(msg.content)) throw badUpstreamAnswer(label, 'an answer without output.message.content');
  let text = '';
  let reasoning = '';
  const toolCalls: JsonObject[] = [];
  let finish = finishReasonOf(o.stopReason);
  let jsonText: string | undefined;
  for (const b of msg.content as JsonObject[]) {
    if (typeof b?.text === 'string') text += b.text;
    const rc = (b?.reasoningContent as JsonObject | undefined)?.reasoningText as JsonObject | undefined;
    if (typeof rc?.text === 'string') reasoning += rc.text;
    const tu = b?.toolUse as JsonObject | undefined;
    if (tu) {
      if (jsonMode && tu.name === JSON_TOOL) {
        jsonText = JSON.stringify(tu.input ?? {});
        finish = 'stop';
      } else {
        toolCalls.push({
          id: tu.toolUseId,
          type: 'function',
          function: { name: tu.name, arguments: JSON.stringify(tu.input ?? {}) },
        });
      }
    }
  }
  // in JSON mode the answer is the forced tool's input alone (any preamble text is not JSON)
  if (jsonText !== undefined) text = jsonText;
  const message: JsonObject = { role: 'assistant', content: text !== '' || toolCalls.length === 0 ? text : null };
  if (toolCalls.length) message.tool_calls = toolCalls;
  if (reasoning) message.reasoning_content = reasoning;
  return {
    id: `chatcmpl-${randomUUID()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message, finish_reason: finish, logprobs: null }],
    usage: usageOf(o.usage),
  };
}
