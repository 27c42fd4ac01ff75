/**
 * OpenAI chat requests -> Bedrock Converse request bodies. Converse wants alternating user/assistant
 * turns of content blocks, system text apart, tool results as `toolResult` blocks in a user turn, and
 * images as raw bytes (base64 in JSON).
 */
import { badRequest } from '../../errors.js';
import { imageUrlOf, loadImage } from '../google/media.js';
import { toolArguments } from '../params.js';
import type { JsonObject } from '../types.js';

/** The tool LiteLLM-style JSON mode forces when `response_format` asks for JSON (Converse has no JSON mode). */
export const JSON_TOOL = 'json_tool_call';

const IMAGE_FORMATS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

/** Build the Converse body for a chat request (async: image URLs are downloaded). */
export async function converseBody(body: JsonObject, signal: AbortSignal): Promise<JsonObject> {
  if (!Array.isArray(body.messages)) throw badRequest('messages: expected a list of messages', 'messages');
  const system: JsonObject[] = [];
  const messages: { role: string; content: JsonObject[] }[] = [];
  const push = (role: string, blocks: JsonObject[]) => {
    if (blocks.length === 0) return;
    const last = messages.at(-1);
    // Converse rejects two turns in a row from the same role: merge them
    if (last && last.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  for (const [i, m] of (body.messages as unknown[]).entries()) {
    if (!m || typeof m !== 'object') throw badRequest(`messages[${i}]: expected an object`, 'messages');
    const msg = m as JsonObject;
    if (msg.role === 'system' || msg.role === 'developer') {
      for (const b of await contentBlocks(msg.content, signal))
        if (typeof b.text === 'string') system.push({ text: b.text });
    } else if (msg.role === 'user') {
      push('user', await contentBlocks(msg.content, signal));
    } else if (msg.role === 'assistant') {
      const blocks = await contentBlocks(msg.content, signal);
      for (const tc of Array.isArray(msg.tool_calls) ? (msg.tool_calls as JsonObject[]) : []) {
        const fn = (tc.function ?? {}) as JsonObject;
        push('assistant', blocks.splice(0));
        push('assistant', [{ toolUse: { toolUseId: tc.id, name: fn.name, input: toolArguments(fn.arguments, i) } }]);
      }
      push('assistant', blocks);
    } else if (msg.role === 'tool' || msg.role === 'function') {
      const text = typeof msg.content === 'string' ? msg.content : textOf(msg.content);
      push('user', [{ toolResult: { toolUseId: msg.tool_call_id ?? msg.name, content: [{ text: text || ' ' }] } }]);
    } else {
      throw badRequest(`messages[${i}].role: unknown role ${JSON.stringify(msg.role)}`, 'messages');
    }
  }
  const request: JsonObject = { messages };
  if (system.length) request.system = system;
  const inference: JsonObject = {};
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (typeof maxTokens === 'number') inference.maxTokens = maxTokens;
  if (typeof body.temperature === 'number') inference.temperature = body.temperature;
  if (typeof body.top_p === 'number') inference.topP = body.top_p;
  if (body.stop != null) inference.stopSequences = Array.isArray(body.stop) ? body.stop : [body.stop];
  if (Object.keys(inference).length) request.inferenceConfig = inference;
  const jsonSchema = jsonModeSchema(body.response_format);
  const tools = Array.isArray(body.tools) ? (body.tools as JsonObject[]).map(toolSpec) : [];
  let toolChoice = toolChoiceOf(body.tool_choice);
  if (jsonSchema) {
    tools.push({
      toolSpec: { name: JSON_TOOL, description: 'Respond with a JSON object.', inputSchema: { json: jsonSchema } },
    });
    toolChoice = { tool: { name: JSON_TOOL } };
  }
  if (tools.length) request.toolConfig = toolChoice ? { tools, toolChoice } : { tools };
  const extra: JsonObject = {};
  if (body.top_k !== undefined) extra.top_k = body.top_k;
  if (body.thinking !== undefined) extra.thinking = body.thinking;
  if (Object.keys(extra).length) request.additionalModelRequestFields = extra;
  return request;
}

async function contentBlocks(content: unknown, signal: AbortSignal): Promise<JsonObject[]> {
  if (content == null) return [];
  if (typeof content === 'string') return content.trim() === '' ? [] : [{ text: content }];
  if (!Array.isArray(content)) return [{ text: JSON.stringify(content) }];
  const out: JsonObject[] = [];
  for (const part of content as JsonObject[]) {
    if (part?.type === 'text' && typeof part.text === 'string') {
      if (part.text.trim() !== '') out.push({ text: part.text });
    } else if (part?.type === 'image_url') {
      const url = imageUrlOf(part);
      if (!url) throw badRequest('image_url: missing url', 'messages');
      const img = await loadImage(url, signal);
      const format = IMAGE_FORMATS[img.mimeType.toLowerCase()];
      if (!format)
        throw badRequest(`image_url: Bedrock takes png, jpeg, gif or webp images, not ${img.mimeType}`, 'messages');
      out.push({ image: { format, source: { bytes: img.data } } });
    }
  }
  return out;
}

function textOf(content: unknown): string {
  if (!Array.isArray(content)) return content == null ? '' : JSON.stringify(content);
  return (content as JsonObject[]).map((p) => (typeof p?.text === 'string' ? p.text : '')).join('');
}

function toolSpec(t: JsonObject, i: number): JsonObject {
  const fn = t?.function as JsonObject | undefined;
  if (t?.type !== 'function' || !fn || typeof fn.name !== 'string')
    throw badRequest(`tools[${i}]: expected {type: "function", function: {name, parameters}}`, 'tools');
  const spec: JsonObject = {
    name: fn.name,
    inputSchema: { json: fn.parameters ?? { type: 'object', properties: {} } },
  };
  if (typeof fn.description === 'string' && fn.description) spec.description = fn.description;
  return { toolSpec: spec };
}

function toolChoiceOf(tc: unknown): JsonObject | undefined {
  if (tc === 'required') return { any: {} };
  if (tc === 'auto') return { auto: {} };
  if (tc && typeof tc === 'object') {
    const name = ((tc as JsonObject).function as JsonObject | undefined)?.name;
    if (typeof name === 'string') return { tool: { name } };
  }
  return undefined; // 'none' or absent: Converse has no "none", the model decides
}

/** The schema of the forced JSON tool when `response_format` asks for JSON (undefined otherwise). */
export function jsonModeSchema(rf: unknown): JsonObject | undefined {
  if (!rf || typeof rf !== 'object') return undefined;
  const r = rf as JsonObject;
  if (r.type === 'json_object') return { type: 'object' };
  if (r.type === 'json_schema')
    return ((r.json_schema as JsonObject | undefined)?.schema as JsonObject | undefined) ?? { type: 'object' };
  return undefined;
}
