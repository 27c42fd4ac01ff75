/**
 * Anthropic message content blocks -> OpenAI chat messages. Tool results become `tool` messages
 * placed right after the assistant turn that called them, as OpenAI requires.
 */
import type { JsonObject } from '../wire.js';
import { invalidRequest } from './errors.js';

type Block = JsonObject;

const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

/** An Anthropic image/document `source` -> a URL OpenAI takes (data: URL for base64). */
function sourceUrl(src: unknown, at: string): string {
  if (!isObject(src)) throw invalidRequest(`${at}.source: Field required`, at);
  if (src.type === 'base64') {
    if (typeof src.data !== 'string' || typeof src.media_type !== 'string')
      throw invalidRequest(`${at}.source: base64 sources need media_type and data`, at);
    return `data:${src.media_type};base64,${src.data}`;
  }
  if (src.type === 'url' && typeof src.url === 'string') return src.url;
  throw invalidRequest(
    `${at}.source.type: "${String(src.type)}" is not supported through this gateway (use base64 or url)`,
    at,
  );
}

/** One user-side block (text, image, document) -> an OpenAI content part. */
function userPart(b: Block, at: string): JsonObject {
  switch (b.type) {
    case 'text':
      if (typeof b.text !== 'string') throw invalidRequest(`${at}.text: Field required`, at);
      return { type: 'text', text: b.text };
    case 'image':
      return { type: 'image_url', image_url: { url: sourceUrl(b.source, at) } };
    case 'document': {
      const src = b.source;
      if (isObject(src) && src.type === 'text' && typeof src.data === 'string') return { type: 'text', text: src.data };
      const url = sourceUrl(src, at);
      if (!url.startsWith('data:'))
        throw invalidRequest(`${at}.source: documents by URL are not supported through this gateway (send base64)`, at);
      const file: JsonObject = { file_data: url };
      if (typeof b.title === 'string') file.filename = b.title;
      return { type: 'file', file };
    }
    default:
      throw invalidRequest(
        `${at}.type: content block type "${String(b.type)}" is not supported through this gateway`,
        at,
      );
  }
}

/** `tool_result.content` (string or text/image blocks) -> the tool message text, plus images it held. */
function toolResultContent(content: unknown, at: string, images: JsonObject[]): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalidRequest(`${at}.content: expected a string or a list of blocks`, at);
  const texts: string[] = [];
  content.forEach((c, k) => {
    if (!isObject(c)) throw invalidRequest(`${at}.content.${k}: expected an object`, at);
    const part = userPart(c, `${at}.content.${k}`);
    if (part.type === 'text') texts.push(part.text as string);
    else images.push(part); // OpenAI tool messages are text only: images follow in a user message
  });
  return texts.join('\n');
}

/** A user turn given as blocks -> `tool` messages for its tool results, then one user message for the rest. */
export function userMessages(blocks: unknown[], at: string, out: JsonObject[]): void {
  const parts: JsonObject[] = [];
  const images: JsonObject[] = [];
  blocks.forEach((b, j) => {
    const bat = `${at}.${j}`;
    if (!isObject(b)) throw invalidRequest(`${bat}: expected a content block object`, bat);
    if (b.type === 'tool_result') {
      if (typeof b.tool_use_id !== 'string') throw invalidRequest(`${bat}.tool_use_id: Field required`, bat);
      out.push({ role: 'tool', tool_call_id: b.tool_use_id, content: toolResultContent(b.content, bat, images) });
    } else parts.push(userPart(b, bat));
  });
  parts.push(...images);
  if (parts.length === 0) return;
  const onlyText = parts.length === 1 && parts[0].type === 'text';
  out.push({ role: 'user', content: onlyText ? parts[0].text : parts });
}

/** An assistant turn given as blocks -> one assistant message with its text and tool calls (thinking dropped). */
export function assistantMessage(blocks: unknown[], at: string): JsonObject {
  let text = '';
  const calls: JsonObject[] = [];
  blocks.forEach((b, j) => {
    const bat = `${at}.${j}`;
    if (!isObject(b)) throw invalidRequest(`${bat}: expected a content block object`, bat);
    if (b.type === 'text') {
      if (typeof b.text !== 'string') throw invalidRequest(`${bat}.text: Field required`, bat);
      text += b.text;
    } else if (b.type === 'tool_use') {
      if (typeof b.id !== 'string' || typeof b.name !== 'string')
        throw invalidRequest(`${bat}: tool_use blocks need id and name`, bat);
      calls.push({ id: b.id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } });
    } else if (b.type !== 'thinking' && b.type !== 'redacted_thinking') {
      throw invalidRequest(
        `${bat}.type: content block type "${String(b.type)}" is not supported in assistant turns through this gateway`,
        bat,
      );
    }
  });
  const msg: JsonObject = { role: 'assistant', content: text === '' && calls.length > 0 ? null : text };
  if (calls.length > 0) msg.tool_calls = calls;
  return msg;
}

/** `system` (a string or a list of text blocks) -> the system message text. */
export function systemText(system: unknown): string {
  if (typeof system === 'string') return system;
  if (!Array.isArray(system)) throw invalidRequest('system: expected a string or a list of text blocks', 'system');
  return system
    .map((b, k) => {
      if (!isObject(b) || b.type !== 'text' || typeof b.text !== 'string')
        throw invalidRequest(`system.${k}: expected a text block`, 'system');
      return b.text;
    })
    .join('\n');
}
