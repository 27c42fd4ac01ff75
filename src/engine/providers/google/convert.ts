/**
 * OpenAI chat requests -> Gemini `generateContent` bodies (shared by Google AI Studio and Vertex AI):
 * system messages to `systemInstruction`, assistant to role `model`, parts for text, images
 * (`inlineData` for data URLs, `fileData` for URLs), `functionCall` / `functionResponse` for tool
 * calls and results, `tools[].functionDeclarations`, `toolConfig`, and `generationConfig`.
 */
import { badRequest } from '../../errors.js';
import { toolArguments } from '../params.js';
import type { JsonObject } from '../types.js';
import { imageUrlOf, mimeOfUrl, parseDataUrl } from './media.js';

/** Build the generateContent body for a chat request. */
export function geminiBody(body: JsonObject): JsonObject {
  if (!Array.isArray(body.messages)) throw badRequest('messages: expected a list of messages', 'messages');
  const system: JsonObject[] = [];
  const contents: { role: string; parts: JsonObject[] }[] = [];
  const toolNames = new Map<string, string>();
  const push = (role: string, parts: JsonObject[]) => {
    if (parts.length === 0) return;
    const last = contents.at(-1);
    // Gemini wants turns to alternate; parallel function responses belong in one turn
    if (last && last.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };
  for (const [i, m] of (body.messages as unknown[]).entries()) {
    if (!m || typeof m !== 'object') throw badRequest(`messages[${i}]: expected an object`, 'messages');
    const msg = m as JsonObject;
    if (msg.role === 'system' || msg.role === 'developer')
      system.push(...partsOf(msg.content).filter((p) => typeof p.text === 'string'));
    else if (msg.role === 'user') push('user', partsOf(msg.content));
    else if (msg.role === 'assistant') {
      const parts = partsOf(msg.content);
      for (const tc of Array.isArray(msg.tool_calls) ? (msg.tool_calls as JsonObject[]) : []) {
        const fn = (tc.function ?? {}) as JsonObject;
        if (typeof tc.id === 'string' && typeof fn.name === 'string') toolNames.set(tc.id, fn.name);
        parts.push({ functionCall: { name: fn.name, args: toolArguments(fn.arguments, i) } });
      }
      push('model', parts);
    } else if (msg.role === 'tool' || msg.role === 'function') {
      const name = (typeof msg.tool_call_id === 'string' && toolNames.get(msg.tool_call_id)) || msg.name;
      if (typeof name !== 'string')
        throw badRequest(`messages[${i}]: a tool result whose tool_call_id matches no earlier tool call`, 'messages');
      const text =
        typeof msg.content === 'string'
          ? msg.content
          : partsOf(msg.content)
              .map((p) => p.text ?? '')
              .join('');
      push('user', [{ functionResponse: { name, response: { content: jsonOrText(text) } } }]);
    } else throw badRequest(`messages[${i}].role: unknown role ${JSON.stringify(msg.role)}`, 'messages');
  }
  const out: JsonObject = { contents };
  if (system.length) out.systemInstruction = { parts: system };
  if (Array.isArray(body.tools) && body.tools.length) {
    out.tools = [{ functionDeclarations: (body.tools as JsonObject[]).map(declaration) }];
    const tc = toolConfig(body.tool_choice);
    if (tc) out.toolConfig = { functionCallingConfig: tc };
  }
  const gen = generationConfig(body);
  if (Object.keys(gen).length) out.generationConfig = gen;
  if (Array.isArray(body.safety_settings)) out.safetySettings = body.safety_settings;
  return out;
}

function partsOf(content: unknown): JsonObject[] {
  if (content == null) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  if (!Array.isArray(content)) return [{ text: JSON.stringify(content) }];
  const out: JsonObject[] = [];
  for (const part of content as JsonObject[]) {
    if (part?.type === 'text' && typeof part.text === 'string') out.push({ text: part.text });
    else if (part?.type === 'image_url') {
      const url = imageUrlOf(part);
      if (!url) throw badRequest('image_url: missing url', 'messages');
      const inline = parseDataUrl(url);
      const format = (part.image_url as JsonObject | undefined)?.format;
      out.push(
        inline
          ? { inlineData: inline }
          : { fileData: { mimeType: typeof format === 'string' ? format : mimeOfUrl(url), fileUri: url } },
      );
    }
  }
  return out;
}

function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function declaration(t: JsonObject, i: number): JsonObject {
  const fn = t?.function as JsonObject | undefined;
  if (t?.type !== 'function' || !fn || typeof fn.name !== 'string')
    throw badRequest(`tools[${i}]: expected {type: "function", function: {name, parameters}}`, 'tools');
  const d: JsonObject = { name: fn.name };
  if (typeof fn.description === 'string' && fn.description) d.description = fn.description;
  const params = fn.parameters as JsonObject | undefined;
  // Gemini rejects an object schema with no properties
  if (
    params &&
    !(params.type === 'object' && (!params.properties || Object.keys(params.properties as JsonObject).length === 0))
  )
    d.parameters = cleanSchema(params);
  return d;
}

function toolConfig(tc: unknown): JsonObject | undefined {
  if (tc === 'auto') return { mode: 'AUTO' };
  if (tc === 'none') return { mode: 'NONE' };
  if (tc === 'required') return { mode: 'ANY' };
  const name = tc && typeof tc === 'object' ? ((tc as JsonObject).function as JsonObject | undefined)?.name : undefined;
  return typeof name === 'string' ? { mode: 'ANY', allowedFunctionNames: [name] } : undefined;
}

function generationConfig(b: JsonObject): JsonObject {
  const g: JsonObject = {};
  if (typeof b.temperature === 'number') g.temperature = b.temperature;
  if (typeof b.top_p === 'number') g.topP = b.top_p;
  if (typeof b.top_k === 'number') g.topK = b.top_k;
  const max = b.max_completion_tokens ?? b.max_tokens;
  if (typeof max === 'number') g.maxOutputTokens = max;
  if (b.stop != null) g.stopSequences = Array.isArray(b.stop) ? b.stop : [b.stop];
  if (typeof b.seed === 'number') g.seed = b.seed;
  if (typeof b.n === 'number' && b.n > 1) g.candidateCount = b.n;
  if (typeof b.presence_penalty === 'number') g.presencePenalty = b.presence_penalty;
  if (typeof b.frequency_penalty === 'number') g.frequencyPenalty = b.frequency_penalty;
  const rf = b.response_format as JsonObject | undefined;
  if (rf?.type === 'json_object' || rf?.type === 'json_schema') {
    g.responseMimeType = 'application/json';
    const schema = (rf.json_schema as JsonObject | undefined)?.schema;
    if (schema && typeof schema === 'object') g.responseSchema = cleanSchema(schema as JsonObject);
  }
  return g;
}

// JSON Schema keywords Gemini's OpenAPI-subset Schema refuses
const DROP = new Set(['additionalProperties', '$schema', '$id', 'strict', 'examples', '$comment']);

/** A JSON schema with the keywords Gemini rejects removed, recursively. */
export function cleanSchema(s: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(s)) {
    if (DROP.has(k)) continue;
    if (Array.isArray(v)) out[k] = v.map((x) => (x && typeof x === 'object' ? cleanSchema(x as JsonObject) : x));
    else out[k] = v && typeof v === 'object' ? cleanSchema(v as JsonObject) : v;
  }
  return out;
}
