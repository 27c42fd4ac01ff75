/** Gemini `GenerateContentResponse` -> OpenAI chat completion (text, tool calls, thoughts, finish reason, usage). */
import { randomUUID } from 'node:crypto';
import { badUpstreamAnswer } from '../errors.js';
import type { JsonObject, OpenAIResponse, Usage } from '../types.js';

/** Gemini `finishReason` -> OpenAI `finish_reason`. */
export function finishReasonOf(reason: unknown, hasToolCalls: boolean): string {
  if (hasToolCalls) return 'tool_calls';
  switch (reason) {
    case 'MAX_TOKENS':
      return 'length';
    case 'SAFETY':
    case 'RECITATION':
    case 'BLOCKLIST':
    case 'PROHIBITED_CONTENT':
    case 'SPII':
    case 'IMAGE_SAFETY':
      return 'content_filter';
    default:
      return 'stop'; // STOP, OTHER, LANGUAGE, MALFORMED_FUNCTION_CALL, FINISH_REASON_UNSPECIFIED
  }
}

/**
 * `usageMetadata` -> OpenAI usage: thinking tokens count as completion tokens and the tool-use prompt (what a
 * built-in tool such as Google Search fed the model, `toolUsePromptTokenCount`) as prompt tokens, as Google
 * bills them (`totalTokenCount` holds all four).
 */
export function usageOf(u: unknown): Usage {
  const o = (u && typeof u === 'object' ? u : {}) as JsonObject;
  const toolUse = typeof o.toolUsePromptTokenCount === 'number' ? o.toolUsePromptTokenCount : 0;
  const p = (typeof o.promptTokenCount === 'number' ? o.promptTokenCount : 0) + toolUse;
  const thoughts = typeof o.thoughtsTokenCount === 'number' ? o.thoughtsTokenCount : 0;
  const c = (typeof o.candidatesTokenCount === 'number' ? o.candidatesTokenCount : 0) + thoughts;
  const usage: Usage = {
    prompt_tokens: p,
    completion_tokens: c,
    total_tokens: typeof o.totalTokenCount === 'number' ? o.totalTokenCount : p + c,
  };
  if (thoughts) usage.completion_tokens_details = { reasoning_tokens: thoughts };
  if (typeof o.cachedContentTokenCount === 'number')
    usage.prompt_tokens_details = { cached_tokens: o.cachedContentTokenCount };
  return usage;
}

/** Text, thoughts and function calls of one candidate's parts. */
export function readParts(parts: unknown): { text: string; reasoning: string; calls: JsonObject[] } {
  let text = '';
  let reasoning = '';
  const calls: JsonObject[] = [];
  for (const p of (Array.isArray(parts) ? parts : []) as JsonObject[]) {
    if (typeof p?.text === 'string') {
      if (p.thought === true) reasoning += p.text;
      else text += p.text;
    }
    const fc = p?.functionCall as JsonObject | undefined;
    if (fc && typeof fc.name === 'string') {
      calls.push({
        id: typeof fc.id === 'string' ? fc.id : `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`,
        type: 'function',
        function: { name: fc.name, arguments: JSON.stringify(fc.args ?? {}) },
      });
    }
  }
  return { text, reasoning, calls };
}

/** The whole answer in OpenAI shape. A prompt blocked before any candidate is a content_filter answer. */
export function parseGemini(label: string, model: string, json: unknown): OpenAIResponse {
  if (!json || typeof json !== 'object') throw badUpstreamAnswer(label, 'an answer that is not a JSON object');
  const o = json as JsonObject;
  const candidates = Array.isArray(o.candidates) ? (o.candidates as JsonObject[]) : undefined;
  if (!candidates && !o.promptFeedback) throw badUpstreamAnswer(label, 'an answer without "candidates"');
  const choices = (candidates ?? [{}]).map((c, i) => {
    const { text, reasoning, calls } = readParts((c.content as JsonObject | undefined)?.parts);
    const message: JsonObject = { role: 'assistant', content: text !== '' || calls.length === 0 ? text : null };
    if (calls.length) message.tool_calls = calls;
    if (reasoning) message.reasoning_content = reasoning;
    const blocked = !candidates && (o.promptFeedback as JsonObject | undefined)?.blockReason;
    return {
      index: typeof c.index === 'number' ? c.index : i,
      message,
      finish_reason: blocked ? 'content_filter' : finishReasonOf(c.finishReason, calls.length > 0),
      logprobs: null,
    };
  });
  return {
    id: typeof o.responseId === 'string' ? o.responseId : `chatcmpl-${randomUUID()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: typeof o.modelVersion === 'string' ? o.modelVersion : model,
    choices,
    usage: usageOf(o.usageMetadata),
  };
}
