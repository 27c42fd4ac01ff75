/**
 * A Responses API request (`POST /v1/responses`), checked by hand, and what it becomes: the whole conversation
 * as input items (the turns `previous_response_id` names, found in the engine's store, then this request's), the
 * body an OpenAI-family deployment gets natively, and the chat request every other provider gets.
 */
import { badRequest, GatewayError } from '../errors.js';
import type { JsonObject } from '../wire.js';
import type { ResponseStore, StoredResponse } from './store.js';

/** A checked request: what the handler, the translation and the stored turn need. */
export interface ResponsesRequest {
  model: string;
  stream: boolean;
  /** store the response for retrieval and `previous_response_id` (OpenAI's default: true) */
  store: boolean;
  previous?: string;
  /** this request's input as items (a string input is one user message) */
  input: JsonObject[];
  /** the turns before it (previous responses' inputs and outputs), oldest first */
  history: JsonObject[];
}

/** Keys of the Responses API that chat has no field for (or another name): never copied into the chat body. */
const RESPONSES_ONLY = new Set([
  'input',
  'instructions',
  'max_output_tokens',
  'text',
  'reasoning',
  'store',
  'previous_response_id',
  'include',
  'truncation',
  'background',
  'tools',
  'tool_choice',
  'prompt',
  'prompt_cache_key',
  'safety_identifier',
  'service_tier',
  'max_tool_calls',
  'conversation',
  'stream',
  'stream_options',
  'top_logprobs',
]);

/** How far back `previous_response_id` is followed (a bound against a cycle in a broken store). */
const MAX_TURNS = 10_000;

/** Check the fields the engine reads (everything else goes on as sent) and load the earlier turns. */
export async function readResponsesRequest(
  body: JsonObject,
  store: ResponseStore,
  owner: string | undefined,
): Promise<ResponsesRequest> {
  const model = body.model;
  if (typeof model !== 'string' || model === '') {
    const missing = model === undefined || model === null || model === '';
    throw badRequest(
      missing ? 'Missing required parameter: "model".' : 'Invalid "model": expected a model name (a string).',
      'model',
      missing ? 'missing_required_parameter' : 'invalid_type',
    );
  }
  const input = inputItems(body.input);
  const st = body.stream;
  if (st !== undefined && st !== null && typeof st !== 'boolean')
    throw badRequest(`Invalid "stream": expected true or false, got ${JSON.stringify(st)}.`, 'stream', 'invalid_type');
  const sto = body.store;
  if (sto !== undefined && sto !== null && typeof sto !== 'boolean')
    throw badRequest(`Invalid "store": expected true or false, got ${JSON.stringify(sto)}.`, 'store', 'invalid_type');
  const ins = body.instructions;
  if (ins !== undefined && ins !== null && typeof ins !== 'string')
    throw badRequest('Invalid "instructions": expected a string.', 'instructions', 'invalid_type');
  const mot = body.max_output_tokens;
  if (mot !== undefined && mot !== null && !(Number.isInteger(mot) && (mot as number) > 0))
    throw badRequest(
      `Invalid "max_output_tokens": expected a positive integer, got ${JSON.stringify(mot)}.`,
      'max_output_tokens',
      'invalid_value',
    );
  if (body.tools !== undefined && body.tools !== null && !Array.isArray(body.tools))
    throw badRequest('Invalid "tools": expected a list of tools.', 'tools', 'invalid_type');
  // background responses are polled and cancelled upstream: the engine answers each request while it waits
  if (body.background === true)
    throw badRequest(
      '"background": true is not supported by this engine: send the request without it (stream it for long answers).',
      'background',
      'unsupported_parameter',
    );
  if (body.conversation !== undefined && body.conversation !== null)
    throw badRequest(
      '"conversation" (the Conversations API) is not supported by this engine: continue with previous_response_id.',
      'conversation',
      'unsupported_parameter',
    );
  const prev = body.previous_response_id;
  if (prev !== undefined && prev !== null && (typeof prev !== 'string' || prev === ''))
    throw badRequest('Invalid "previous_response_id": expected a response id.', 'previous_response_id', 'invalid_type');
  const previous = typeof prev === 'string' ? prev : undefined;
  const history = previous === undefined ? [] : await historyOf(store, previous, owner);
  return { model, stream: st === true, store: sto !== false, previous, input, history };
}

