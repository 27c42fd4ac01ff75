/**
 * OpenAI chat <-> Cohere chat v2. Requests: roles system/user/assistant/tool, `tool_calls` with
 * JSON-string arguments, assistant text beside tool calls becomes `tool_plan`, sampling params
 * renamed (`top_p` -> `p`, `stop` -> `stop_sequences`). Answers: `message.content[].text`,
 * `finish_reason` COMPLETE/MAX_TOKENS/TOOL_CALL/STOP_SEQUENCE/ERROR, usage from `tokens` or `billed_units`.
 */
import { badRequest } from '../../errors.js';
import { badUpstreamAnswer } from '../errors.js';
import type { JsonObject, OpenAIResponse, Usage } from '../types.js';

function text(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return content == null ? '' : JSON.stringify(content);
  return (content as JsonObject[])
    .filter((p) => p?.type === 'text' && typeof p.text === 'string')
    .map((p) => p.text as string)
    .join('\n');
}

function userContent(content: unknown, at: string): unknown {
  if (!Array.isArray(content)) return text(content);
  return (content as JsonObject[]).map((p, i) => {
    if (p?.type === 'text') return { type: 'text', text: p.text };
    if (p?.type === 'image_url') {
      const url = typeof p.image_url === 'string' ? p.image_url : (p.image_url as JsonObject | undefined)?.url;
      if (typeof url !== 'string') throw badRequest(`${at}.content[${i}].image_url.url: expected a string`, 'messages');
      return { type: 'image_url', image_url: { url } };
    }
    throw badRequest(
      `${at}.content[${i}]: content part of type ${JSON.stringify(p?.type)} is not supported by Cohere`,
      'messages',
    );
  });
}

/** OpenAI messages -> Cohere v2 messages. */
export function cohereMessages(messages: unknown): JsonObject[] {
  if (!Array.isArray(messages) || messages.length === 0)
    throw badRequest('messages: expected a non-empty list of messages', 'messages');
  return messages.map((raw, i) => {
    const at = `messages[${i}]`;
    if (!raw || typeof raw !== 'object') throw badRequest(`${at}: expected an object`, 'messages');
    const m = raw as JsonObject;
    switch (m.role) {
      case 'system':
      case 'developer':
        return { role: 'system', content: text(m.content) };
      case 'user':
        return { role: 'user', content: userContent(m.content, at) };
      case 'assistant': {
        const t = text(m.content);
        if (!Array.isArray(m.tool_calls) || m.tool_calls.length === 0) return { role: 'assistant', content: t };
        const out: JsonObject = {
          role: 'assistant',
          tool_calls: (m.tool_calls as JsonObject[]).map((tc) => {
            const fn = (tc.function ?? {}) as JsonObject;
            return {
              id: tc.id,
              type: 'function',
              function: {
                name: fn.name,
                arguments: typeof fn.arguments === 'string' ? fn.arguments : JSON.stringify(fn.arguments ?? {}),
              },
            };
          }),
        };
        if (t) out.tool_plan = t;
        return out;
      }
      case 'tool':
        return { role: 'tool', tool_call_id: m.tool_call_id, content: text(m.content) };
      default:
        throw badRequest(
          `${at}.role: ${JSON.stringify(m.role)} is not one of system, user, assistant, tool`,
          'messages',
        );
    }
  });
}

