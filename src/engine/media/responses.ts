/**
 * The media endpoints' answers in the shapes clients expect: rerank as LiteLLM returns it (Cohere's shape:
 * `{id, results: [{index, relevance_score, document?}], meta: {billed_units}}`), moderations, images and
 * transcriptions as OpenAI returns them. Each provider adapter builds its answer with these.
 */
import { randomUUID } from 'node:crypto';
import { badUpstreamAnswer } from '../providers/errors.js';
import type { CallContext } from '../providers/types.js';
import type { JsonObject, OpenAIResponse } from '../wire.js';

const obj = (v: unknown): JsonObject | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject) : undefined;

/** The text of a rerank document as sent: a string, or an object's `text` (else the object as JSON). */
export function documentText(d: unknown): string {
  if (typeof d === 'string') return d;
  const o = obj(d);
  return o && typeof o.text === 'string' ? o.text : JSON.stringify(d);
}

/** One ranked result, as a provider reports it. */
export interface RankedResult {
  index: number;
  relevance_score: number;
}

/**
 * LiteLLM's rerank answer from a provider's ranked results: best first, `top_n` at most, each with the
 * document it ranks (`{text}`) when the request asked (`return_documents`, true unless false, as LiteLLM does
 * for Cohere v2, which no longer returns them), and `meta.billed_units` (search units; tokens when known).
 */
export function rerankAnswer(
  body: JsonObject,
  results: RankedResult[],
  billed: { search_units?: number; total_tokens?: number },
  /** the provider's id, else the request's (a mock makes one up) */
  id?: string,
): OpenAIResponse {
  const docs = body.documents as unknown[];
  const withDocs = body.return_documents !== false;
  const sorted = [...results].sort((a, b) => b.relevance_score - a.relevance_score);
  const top = body.top_n;
  const kept = typeof top === 'number' && top > 0 ? sorted.slice(0, top) : sorted;
  const out = kept.map((r) => {
    const e: JsonObject = { index: r.index, relevance_score: r.relevance_score };
    if (withDocs && Array.isArray(docs) && r.index >= 0 && r.index < docs.length)
      e.document = { text: documentText(docs[r.index]) };
    return e;
  });
  const meta: JsonObject = { billed_units: { search_units: billed.search_units ?? 1 } };
  if (billed.total_tokens !== undefined) {
    (meta.billed_units as JsonObject).total_tokens = billed.total_tokens;
    meta.tokens = { input_tokens: billed.total_tokens, output_tokens: 0 };
  }
  return { id: id ?? randomUUID(), results: out, meta };
}

/** A rerank answer in Cohere's or Jina's shape (`results[].relevance_score`, Cohere `meta` or Jina `usage`). */
export function parseRerank(label: string, call: CallContext, json: unknown): OpenAIResponse {
  const o = obj(json);
  const results = o?.results;
  if (!o || !Array.isArray(results)) throw badUpstreamAnswer(label, 'a rerank answer without "results"');
  const ranked: RankedResult[] = [];
  for (const r of results) {
    const e = obj(r);
    if (!e || typeof e.index !== 'number' || typeof e.relevance_score !== 'number')
      throw badUpstreamAnswer(label, 'a rerank result without "index" and "relevance_score"');
    ranked.push({ index: e.index, relevance_score: e.relevance_score });
  }
  const billed = obj(obj(o.meta)?.billed_units);
  const usage = obj(o.usage);
  const tokens = num(billed?.input_tokens) ?? num(billed?.total_tokens) ?? num(usage?.total_tokens);
  const billedUnits = { search_units: num(billed?.search_units), total_tokens: tokens };
  // Jina gives no id: the request's own then (no UUID per request)
  return rerankAnswer(call.body, ranked, billedUnits, typeof o.id === 'string' && o.id !== '' ? o.id : call.requestId);
}

/** An OpenAI moderation answer (`results[]`), checked. */
export function parseModeration(label: string, json: unknown): OpenAIResponse {
  const o = obj(json);
  if (!o || !Array.isArray(o.results)) throw badUpstreamAnswer(label, 'a moderation answer without "results"');
  return o;
}

/** An OpenAI image answer (`data[]`), checked; `created` filled in when left out. */
export function parseImages(label: string, json: unknown): OpenAIResponse {
  const o = obj(json);
  if (!o || !Array.isArray(o.data)) throw badUpstreamAnswer(label, 'an image answer without "data"');
  if (typeof o.created !== 'number') o.created = Math.floor(Date.now() / 1000);
  return o;
}

/**
 * Images a provider returns as base64 (Bedrock, Vertex Imagen), as OpenAI's answer: `b64_json` by default
 * (LiteLLM's default for them), or for `response_format: "url"` a `data:` URL, since the engine hosts no files.
 */
export function imagesAnswer(body: JsonObject, images: { b64: string; mime?: string }[]): OpenAIResponse {
  const url = body.response_format === 'url';
  return {
    created: Math.floor(Date.now() / 1000),
    data: images.map((i) => (url ? { url: `data:${i.mime ?? 'image/png'};base64,${i.b64}` } : { b64_json: i.b64 })),
  };
}

/** A JSON transcription answer (`json` / `verbose_json`: an object with `text`), checked. */
export function parseTranscription(label: string, json: unknown): OpenAIResponse {
  const o = obj(json);
  if (!o || typeof o.text !== 'string') throw badUpstreamAnswer(label, 'a transcription without "text"');
  return o;
}

/** The OpenAI-format answer of a media call (everything OpenAI, Azure, Groq and Jina-compatible APIs return). */
export function parseOpenAIMedia(label: string, call: CallContext, json: unknown): OpenAIResponse {
  switch (call.kind) {
    case 'rerank':
      return parseRerank(label, call, json);
    case 'moderation':
      return parseModeration(label, json);
    case 'image_generation':
      return parseImages(label, json);
    default:
      return parseTranscription(label, json);
  }
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
