/**
 * Cached answers in and out: a stream is assembled into the whole answer it amounts to (so a stream and a
 * whole answer share an entry), a cached answer is replayed as stream chunks for a client that asked for a
 * stream, and empty answers are recognised (they are never cached: a retry would get the empty one again).
 */
import type { EndpointKind, JsonObject, OpenAIChunk } from '../wire.js';

const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

/** True when the answer carries something: a choice with text or tool calls, or an embedding. */
export function hasContent(kind: EndpointKind, r: JsonObject): boolean {
  if (kind === 'embedding') return Array.isArray(r.data) && r.data.length > 0;
  if (!Array.isArray(r.choices)) return false;
  for (const c of r.choices) {
    if (!isObject(c)) continue;
    if (kind === 'completion') {
      if (typeof c.text === 'string' && c.text !== '') return true;
      continue;
    }
    const m = c.message;
    if (!isObject(m)) continue;
    if (typeof m.content === 'string' ? m.content !== '' : Array.isArray(m.content) && m.content.length > 0)
      return true;
    if (Array.isArray(m.tool_calls) && m.tool_calls.length > 0) return true;
    if (isObject(m.function_call)) return true;
  }
  return false;
}

interface ToolAcc {
  id?: string;
  type?: string;
  name: string;
  args: string;
}

interface ChoiceAcc {
  role?: string;
  text: string;
  reasoning: string;
  tools: ToolAcc[];
  finish: unknown;
}

/** Collects a stream's chunks (as they pass to the client) into the whole answer they make. */
export class StreamAssembler {
  private readonly choices = new Map<number, ChoiceAcc>();
  private head?: OpenAIChunk;
  private usage?: unknown;
  private fingerprint?: unknown;

  constructor(private readonly kind: EndpointKind) {}

  add(batch: readonly OpenAIChunk[]): void {
    for (const c of batch) {
      if (this.head === undefined && typeof c.id === 'string') this.head = c;
      if (c.usage !== undefined && c.usage !== null) this.usage = c.usage;
      if (c.system_fingerprint !== undefined) this.fingerprint = c.system_fingerprint;
      if (!Array.isArray(c.choices)) continue;
      for (const ch of c.choices) {
        if (!isObject(ch)) continue;
        const i = typeof ch.index === 'number' ? ch.index : 0;
        let a = this.choices.get(i);
        if (a === undefined) this.choices.set(i, (a = { text: '', reasoning: '', tools: [], finish: null }));
        if (ch.finish_reason !== undefined && ch.finish_reason !== null) a.finish = ch.finish_reason;
        if (this.kind === 'completion') {
          if (typeof ch.text === 'string') a.text += ch.text;
          continue;
        }
        const d = ch.delta;
        if (!isObject(d)) continue;
        if (typeof d.role === 'string') a.role = d.role;
        if (typeof d.content === 'string') a.text += d.content;
        if (typeof d.reasoning_content === 'string') a.reasoning += d.reasoning_content;
        if (Array.isArray(d.tool_calls)) for (const t of d.tool_calls) if (isObject(t)) addTool(a, t);
      }
    }
  }

  /** The whole answer (chat.completion or text_completion). */
  answer(): JsonObject {
    const h = this.head ?? {};
    const choices = [...this.choices.entries()]
      .sort((x, y) => x[0] - y[0])
      .map(([index, a]) => {
        if (this.kind === 'completion') return { index, text: a.text, logprobs: null, finish_reason: a.finish };
        const message: JsonObject = { role: a.role ?? 'assistant', content: a.text === '' ? null : a.text };
        if (a.reasoning !== '') message.reasoning_content = a.reasoning;
        if (a.tools.length > 0)
          message.tool_calls = a.tools.map((t) => ({
            id: t.id,
            type: t.type ?? 'function',
            function: { name: t.name, arguments: t.args },
          }));
        return { index, message, finish_reason: a.finish };
      });
    const out: JsonObject = {
      id: h.id,
      object: this.kind === 'completion' ? 'text_completion' : 'chat.completion',
      created: h.created,
      model: h.model,
      choices,
    };
    if (this.fingerprint !== undefined) out.system_fingerprint = this.fingerprint;
    if (this.usage !== undefined) out.usage = this.usage;
    return out;
  }
}

function addTool(a: ChoiceAcc, t: JsonObject): void {
  const i = typeof t.index === 'number' ? t.index : a.tools.length;
  let acc = a.tools[i];
  if (acc === undefined) a.tools[i] = acc = { name: '', args: '' };
  if (typeof t.id === 'string') acc.id = t.id;
  if (typeof t.type === 'string') acc.type = t.type;
  const f = t.function;
  if (isObject(f)) {
    if (typeof f.name === 'string') acc.name += f.name;
    if (typeof f.arguments === 'string') acc.args += f.arguments;
  }
}

/**
 * A whole answer as stream chunks: per choice, the message (role, text, reasoning, tool calls) in one delta,
 * then its finish reason; then a usage chunk (`choices: []`) when the answer has usage. The framing drops the
 * usage chunk for clients that did not ask for it, as it does for upstream streams.
 */
export function replayChunks(kind: EndpointKind, r: JsonObject): OpenAIChunk[][] {
  const object = kind === 'completion' ? 'text_completion' : 'chat.completion.chunk';
  const head = { id: r.id, object, created: r.created, model: r.model };
  const fp = r.system_fingerprint !== undefined ? { system_fingerprint: r.system_fingerprint } : {};
  const out: OpenAIChunk[] = [];
  for (const c of Array.isArray(r.choices) ? r.choices : []) {
    if (!isObject(c)) continue;
    const index = typeof c.index === 'number' ? c.index : 0;
    if (kind === 'completion') {
      out.push({ ...head, ...fp, choices: [{ index, text: c.text ?? '', logprobs: null, finish_reason: null }] });
      out.push({
        ...head,
        ...fp,
        choices: [{ index, text: '', logprobs: null, finish_reason: c.finish_reason ?? 'stop' }],
      });
      continue;
    }
    const m = isObject(c.message) ? c.message : {};
    const delta: JsonObject = { role: m.role ?? 'assistant', content: m.content ?? null };
    if (m.reasoning_content !== undefined) delta.reasoning_content = m.reasoning_content;
    if (Array.isArray(m.tool_calls))
      delta.tool_calls = m.tool_calls.map((t, i) => (isObject(t) ? { index: i, ...t } : t));
    if (m.function_call !== undefined) delta.function_call = m.function_call;
    out.push({ ...head, ...fp, choices: [{ index, delta, logprobs: null, finish_reason: null }] });
    out.push({
      ...head,
      ...fp,
      choices: [{ index, delta: {}, logprobs: null, finish_reason: c.finish_reason ?? 'stop' }],
    });
  }
  if (r.usage !== undefined && r.usage !== null) out.push({ ...head, choices: [], usage: r.usage });
  return [out];
}
