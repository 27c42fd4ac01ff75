/**
 * Chat answers as Responses API objects: the response shell (the request's settings echoed), output items from a
 * chat message, usage in the Responses names (input_tokens / output_tokens).
 */
import { randomBytes } from 'node:crypto';
import type { JsonObject, OpenAIResponse } from '../wire.js';

/** An id of the Responses API's kind (`resp_`, `msg_`, `fc_`, `rs_` and 48 hex digits: not guessable). */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString('hex')}`;
}

/** The response object around an output: what the request set, echoed as OpenAI does. */
export function responseShell(body: JsonObject, id: string, model: string, createdAt: number): JsonObject {
  const text = body.text && typeof body.text === 'object' ? body.text : { format: { type: 'text' } };
  return {
    id,
    object: 'response',
    created_at: createdAt,
    status: 'in_progress',
    background: false,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model,
    output: [],
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: body.reasoning ?? { effort: null, summary: null },
    store: body.store !== false,
    temperature: body.temperature ?? 1,
    text,
    tool_choice: body.tool_choice ?? 'auto',
    tools: Array.isArray(body.tools) ? body.tools : [],
    top_p: body.top_p ?? 1,
    truncation: body.truncation ?? 'disabled',
    usage: null,
    user: body.user ?? null,
    metadata: body.metadata && typeof body.metadata === 'object' ? body.metadata : {},
  };
}

/** Chat usage (prompt / completion tokens and their details) in the Responses API's names. */
export function responsesUsage(u: unknown): JsonObject {
  const o = (u && typeof u === 'object' ? u : {}) as JsonObject;
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const input = n(o.prompt_tokens);
  const output = n(o.completion_tokens);
  const pd = o.prompt_tokens_details as JsonObject | undefined;
  const cd = o.completion_tokens_details as JsonObject | undefined;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: n(pd?.cached_tokens) || n(o.cache_read_input_tokens) },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: n(cd?.reasoning_tokens) },
    total_tokens: n(o.total_tokens) || input + output,
  };
}

/** The status a chat finish reason gives a response, and why it is incomplete. */
export function statusOf(finish: unknown): { status: string; incomplete: JsonObject | null } {
  if (finish === 'length') return { status: 'incomplete', incomplete: { reason: 'max_output_tokens' } };
  if (finish === 'content_filter') return { status: 'incomplete', incomplete: { reason: 'content_filter' } };
  return { status: 'completed', incomplete: null };
}

/** A message output item holding `text`. */
export function messageItem(id: string, text: string, status = 'completed'): JsonObject {
  return {
    id,
    type: 'message',
    status,
    role: 'assistant',
    content: [{ type: 'output_text', text, annotations: [], logprobs: [] }],
  };
}

/** A reasoning output item (a chat answer's `reasoning_content`). */
export function reasoningItem(id: string, text: string): JsonObject {
  return { id, type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text }], status: 'completed' };
}

/** A function call output item. */
export function functionCallItem(id: string, callId: string, name: string, args: string, status = 'completed') {
  return { id, type: 'function_call', status, arguments: args, call_id: callId, name };
}

/** A whole chat completion as a response object. */
export function chatToResponse(chat: OpenAIResponse, body: JsonObject, id: string, model: string): JsonObject {
  const created = typeof chat.created === 'number' ? chat.created : Math.floor(Date.now() / 1000);
  const out = responseShell(body, id, model, created);
  const choice = (Array.isArray(chat.choices) ? chat.choices[0] : undefined) as JsonObject | undefined;
  const msg = (choice?.message ?? {}) as JsonObject;
  const output: JsonObject[] = [];
  const reasoning = msg.reasoning_content;
  if (typeof reasoning === 'string' && reasoning !== '') output.push(reasoningItem(newId('rs'), reasoning));
  const content = msg.content;
  const text = typeof content === 'string' ? content : Array.isArray(content) ? joinText(content) : '';
  if (text !== '') output.push(messageItem(newId('msg'), text));
  for (const tc of (Array.isArray(msg.tool_calls) ? msg.tool_calls : []) as JsonObject[]) {
    const fn = (tc.function ?? {}) as JsonObject;
    const args = typeof fn.arguments === 'string' ? fn.arguments : JSON.stringify(fn.arguments ?? {});
    output.push(functionCallItem(newId('fc'), String(tc.id ?? newId('call')), String(fn.name ?? ''), args));
  }
  const { status, incomplete } = statusOf(choice?.finish_reason);
  out.status = status;
  out.incomplete_details = incomplete;
  out.output = output;
  out.usage = responsesUsage(chat.usage);
  return out;
}

function joinText(parts: unknown[]): string {
  let s = '';
  for (const p of parts as JsonObject[]) if (typeof p?.text === 'string') s += p.text;
  return s;
}