/** The whole /v2/chat body. */
export function cohereChatBody(body: JsonObject, model: string, stream: boolean): JsonObject {
  const out: JsonObject = { model, messages: cohereMessages(body.messages), stream };
  const max = body.max_completion_tokens ?? body.max_tokens;
  if (typeof max === 'number') out.max_tokens = max;
  if (body.temperature != null) out.temperature = body.temperature;
  if (body.top_p != null) out.p = body.top_p;
  if (body.top_k != null) out.k = body.top_k;
  if (body.seed != null) out.seed = body.seed;
  if (body.frequency_penalty != null) out.frequency_penalty = body.frequency_penalty;
  if (body.presence_penalty != null) out.presence_penalty = body.presence_penalty;
  if (body.stop != null) out.stop_sequences = typeof body.stop === 'string' ? [body.stop] : body.stop;
  let tools = Array.isArray(body.tools) && body.tools.length > 0 ? (body.tools as JsonObject[]) : undefined;
  const choice = body.tool_choice;
  if (tools && choice && typeof choice === 'object') {
    // Cohere cannot name one tool: offer only that one and require a call
    const name = ((choice as JsonObject).function as JsonObject | undefined)?.name;
    tools = tools.filter((t) => (t.function as JsonObject | undefined)?.name === name);
    out.tool_choice = 'REQUIRED';
  } else if (choice === 'required') out.tool_choice = 'REQUIRED';
  else if (choice === 'none') out.tool_choice = 'NONE';
  if (tools) out.tools = tools;
  const rf = body.response_format as JsonObject | undefined;
  if (rf?.type === 'json_object') out.response_format = { type: 'json_object' };
  else if (rf?.type === 'json_schema') {
    const schema = (rf.json_schema as JsonObject | undefined)?.schema;
    out.response_format = schema ? { type: 'json_object', json_schema: schema } : { type: 'json_object' };
  }
  return out;
}

/** Cohere finish_reason -> OpenAI. */
export function cohereFinish(reason: unknown): string {
  switch (reason) {
    case 'MAX_TOKENS':
      return 'length';
    case 'TOOL_CALL':
      return 'tool_calls';
    case 'ERROR_TOXIC':
      return 'content_filter';
    default:
      return 'stop'; // COMPLETE, STOP_SEQUENCE, ERROR
  }
}

/** Usage from `usage.tokens` (what the model processed), else `usage.billed_units`. */
export function cohereUsage(u: unknown): Usage | undefined {
  if (!u || typeof u !== 'object') return undefined;
  const o = u as JsonObject;
  const src = ((o.tokens ?? o.billed_units) as JsonObject | undefined) ?? {};
  const p = typeof src.input_tokens === 'number' ? src.input_tokens : 0;
  const c = typeof src.output_tokens === 'number' ? src.output_tokens : 0;
  return { prompt_tokens: p, completion_tokens: c, total_tokens: p + c };
}

/** Cohere tool calls -> OpenAI tool_calls. */
export function openAIToolCalls(calls: unknown): JsonObject[] | undefined {
  if (!Array.isArray(calls) || calls.length === 0) return undefined;
  return (calls as JsonObject[]).map((tc, i) => {
    const fn = (tc.function ?? {}) as JsonObject;
    return {
      id: typeof tc.id === 'string' ? tc.id : `call_${i}`,
      type: 'function',
      function: {
        name: fn.name,
        arguments: typeof fn.arguments === 'string' ? fn.arguments : JSON.stringify(fn.arguments ?? {}),
      },
    };
  });
}

/** A /v2/chat answer -> chat.completion. */
export function parseCohereChat(label: string, model: string, json: unknown): OpenAIResponse {
  if (!json || typeof json !== 'object') throw badUpstreamAnswer(label, 'an answer that is not a JSON object');
  const o = json as JsonObject;
  const m = o.message as JsonObject | undefined;
  if (!m || typeof m !== 'object') throw badUpstreamAnswer(label, 'an answer without "message"');
  const toolCalls = openAIToolCalls(m.tool_calls);
  const t = text(m.content);
  const message: JsonObject = { role: 'assistant', content: t === '' && toolCalls ? null : t };
  if (toolCalls) message.tool_calls = toolCalls;
  if (typeof m.tool_plan === 'string' && m.tool_plan) message.reasoning_content = m.tool_plan;
  return {
    id: typeof o.id === 'string' ? o.id : `chatcmpl-${Date.now()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      { index: 0, message, finish_reason: toolCalls ? 'tool_calls' : cohereFinish(o.finish_reason), logprobs: null },
    ],
    usage: cohereUsage(o.usage) ?? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
  };
}
