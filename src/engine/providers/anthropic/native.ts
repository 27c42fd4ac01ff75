/**
 * What the Anthropic-native deployments (Anthropic, Claude on Bedrock, Claude on Vertex AI) share when a
 * Messages request goes through untranslated: the body, the OpenAI view of the answer, and the stream
 * decoder that hands the client the upstream's SSE text while reading usage from it.
 */
import { RAW_TEXT } from '../../wire.js';
import type { JsonObject, MessagesCall, OpenAIChunk, OpenAIResponse, StreamDecoder } from '../types.js';
import { parseAnthropicResponse } from './response.js';
import { AnthropicStreamDecoder } from './stream.js';

/** The OpenAI view of a Messages answer (usage, content for logs). */
export function nativeView(label: string, model: string, json: unknown): OpenAIResponse {
  return parseAnthropicResponse(label, model, json);
}

/**
 * The body for a cloud that names the model in the URL and the API version in the body (Bedrock's
 * `bedrock-2023-05-31`, Vertex's `vertex-2023-10-16`): no `model`, `stream` only where the cloud takes it.
 */
export function cloudBody(call: MessagesCall, version: string, keepStream: boolean, betaInBody: boolean): JsonObject {
  const out: JsonObject = { anthropic_version: version };
  for (const k in call.body) if (k !== 'model' && (keepStream || k !== 'stream')) out[k] = call.body[k];
  if (betaInBody && call.beta) {
    const betas = call.beta
      .split(',')
      .map((b) => b.trim())
      .filter((b) => b !== '');
    if (betas.length > 0) out.anthropic_beta = betas;
  }
  return out;
}

/**
 * One stream: `toText` turns the upstream's bytes into Anthropic SSE text (the identity, as UTF-8, for
 * Anthropic and Vertex; Bedrock's event-stream frames decoded), which goes to the client untouched; the
 * same text is decoded into OpenAI chunks for usage and logs. Each batch carries its text under RAW_TEXT on
 * its first chunk (a carrier chunk with an empty delta when the text made none, e.g. a `ping`).
 */
export class NativeStreamDecoder implements StreamDecoder {
  private readonly inner: AnthropicStreamDecoder;
  private readonly utf8 = new TextDecoder();

  constructor(
    label: string,
    model: string,
    private readonly toText?: (bytes: Uint8Array) => string,
  ) {
    this.inner = new AnthropicStreamDecoder(label, model);
  }

  push(bytes: Uint8Array): OpenAIChunk[] {
    if (this.toText) {
      const text = this.toText(bytes);
      return text === '' ? [] : carry(this.inner.push(Buffer.from(text, 'utf8')), text);
    }
    const text = this.utf8.decode(bytes, { stream: true });
    return carry(this.inner.push(bytes), text);
  }

  end(): OpenAIChunk[] {
    const tail = this.toText ? '' : this.utf8.decode();
    return carry(this.inner.end(), tail);
  }
}

function carry(chunks: OpenAIChunk[], text: string): OpenAIChunk[] {
  if (text === '') return chunks;
  // an empty delta reads as a preamble (message_start, ping: the first-token gate keeps waiting); a content
  // block the translation has no chunk for (a server tool's use or result) is content for the client
  const delta = text.includes('content_block_') ? { native: true } : {};
  const first = chunks[0] ?? { object: 'chat.completion.chunk', choices: [{ index: 0, delta }] };
  (first as Record<symbol, unknown>)[RAW_TEXT] = text;
  return chunks.length > 0 ? chunks : [first];
}

/** `{"input_tokens": n}` (Anthropic, Vertex) or `{"inputTokens": n}` (Bedrock CountTokens). */
export function readCount(json: unknown): number | undefined {
  if (!json || typeof json !== 'object') return undefined;
  const o = json as JsonObject;
  const n = o.input_tokens ?? o.inputTokens;
  return typeof n === 'number' ? n : undefined;
}
