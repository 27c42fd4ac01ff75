/**
 * An Anthropic Messages request -> the engine's OpenAI-format chat request, so every provider the
 * router serves answers it. Validation is the few checks Anthropic itself makes (no schema library).
 */
import { GatewayError } from '../errors.js';
import type { JsonObject } from '../wire.js';
import { assistantMessage, systemText, userMessages } from './content.js';
import { invalidRequest } from './errors.js';

/** What the endpoint needs after translation. */
export interface TranslatedRequest {
  /** the OpenAI chat body handed to the router */
  body: JsonObject;
  model: string;
  stream: boolean;
  /** the client's stop_sequences, to tell a stop sequence from a natural end */
  stopSequences: string[];
}

export interface TranslateOptions {
  /** /v1/messages requires max_tokens; count_tokens does not */
  requireMaxTokens: boolean;
  /** whether the deployments behind `model` take `top_k` (OpenAI rejects it) */
  acceptsTopK?: (model: string) => boolean;
}

/** Keys that steer the engine itself (LiteLLM accepts them on every route); forwarded as given. */
const ENGINE_KEYS = [
  'mock_response',
  'timeout',
  'drop_params',
  'extra_body',
  'num_retries',
  'fallbacks',
  // the response cache's per-request controls (docs/cache.md)
  'cache',
  'caching',
] as const;

const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Translate and validate. Throws a 400 GatewayError naming the field, as Anthropic does. */
export function toOpenAIRequest(a: JsonObject, opts: TranslateOptions): TranslatedRequest {
  const model = a.model;
  if (typeof model !== 'string' || model === '') throw invalidRequest('model: Field required', 'model');
  if (!Array.isArray(a.messages))
    throw invalidRequest(
      a.messages === undefined ? 'messages: Field required' : 'messages: Input should be a valid list',
      'messages',
    );
  const mt = a.max_tokens;
  if (mt === undefined || mt === null) {
    if (opts.requireMaxTokens) throw invalidRequest('max_tokens: Field required', 'max_tokens');
  } else if (typeof mt !== 'number' || !Number.isInteger(mt) || mt < 1) {
    throw invalidRequest('max_tokens: Input should be a positive integer', 'max_tokens');
  }

  const messages: JsonObject[] = [];
  if (a.system !== undefined && a.system !== null) {
    const text = systemText(a.system);
    if (text !== '') messages.push({ role: 'system', content: text });
  }
  a.messages.forEach((m, i) => {
    const at = `messages.${i}`;
    if (!isObject(m)) throw invalidRequest(`${at}: expected an object`, 'messages');
    if (m.role !== 'user' && m.role !== 'assistant')
      throw invalidRequest(`${at}.role: Input should be 'user' or 'assistant'`, 'messages');
    const c = m.content;
    if (typeof c === 'string') messages.push({ role: m.role, content: c });
    else if (!Array.isArray(c))
      throw invalidRequest(`${at}.content: expected a string or a list of content blocks`, 'messages');
    else if (m.role === 'assistant') messages.push(assistantMessage(c, `${at}.content`));
    else userMessages(c, `${at}.content`, messages);
  });

  const body: JsonObject = { model, messages };
  if (typeof mt === 'number') body.max_tokens = mt;
  for (const k of ['temperature', 'top_p'] as const) if (typeof a[k] === 'number') body[k] = a[k];
  if (typeof a.top_k === 'number' && opts.acceptsTopK?.(model)) body.top_k = a.top_k;
  const stopSequences = stopList(a.stop_sequences);
  if (stopSequences.length > 0) body.stop = stopSequences;
  const meta = a.metadata;
  if (isObject(meta) && typeof meta.user_id === 'string' && meta.user_id !== '') body.user = meta.user_id;
  addTools(a, body);
  const stream = a.stream === true;
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  for (const k of ENGINE_KEYS) if (a[k] !== undefined) body[k] = a[k];
  return { body, model, stream, stopSequences };
}

function stopList(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string'))
    throw invalidRequest('stop_sequences: Input should be a list of strings', 'stop_sequences');
  return v as string[];
}

