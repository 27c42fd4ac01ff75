/**
 * An OpenAI-format chat completion -> an Anthropic Messages response (`type: "message"`).
 */
import { randomBytes } from 'node:crypto';
import { contentText } from '../tokens.js';
import type { JsonObject, OpenAIResponse } from '../wire.js';

/** Anthropic's usage object. `input_tokens` excludes cache reads, as Anthropic counts them. */
export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/** A fresh `msg_...` id. */
export function messageId(): string {
  return `msg_${randomBytes(12).toString('base64url')}`;
}

/** OpenAI usage (prompt/completion, cached prompt tokens) -> Anthropic usage. */
export function anthropicUsage(u: unknown): AnthropicUsage {
  const usage = (u ?? {}) as JsonObject;
  const prompt = typeof usage.prompt_tokens === 'number' ? usage.prompt_tokens : 0;
  const details = usage.prompt_tokens_details as JsonObject | undefined;
  const cached = details && typeof details.cached_tokens === 'number' ? Math.min(details.cached_tokens, prompt) : 0;
  return {
    input_tokens: prompt - cached,
    output_tokens: typeof usage.completion_tokens === 'number' ? usage.completion_tokens : 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
}

/**
 * OpenAI finish_reason -> Anthropic stop_reason, and which stop sequence ended the text when one did.
 * A stop sequence is known from the upstream's `stop_reason` (vLLM and some adapters name the matched
 * string) or from the text ending with one; otherwise a plain stop is `end_turn`.
 */
export function stopReason(
  finish: unknown,
  matched: unknown,
  tail: string,
  stops: string[],
): { stop_reason: string; stop_sequence: string | null } {
  switch (finish) {
    case 'length':
      return { stop_reason: 'max_tokens', stop_sequence: null };
    case 'tool_calls':
    case 'function_call':
      return { stop_reason: 'tool_use', stop_sequence: null };
    case 'content_filter':
      return { stop_reason: 'refusal', stop_sequence: null };
  }
  if (stops.length > 0) {
    if (typeof matched === 'string' && stops.includes(matched))
      return { stop_reason: 'stop_sequence', stop_sequence: matched };
    const hit = stops.find((s) => s !== '' && tail.endsWith(s));
    if (hit !== undefined) return { stop_reason: 'stop_sequence', stop_sequence: hit };
  }
  return { stop_reason: 'end_turn', stop_sequence: null };
}

/** Parse tool call arguments; a model that wrote broken JSON gets its raw text kept under `_raw`. */
export function parseArguments(args: unknown): JsonObject {
  if (args && typeof args === 'object' && !Array.isArray(args)) return args as JsonObject;
  if (typeof args !== 'string' || args.trim() === '') return {};
  try {
    const v: unknown = JSON.parse(args);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject) : { _raw: args };
  } catch {
    return { _raw: args };
  }
}

/** The whole non-stream answer: text block first, then one tool_use block per tool call. */
export function toAnthropicMessage(r: OpenAIResponse, model: string, stops: string[]): JsonObject {
  const choices = Array.isArray(r.choices) ? (r.choices as JsonObject[]) : [];
  const choice = choices[0] ?? {};
  const msg = (choice.message ?? {}) as JsonObject;
  const text = msg.content == null ? '' : contentText(msg.content);
  const content: JsonObject[] = [];
  if (text !== '') content.push({ type: 'text', text });
  const calls = Array.isArray(msg.tool_calls) ? (msg.tool_calls as JsonObject[]) : [];
  for (const tc of calls) {
    const fn = (tc.function ?? {}) as JsonObject;
    content.push({
      type: 'tool_use',
      id: typeof tc.id === 'string' ? tc.id : `toolu_${randomBytes(12).toString('base64url')}`,
      name: String(fn.name ?? ''),
      input: parseArguments(fn.arguments),
    });
  }
  const finish = calls.length > 0 && choice.finish_reason === 'stop' ? 'tool_calls' : choice.finish_reason;
  return {
    id: messageId(),
    type: 'message',
    role: 'assistant',
    model,
    content,
    ...stopReason(finish, choice.stop_reason, text, stops),
    usage: anthropicUsage(r.usage),
  };
}
