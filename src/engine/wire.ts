/**
 * The engine's wire types: what clients send and get (OpenAI shapes), what goes upstream, and the
 * incremental stream decoder contract. Everything in the engine imports these from here; the
 * provider adapter contract (providers/types.ts) builds on them.
 */

/**
 * What a client asked for: `/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`, and the media endpoints
 * (`/v1/rerank`, `/v1/moderations`, `/v1/images/generations`, `/v1/audio/transcriptions`, `/v1/audio/speech`),
 * named as LiteLLM's `model_info.mode` names them.
 */
export const ENDPOINT_KINDS = [
  'chat',
  'completion',
  'embedding',
  'rerank',
  'moderation',
  'image_generation',
  'audio_transcription',
  'audio_speech',
] as const;
export type EndpointKind = (typeof ENDPOINT_KINDS)[number];
/** The endpoint kinds served by endpoints/media.ts. */
export type MediaKind = Exclude<EndpointKind, 'chat' | 'completion' | 'embedding'>;

/** A JSON object as parsed from a request or response body. */
export type JsonObject = Record<string, unknown>;

/** OpenAI-format response objects (chat.completion, text_completion, list of embeddings). */
export type OpenAIResponse = JsonObject;
/** One OpenAI-format stream chunk (chat.completion.chunk or text_completion chunk). */
export type OpenAIChunk = JsonObject;

/** Usage in OpenAI shape; always present on what the engine returns. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  [k: string]: unknown;
}

/** What the engine sends upstream. `origin` is fixed per deployment so its pool is found by a Map lookup. */
export interface UpstreamRequest {
  /** `https://api.groq.com` (scheme, host, port; no path) */
  origin: string;
  /** path with query, e.g. `/openai/v1/chat/completions` */
  path: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

/**
 * On a stream chunk: the text the client gets as is for the upstream bytes that produced it (a stream passed
 * through without translation, e.g. Anthropic Messages to an Anthropic-native deployment).
 */
export const RAW_TEXT: unique symbol = Symbol('raw text');

/** Incremental stream decoder: bytes in (any framing), OpenAI chunk objects out. Never buffers a whole stream. */
export interface StreamDecoder {
  /** Feed the next bytes; returns the chunks they completed (possibly none). Throws GatewayError on an error event. */
  push(bytes: Uint8Array): OpenAIChunk[];
  /**
   * The upstream ended; returns what is left, which must include a final usage chunk
   * (`choices: []` + `usage`) when the upstream gave usage. Throws GatewayError if the stream was cut short.
   */
  end(): OpenAIChunk[];
}