/** `input` as items: a string is one user message; a list is checked item by item (objects only). */
function inputItems(input: unknown): JsonObject[] {
  if (typeof input === 'string') return [{ type: 'message', role: 'user', content: input }];
  if (input === undefined || input === null)
    throw badRequest('Missing required parameter: "input".', 'input', 'missing_required_parameter');
  if (!Array.isArray(input))
    throw badRequest('Invalid "input": expected a string or a list of input items.', 'input', 'invalid_type');
  return input.map((item, i) => {
    if (!item || typeof item !== 'object' || Array.isArray(item))
      throw badRequest(`Invalid "input[${i}]": expected an object (a message or another item).`, `input[${i}]`);
    const o = item as JsonObject;
    // a message may leave out `type` (EasyInputMessage)
    if (o.type === undefined && typeof o.role === 'string') return { type: 'message', ...o };
    if (typeof o.type !== 'string')
      throw badRequest(`Invalid "input[${i}]": an item needs a "type" (or a "role" for a message).`, `input[${i}]`);
    return o;
  });
}

/** 404 for a response the store does not have (never stored, deleted, evicted, or someone else's). */
export function responseNotFound(id: string, param: string | null = null): GatewayError {
  return new GatewayError(404, {
    message: `No response with id '${id}' is stored by this engine (it was never stored, was deleted or evicted).`,
    param,
    code: 'not_found',
    errorClass: 'not_found',
  });
}

/** A stored response the caller may read: the same key made it (or the engine runs without auth). */
export async function ownResponse(
  store: ResponseStore,
  id: string,
  owner: string | undefined,
): Promise<StoredResponse | undefined> {
  const got = store.get(id);
  const r = got instanceof Promise ? await got : got;
  return r && r.owner === owner ? r : undefined;
}

/** Every item of the conversation before `id` and of its turn: inputs and outputs, oldest first. */
export async function historyOf(store: ResponseStore, id: string, owner: string | undefined): Promise<JsonObject[]> {
  const turns: StoredResponse[] = [];
  let at: string | undefined = id;
  while (at !== undefined && turns.length < MAX_TURNS) {
    const r = await ownResponse(store, at, owner);
    if (!r) {
      throw turns.length === 0
        ? responseNotFound(at, 'previous_response_id')
        : new GatewayError(404, {
            message:
              `Response '${id}' continues response '${at}', which is no longer stored (evicted or deleted): ` +
              'the conversation cannot be rebuilt. Send the whole conversation as input instead.',
            param: 'previous_response_id',
            code: 'not_found',
            errorClass: 'not_found',
          });
    }
    turns.push(r);
    at = r.previous;
  }
  const out: JsonObject[] = [];
  for (let i = turns.length - 1; i >= 0; i--) {
    out.push(...turns[i].input);
    const output = turns[i].response.output;
    if (Array.isArray(output)) out.push(...(output as JsonObject[]));
  }
  return out;
}

/**
 * The body an OpenAI-family deployment gets: the client's, with the conversation as input (the engine keeps it,
 * so `previous_response_id` stays here). Replayed items lose the ids the engine or another upstream gave them;
 * reasoning items are replayed only with their `encrypted_content` (an id alone means nothing to another store).
 */
export function nativeBody(body: JsonObject, r: ResponsesRequest): JsonObject {
  const out: JsonObject = {};
  for (const k in body) if (k !== 'previous_response_id') out[k] = body[k];
  if (r.history.length > 0) {
    const items: JsonObject[] = [];
    for (const item of r.history) {
      if (item.type === 'reasoning' && typeof item.encrypted_content !== 'string') continue;
      if (item.id === undefined) items.push(item);
      else {
        const { id: _id, ...rest } = item;
        items.push(rest);
      }
    }
    out.input = [...items, ...(Array.isArray(body.input) ? body.input : r.input)];
  }
  return out;
}

/**
 * The chat request for every other provider. What cannot be said in chat (a built-in tool such as web_search, a
 * file by id) is not dropped silently: `error` says what, and an attempt on a translated deployment fails with it.
 */
