/**
 * What the media endpoints (rerank, moderations, images, audio) bill by, and the two answers that are not
 * JSON: a transcription asked for as text / srt / vtt, and speech (audio bytes, streamed).
 */
import { estimatePromptTokens } from '../tokens.js';
import type { TokenUsage } from '../upstream/result.js';
import type { EndpointKind, JsonObject, OpenAIChunk, StreamDecoder } from '../wire.js';

/** Kinds whose usage is more than tokens. */
export function isMediaKind(kind: string | undefined): boolean {
  return (
    kind === 'rerank' ||
    kind === 'moderation' ||
    kind === 'image_generation' ||
    kind === 'audio_transcription' ||
    kind === 'audio_speech'
  );
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
const obj = (v: unknown): JsonObject | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject) : undefined;

/**
 * One media call's usage: the tokens the answer reports in whatever shape the endpoint has (`input_tokens` /
 * `output_tokens` for images and gpt-4o transcriptions, Cohere's `meta.billed_units`, Jina's `usage`), plus the
 * units the per-unit prices bill (images made, rerank queries, characters spoken, seconds transcribed).
 * `response` is the answer (undefined for a stream); `reported` what the generic reader found in `usage`.
 */
export function mediaUsage(
  kind: EndpointKind,
  body: JsonObject | undefined,
  response: JsonObject | undefined,
  reported: TokenUsage | undefined,
): TokenUsage {
  const u: TokenUsage = reported
    ? { ...reported }
    : { prompt: 0, completion: 0, total: 0, cached: 0, cacheCreation: 0, reasoning: 0 };
  const usage = obj(response?.usage);
  if (usage && !reported?.total) {
    // the Responses-style names images and gpt-4o transcriptions use
    u.prompt = num(usage.input_tokens) ?? num(usage.prompt_tokens) ?? 0;
    u.completion = num(usage.output_tokens) ?? num(usage.completion_tokens) ?? 0;
    u.total = num(usage.total_tokens) ?? u.prompt + u.completion;
  }
  switch (kind) {
    case 'rerank': {
      const meta = obj(response?.meta);
      const billed = obj(meta?.billed_units);
      const tokens = obj(meta?.tokens);
      u.queries = num(billed?.search_units) ?? 1;
      if (!u.total) {
        u.prompt = num(tokens?.input_tokens) ?? num(billed?.total_tokens) ?? 0;
        u.total = u.prompt;
      }
      break;
    }
    case 'moderation':
      if (!u.total && body) u.prompt = u.total = estimatePromptTokens(body.input);
      break;
    case 'image_generation': {
      const data = response?.data;
      u.images = Array.isArray(data) ? data.length : 0;
      break;
    }
    case 'audio_transcription': {
      const seconds = num(response?.duration) ?? (usage?.type === 'duration' ? num(usage.seconds) : undefined);
      if (seconds !== undefined) u.seconds = seconds;
      break;
    }
    case 'audio_speech':
      if (body && typeof body.input === 'string') u.characters = body.input.length;
      break;
  }
  return u;
}

/** Transcription formats that are text, not JSON, and the content-type each goes back with. */
const TEXT_FORMATS: Record<string, string> = {
  text: 'text/plain; charset=utf-8',
  srt: 'text/plain; charset=utf-8',
  vtt: 'text/vtt; charset=utf-8',
};

/** The content-type of an answer that is text rather than JSON (a transcription in text / srt / vtt), or undefined. */
export function plainTextAnswer(kind: EndpointKind, body: JsonObject): string | undefined {
  if (kind !== 'audio_transcription') return undefined;
  const f = body.response_format;
  return typeof f === 'string' ? TEXT_FORMATS[f] : undefined;
}

/** The content-type of each speech format (OpenAI's `response_format`), for when the upstream gives none. */
const AUDIO_TYPES: Record<string, string> = {
  mp3: 'audio/mpeg',
  opus: 'audio/opus',
  aac: 'audio/aac',
  flac: 'audio/flac',
  wav: 'audio/wav',
  pcm: 'audio/pcm',
};

/** The content-type speech goes back with: the upstream's when it is audio, else the one its format implies. */
export function speechContentType(body: JsonObject, upstream: string | string[] | undefined): string {
  const u = Array.isArray(upstream) ? upstream[0] : upstream;
  // audio, or OpenAI's `stream_format: "sse"` events (relayed byte for byte like audio)
  if (u && /^(audio|application\/octet-stream|text\/event-stream)/i.test(u)) return u;
  const f = body.response_format;
  return (typeof f === 'string' && AUDIO_TYPES[f]) || 'audio/mpeg';
}

/** Speech: the upstream's bytes pass as they come, one `{bytes}` chunk per read (no framing to decode). */
export class BytesDecoder implements StreamDecoder {
  push(bytes: Uint8Array): OpenAIChunk[] {
    return bytes.length > 0 ? [{ bytes }] : [];
  }
  end(): OpenAIChunk[] {
    return [];
  }
}
