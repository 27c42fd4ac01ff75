/**
 * OpenAI chat request -> Anthropic Messages request body. System messages are lifted to `system`,
 * tool results become `tool_result` blocks in a user turn, consecutive same-role turns are merged
 * (the Messages API wants user/assistant alternating), images become `image` blocks.
 */
import { badRequest } from '../../errors.js';
import type { JsonObject } from '../types.js';

/** The tool name used to emulate `response_format: json_schema` (its input becomes the message text). */
export const JSON_TOOL = 'json_tool_call';

type Block = JsonObject;
interface Turn {
  role: 'user' | 'assistant';
  content: Block[];
}

/** One OpenAI content part (text or image_url) -> an Anthropic block, or undefined to skip. */
export function contentBlock(part: JsonObject, at: string): Block | undefined {
  if (part.type === 'text')
    return typeof part.text === 'string' && part.text !== '' ? { type: 'text', text: part.text } : undefined;
  if (part.type === 'image_url') {
    const url = typeof part.image_url === 'string' ? part.image_url : (part.image_url as JsonObject | undefined)?.url;
    if (typeof url !== 'string') throw badRequest(`${at}.image_url.url: expected a string`, 'messages');
    return { type: 'image', source: imageSource(url, at) };
  }
  // parts already in Anthropic shape (document, image with source, ...) pass through
  if (typeof part.type === 'string' && part.type !== 'input_audio') return part;
  throw badRequest(
    `${at}: content part of type ${JSON.stringify(part.type)} is not supported by Anthropic`,
    'messages',
  );
}

/** A data URL becomes a base64 source, anything else a URL source. */
function imageSource(url: string, at: string): JsonObject {
  if (!url.startsWith('data:')) return { type: 'url', url };
  const m = /^data:([^;,]+)(;base64)?,(.*)$/s.exec(url);
  if (!m?.[2])
    throw badRequest(`${at}.image_url.url: expected a base64 data URL (data:image/png;base64,...)`, 'messages');
  return { type: 'base64', media_type: m[1], data: m[3] };
}

function blocksOf(content: unknown, at: string): Block[] {
  if (content == null) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  if (!Array.isArray(content)) throw badRequest(`${at}.content: expected a string or a list of parts`, 'messages');
  const out: Block[] = [];
  content.forEach((p, i) => {
    if (p && typeof p === 'object') {
      const b = contentBlock(p as JsonObject, `${at}.content[${i}]`);
      if (b) out.push(b);
    }
  });
  return out;
}

function parseArgs(args: unknown): unknown {
  if (typeof args !== 'string') return args ?? {};
  if (args.trim() === '') return {};
  try {
    return JSON.parse(args);
  } catch {
    throw badRequest('tool_calls[].function.arguments: expected a JSON string', 'messages');
  }
}

/** Split messages into the `system` blocks and alternating user/assistant turns. */
export function anthropicMessages(messages: unknown): { system: Block[]; messages: Turn[] } {
  if (!Array.isArray(messages) || messages.length === 0)
    throw badRequest('messages: expected a non-empty list of messages', 'messages');
  const system: Block[] = [];
  const turns: Turn[] = [];
  const push = (role: Turn['role'], blocks: Block[]) => {
    if (blocks.length === 0) return;
    const last = turns[turns.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  };
  messages.forEach((raw, i) => {
    const at = `messages[${i}]`;
    if (!raw || typeof raw !== 'object') throw badRequest(`${at}: expected an object`, 'messages');
    const m = raw as JsonObject;
    switch (m.role) {
      case 'system':
      case 'developer':
        system.push(...blocksOf(m.content, at));
        break;
      case 'user':
        push('user', blocksOf(m.content, at));
        break;
      case 'assistant': {
        const blocks = blocksOf(m.content, at);
        if (Array.isArray(m.tool_calls)) {
          for (const tc of m.tool_calls as JsonObject[]) {
            const fn = (tc.function ?? {}) as JsonObject;
            blocks.push({ type: 'tool_use', id: tc.id, name: fn.name, input: parseArgs(fn.arguments) });
          }
        }
        push('assistant', blocks);
        break;
      }
      case 'tool':
      case 'function': {
        const content = typeof m.content === 'string' ? m.content : blocksOf(m.content, at);
        push('user', [{ type: 'tool_result', tool_use_id: m.tool_call_id ?? m.name, content }]);
        break;
      }
      default:
        throw badRequest(
          `${at}.role: ${JSON.stringify(m.role)} is not one of system, user, assistant, tool`,
          'messages',
        );
    }
  });
  // tool_result blocks must come first in their user turn
  for (const t of turns)
    if (t.role === 'user')
      t.content.sort((a, b) => Number(b.type === 'tool_result') - Number(a.type === 'tool_result'));
  return { system, messages: turns };
}

/** OpenAI tools -> Anthropic tools (`input_schema`). */
export function anthropicTools(tools: unknown): JsonObject[] | undefined {
  if (!Array.isArray(tools) || tools.length === 0) return undefined;
  return (tools as JsonObject[]).map((t) => {
    if (t.type !== 'function') return t; // Anthropic-native tools (computer use, web search) pass through
    const fn = (t.function ?? {}) as JsonObject;
    const out: JsonObject = { name: fn.name, input_schema: fn.parameters ?? { type: 'object', properties: {} } };
    if (typeof fn.description === 'string') out.description = fn.description;
    return out;
  });
}

/** OpenAI tool_choice (+ parallel_tool_calls) -> Anthropic tool_choice. */
export function anthropicToolChoice(choice: unknown, parallel: unknown): JsonObject | undefined {
  let out: JsonObject | undefined;
  if (choice === 'auto') out = { type: 'auto' };
  else if (choice === 'required') out = { type: 'any' };
  else if (choice === 'none') out = { type: 'none' };
  else if (choice && typeof choice === 'object') {
    const name = ((choice as JsonObject).function as JsonObject | undefined)?.name;
    if (typeof name === 'string') out = { type: 'tool', name };
  }
  if (parallel === false) out = { ...(out ?? { type: 'auto' }), disable_parallel_tool_use: true };
  return out;
}