/** `tools` -> OpenAI function tools; `tool_choice` -> auto / required / none / a named function. */
function addTools(a: JsonObject, body: JsonObject): void {
  const tools = a.tools;
  if (tools === undefined || tools === null) return;
  if (!Array.isArray(tools)) throw invalidRequest('tools: Input should be a valid list', 'tools');
  if (tools.length === 0) return;
  body.tools = tools.map((t, i) => {
    if (!isObject(t) || typeof t.name !== 'string' || t.name === '')
      throw invalidRequest(`tools.${i}.name: Field required`, 'tools');
    if (t.input_schema === undefined && typeof t.type === 'string' && t.type !== 'custom') {
      throw invalidRequest(`tools.${i}: the server tool "${t.type}" runs only where Anthropic's API runs it`, 'tools');
    }
    const fn: JsonObject = {
      name: t.name,
      parameters: isObject(t.input_schema) ? t.input_schema : { type: 'object', properties: {} },
    };
    if (typeof t.description === 'string') fn.description = t.description;
    return { type: 'function', function: fn };
  });
  const tc = a.tool_choice;
  if (tc === undefined || tc === null) return;
  if (!isObject(tc)) throw invalidRequest('tool_choice: expected an object', 'tool_choice');
  switch (tc.type) {
    case 'auto':
      body.tool_choice = 'auto';
      break;
    case 'any':
      body.tool_choice = 'required';
      break;
    case 'none':
      body.tool_choice = 'none';
      break;
    case 'tool':
      if (typeof tc.name !== 'string') throw invalidRequest('tool_choice.name: Field required', 'tool_choice');
      body.tool_choice = { type: 'function', function: { name: tc.name } };
      break;
    default:
      throw invalidRequest(`tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'`, 'tool_choice');
  }
  if (tc.disable_parallel_tool_use === true && tc.type !== 'none') body.parallel_tool_calls = false;
}

/** The translation plus what it could not carry (the 400 a translated deployment answers with). */
export interface RoutedTranslation extends TranslatedRequest {
  untranslatable?: GatewayError;
}

/**
 * The translation for the router. A request the OpenAI format cannot carry in full (server tools, content
 * blocks it has no place for: `server_tool_use`, `web_search_tool_result`, Files API sources, ...) is
 * translated without those parts and keeps the 400 naming the first of them: an Anthropic-native deployment
 * gets the client's request as written and never sees the translation; a translated one answers that 400.
 * A request that is wrong for Anthropic too (no model, bad max_tokens, ...) is a 400 here.
 */
export function translateForRouting(a: JsonObject, opts: TranslateOptions): RoutedTranslation {
  try {
    return toOpenAIRequest(a, opts);
  } catch (e) {
    if (!(e instanceof GatewayError) || e.status !== 400) throw e;
    let t: TranslatedRequest;
    try {
      t = toOpenAIRequest(translatable(a), opts);
    } catch {
      throw e;
    }
    return { ...t, untranslatable: e };
  }
}

const TRANSLATED_BLOCKS = new Set(['text', 'image', 'document', 'tool_use', 'tool_result', 'thinking']);

/** `a` without what the translation has no place for (a copy; the client's body is sent as is elsewhere). */
function translatable(a: JsonObject): JsonObject {
  const out: JsonObject = { ...a };
  if (Array.isArray(a.tools)) {
    out.tools = a.tools.filter(
      (t) => !(isObject(t) && t.input_schema === undefined && typeof t.type === 'string' && t.type !== 'custom'),
    );
  }
  if (Array.isArray(a.messages)) {
    out.messages = a.messages.map((m) => {
      if (!isObject(m) || !Array.isArray(m.content)) return m;
      const content = m.content.filter((b) => isObject(b) && keepBlock(b));
      return { ...m, content: content.length > 0 ? content : '' };
    });
  }
  return out;
}

function keepBlock(b: JsonObject): boolean {
  if (b.type === 'redacted_thinking') return true;
  if (!TRANSLATED_BLOCKS.has(b.type as string)) return false;
  if (b.type !== 'image' && b.type !== 'document') return true;
  const src = b.source;
  const kind = isObject(src) ? src.type : undefined;
  return kind === 'base64' || (kind === 'url' && b.type === 'image') || (kind === 'text' && b.type === 'document');
}