export function toChatBody(body: JsonObject, r: ResponsesRequest): { body: JsonObject; error?: GatewayError } {
  const out: JsonObject = {};
  for (const k in body) if (!RESPONSES_ONLY.has(k)) out[k] = body[k];
  let error: GatewayError | undefined;
  const fail = (message: string, param: string) => {
    error ??= badRequest(message, param, 'unsupported_parameter');
  };
  const messages: JsonObject[] = [];
  if (typeof body.instructions === 'string' && body.instructions !== '')
    messages.push({ role: 'system', content: body.instructions });
  for (const item of r.history) addItem(messages, item, fail);
  for (const item of r.input) addItem(messages, item, fail);
  out.messages = messages;
  if (typeof body.max_output_tokens === 'number') out.max_tokens = body.max_output_tokens;
  if (Array.isArray(body.tools) && body.tools.length > 0) {
    const tools: JsonObject[] = [];
    for (const t of body.tools as JsonObject[]) {
      if (t?.type !== 'function') {
        fail(
          `The tool type ${JSON.stringify(t?.type)} runs only on OpenAI-family deployments (the Responses API ` +
            'natively); this model answers through chat, which takes function tools only.',
          'tools',
        );
        continue;
      }
      const fn: JsonObject = { name: t.name };
      if (t.description !== undefined && t.description !== null) fn.description = t.description;
      if (t.parameters !== undefined && t.parameters !== null) fn.parameters = t.parameters;
      if (typeof t.strict === 'boolean') fn.strict = t.strict;
      tools.push({ type: 'function', function: fn });
    }
    if (tools.length > 0) out.tools = tools;
  }
  const tc = body.tool_choice;
  if (typeof tc === 'string') out.tool_choice = tc;
  else if (tc && typeof tc === 'object') {
    const o = tc as JsonObject;
    if (o.type === 'function' && typeof o.name === 'string')
      out.tool_choice = { type: 'function', function: { name: o.name } };
    else if (o.type === 'allowed_tools') out.tool_choice = o.mode === 'required' ? 'required' : 'auto';
  }
  const format = (body.text as JsonObject | undefined)?.format as JsonObject | undefined;
  if (format && typeof format === 'object') {
    if (format.type === 'json_schema') {
      const schema: JsonObject = { name: format.name ?? 'response', schema: format.schema };
      if (format.description !== undefined) schema.description = format.description;
      if (typeof format.strict === 'boolean') schema.strict = format.strict;
      out.response_format = { type: 'json_schema', json_schema: schema };
    } else if (format.type === 'json_object') out.response_format = { type: 'json_object' };
  }
  const effort = (body.reasoning as JsonObject | undefined)?.effort;
  if (typeof effort === 'string') out.reasoning_effort = effort;
  if (r.stream) {
    out.stream = true;
    // usage for the response.completed event and for spend
    out.stream_options = { include_usage: true };
  }
  return { body: out, error };
}

type Fail = (message: string, param: string) => void;

/** One Responses item onto the chat messages (function calls join the assistant message before them). */
function addItem(messages: JsonObject[], item: JsonObject, fail: Fail): void {
  switch (item.type) {
    case 'message': {
      const role = item.role === 'developer' ? 'system' : item.role;
      if (role === 'assistant') {
        // an assistant text and the function calls after it become one chat message (see function_call)
        messages.push({ role: 'assistant', content: partsText(item.content) });
        return;
      }
      if (role !== 'user' && role !== 'system') {
        fail(`Invalid message role ${JSON.stringify(item.role)} in "input".`, 'input');
        return;
      }
      messages.push({ role, content: role === 'system' ? partsText(item.content) : chatContent(item.content, fail) });
      return;
    }
    case 'function_call': {
      const call = {
        id: item.call_id,
        type: 'function',
        function: { name: item.name, arguments: typeof item.arguments === 'string' ? item.arguments : '{}' },
      };
      const last = messages[messages.length - 1];
      if (last?.role === 'assistant') {
        ((last.tool_calls as JsonObject[] | undefined) ?? (last.tool_calls = [])).push(call);
        if (last.content === '') last.content = null;
      } else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
      return;
    }
    case 'function_call_output': {
      const o = item.output;
      messages.push({ role: 'tool', tool_call_id: item.call_id, content: typeof o === 'string' ? o : partsText(o) });
      return;
    }
    case 'reasoning':
      return; // the model's own earlier thinking: chat has no place for it
    default:
      fail(
        `The input item type ${JSON.stringify(item.type)} runs only on OpenAI-family deployments (the Responses ` +
          'API natively); this model answers through chat.',
        'input',
      );
  }
}

/** The text of a content list (or string): text, output_text and refusal parts joined. */
function partsText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let s = '';
  for (const p of content as JsonObject[]) {
    const t = p?.text ?? p?.refusal;
    if (typeof t === 'string') s += t;
  }
  return s;
}

/** A user message's content in chat terms: a string when it is only text, else chat content parts. */
function chatContent(content: unknown, fail: Fail): unknown {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const parts: JsonObject[] = [];
  let onlyText = true;
  for (const p of content as JsonObject[]) {
    switch (p?.type) {
      case 'input_text':
      case 'output_text':
        parts.push({ type: 'text', text: p.text });
        break;
      case 'input_image':
        onlyText = false;
        if (typeof p.image_url !== 'string') {
          fail('An input_image by file_id needs the Responses API natively: send it as image_url.', 'input');
          break;
        }
        parts.push({ type: 'image_url', image_url: { url: p.image_url, detail: p.detail ?? 'auto' } });
        break;
      case 'input_file':
        onlyText = false;
        if (typeof p.file_data !== 'string') {
          fail('An input_file by file_id or URL needs the Responses API natively: send it as file_data.', 'input');
          break;
        }
        parts.push({ type: 'file', file: { file_data: p.file_data, filename: p.filename } });
        break;
      default:
        fail(`The content part type ${JSON.stringify(p?.type)} cannot be sent through chat.`, 'input');
    }
  }
  return onlyText ? parts.map((p) => p.text).join('') : parts;
}
