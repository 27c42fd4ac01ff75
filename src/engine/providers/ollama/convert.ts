import { randomUUID } from 'node:crypto';
import { badRequest } from '../../errors.js';
import type { JsonObject } from '../types.js';

/** OpenAI sampling params -> Ollama `options` names. */
const OPTION_OF: Record<string, string> = {
  temperature: 'temperature',
  top_p: 'top_p',
  seed: 'seed',
  stop: 'stop',
  max_tokens: 'num_predict',
  max_completion_tokens: 'num_predict',
  frequency_penalty: 'frequency_penalty',
  presence_penalty: 'presence_penalty',
  // Ollama's own option names, accepted as top-level request fields like LiteLLM does
  num_ctx: 'num_ctx',
  top_k: 'top_k',
  min_p: 'min_p',
  repeat_penalty: 'repeat_penalty',
  repeat_last_n: 'repeat_last_n',
  mirostat: 'mirostat',
  mirostat_eta: 'mirostat_eta',
  mirostat_tau: 'mirostat_tau',
  num_gpu: 'num_gpu',
  num_thread: 'num_thread',
  num_keep: 'num_keep',
  tfs_z: 'tfs_z',
  typical_p: 'typical_p',
  num_predict: 'num_predict',
};

/** The `options` object for a request body (undefined when nothing maps). */
export function ollamaOptions(body: JsonObject): JsonObject | undefined {
  let options: JsonObject | undefined;
  for (const k in body) {
    const o = OPTION_OF[k];
    const v = body[k];
    if (o === undefined || v === undefined || v === null) continue;
    (options ??= {})[o] = k === 'stop' && typeof v === 'string' ? [v] : v;
  }
  return options;
}

/** OpenAI `response_format` -> Ollama `format` ("json" or a JSON schema). */
export function ollamaFormat(rf: unknown): unknown {
  if (!rf || typeof rf !== 'object') return undefined;
  const r = rf as JsonObject;
  if (r.type === 'json_object') return 'json';
  if (r.type === 'json_schema') return (r.json_schema as JsonObject | undefined)?.schema ?? 'json';
  return undefined;
}

/**
 * OpenAI chat messages -> Ollama messages
 * (text parts joined, data-URL images to base64, tool call args to objects).
 */
export function ollamaMessages(messages: unknown): JsonObject[] {
  if (!Array.isArray(messages)) throw badRequest('messages: expected a list of messages', 'messages');
  return messages.map((m, i) => {
    if (!m || typeof m !== 'object') throw badRequest(`messages[${i}]: expected an object`, 'messages');
    const msg = m as JsonObject;
    const out: JsonObject = { role: msg.role };
    if (typeof msg.content === 'string' || msg.content == null) out.content = msg.content ?? '';
    else if (Array.isArray(msg.content)) {
      let text = '';
      const images: string[] = [];
      for (const part of msg.content as JsonObject[]) {
        if (part?.type === 'text' && typeof part.text === 'string') text += (text ? '\n' : '') + part.text;
        else if (part?.type === 'image_url') {
          const url =
            typeof part.image_url === 'string' ? part.image_url : (part.image_url as JsonObject | undefined)?.url;
          if (typeof url === 'string') images.push(url.startsWith('data:') ? url.slice(url.indexOf(',') + 1) : url);
        }
      }
      out.content = text;
      if (images.length) out.images = images;
    } else out.content = JSON.stringify(msg.content);
    if (Array.isArray(msg.tool_calls)) {
      out.tool_calls = (msg.tool_calls as JsonObject[]).map((tc) => {
        const fn = (tc.function ?? {}) as JsonObject;
        let args: unknown = fn.arguments;
        if (typeof args === 'string') {
          try {
            args = JSON.parse(args || '{}');
          } catch {
            /* keep the string: Ollama reports it */
          }
        }
        return { function: { name: fn.name, arguments: args } };
      });
    }
    if (typeof msg.tool_call_id === 'string') out.tool_call_id = msg.tool_call_id;
    if (typeof msg.name === 'string') out.tool_name = msg.name;
    return out;
  });
}

/** Ollama tool calls -> OpenAI tool_calls (arguments as a JSON string, generated ids). */
export function openAIToolCalls(calls: unknown, withIndex: boolean): JsonObject[] | undefined {
  if (!Array.isArray(calls) || calls.length === 0) return undefined;
  return (calls as JsonObject[]).map((tc, index) => {
    const fn = (tc.function ?? {}) as JsonObject;
    const call: JsonObject = {
      id: typeof tc.id === 'string' ? tc.id : `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`,
      type: 'function',
      function: {
        name: fn.name,
        arguments: typeof fn.arguments === 'string' ? fn.arguments : JSON.stringify(fn.arguments ?? {}),
      },
    };
    return withIndex ? { index, ...call } : call;
  });
}

/** Ollama `done_reason` -> OpenAI finish_reason. */
export function finishReason(doneReason: unknown, hasToolCalls: boolean): string {
  if (hasToolCalls) return 'tool_calls';
  return doneReason === 'length' ? 'length' : 'stop';
}

/** Unix seconds from Ollama's `created_at` (now when absent). */
export function createdOf(createdAt: unknown): number {
  const t = typeof createdAt === 'string' ? Date.parse(createdAt) : NaN;
  return Math.floor((Number.isNaN(t) ? Date.now() : t) / 1000);
}

/** Usage from Ollama's counters. */
export function ollamaUsage(o: JsonObject): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  const p = typeof o.prompt_eval_count === 'number' ? o.prompt_eval_count : 0;
  const c = typeof o.eval_count === 'number' ? o.eval_count : 0;
  return { prompt_tokens: p, completion_tokens: c, total_tokens: p + c };
}
