/**
 * Bedrock's media calls: rerank through the Agents runtime Rerank API (`POST /rerank` on
 * bedrock-agent-runtime, SigV4 service `bedrock`), image generation through InvokeModel with each model
 * family's own body (Stability SD3 / Stable Image, Stability SDXL, Amazon Titan Image and Nova Canvas).
 */
import { badRequest } from '../../errors.js';
import { documentText, imagesAnswer, type RankedResult, rerankAnswer } from '../../media/responses.js';
import { badUpstreamAnswer } from '../errors.js';
import type { CallContext, JsonObject, OpenAIResponse } from '../types.js';

const obj = (v: unknown): JsonObject | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject) : undefined;

/** The Rerank API body: one text query, the documents inline as text, the model by its ARN. */
export function rerankBody(b: JsonObject, region: string, modelId: string): string {
  const arn = modelId.startsWith('arn:') ? modelId : `arn:aws:bedrock:${region}::foundation-model/${modelId}`;
  const docs = b.documents as unknown[];
  const config: JsonObject = { modelConfiguration: { modelArn: arn } };
  // the API wants how many results to return; all of them unless top_n says fewer
  config.numberOfResults = typeof b.top_n === 'number' ? Math.min(b.top_n, docs.length) : docs.length;
  return JSON.stringify({
    queries: [{ type: 'TEXT', textQuery: { text: b.query } }],
    sources: docs.map((d) => ({
      type: 'INLINE',
      inlineDocumentSource: { type: 'TEXT', textDocument: { text: documentText(d) } },
    })),
    rerankingConfiguration: { type: 'BEDROCK_RERANKING_MODEL', bedrockRerankingConfiguration: config },
  });
}

/** The Rerank API's answer (`results[].index`, `relevanceScore`) as LiteLLM's rerank answer. */
export function parseRerankAnswer(label: string, call: CallContext, json: unknown): OpenAIResponse {
  const results = obj(json)?.results;
  if (!Array.isArray(results)) throw badUpstreamAnswer(label, 'a rerank answer without "results"');
  const ranked: RankedResult[] = results.map((r) => {
    const e = obj(r);
    if (!e || typeof e.index !== 'number' || typeof e.relevanceScore !== 'number')
      throw badUpstreamAnswer(label, 'a rerank result without "index" and "relevanceScore"');
    return { index: e.index, relevance_score: e.relevanceScore };
  });
  // one query per call: Bedrock bills rerank per query
  return rerankAnswer(call.body, ranked, { search_units: 1 }, call.requestId);
}

type ImageFamily = 'stability' | 'sdxl' | 'amazon';

/** The image body format of a model id (region prefixes such as `us.` allowed); undefined: not an image model. */
export function imageFamily(modelId: string): ImageFamily | undefined {
  const id = modelId.replace(/^(?:[a-z]{2}|global)\./, '');
  if (id.startsWith('stability.stable-diffusion-xl')) return 'sdxl';
  if (id.startsWith('stability.')) return 'stability';
  if (id.startsWith('amazon.titan-image') || id.startsWith('amazon.nova-canvas')) return 'amazon';
  return undefined;
}

/** `1024x768` -> [1024, 768]; undefined when absent or not that shape. */
function sizeOf(size: unknown): [number, number] | undefined {
  const m = typeof size === 'string' ? /^(\d+)x(\d+)$/.exec(size) : null;
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** An OpenAI image request as the model family's InvokeModel body. */
export function imageBody(modelId: string, b: JsonObject): string {
  const family = imageFamily(modelId);
  const n = typeof b.n === 'number' ? b.n : 1;
  const size = sizeOf(b.size);
  const seed = typeof b.seed === 'number' ? b.seed : undefined;
  switch (family) {
    case 'stability': {
      // SD3 / Stable Image: one image per call; the size is an aspect ratio
      if (n > 1) throw badRequest(`Invalid "n": ${modelId} makes one image per request.`, 'n', 'invalid_value');
      const out: JsonObject = { prompt: b.prompt, mode: 'text-to-image' };
      if (typeof b.aspect_ratio === 'string') out.aspect_ratio = b.aspect_ratio;
      else if (size) out.aspect_ratio = aspect(size);
      if (typeof b.negative_prompt === 'string') out.negative_prompt = b.negative_prompt;
      if (typeof b.output_format === 'string') out.output_format = b.output_format;
      if (seed !== undefined) out.seed = seed;
      return JSON.stringify(out);
    }
    case 'sdxl': {
      const out: JsonObject = { text_prompts: [{ text: b.prompt, weight: 1 }], samples: n };
      if (size) [out.width, out.height] = size;
      for (const k of ['cfg_scale', 'steps', 'style_preset'] as const) if (b[k] !== undefined) out[k] = b[k];
      if (seed !== undefined) out.seed = seed;
      return JSON.stringify(out);
    }
    case 'amazon': {
      const config: JsonObject = { numberOfImages: n };
      if (size) [config.width, config.height] = size;
      if (b.quality === 'hd' || b.quality === 'high' || b.quality === 'premium') config.quality = 'premium';
      else if (b.quality !== undefined) config.quality = 'standard';
      if (typeof b.cfg_scale === 'number') config.cfgScale = b.cfg_scale;
      if (seed !== undefined) config.seed = seed;
      const params: JsonObject = { text: b.prompt };
      if (typeof b.negative_prompt === 'string') params.negativeText = b.negative_prompt;
      return JSON.stringify({ taskType: 'TEXT_IMAGE', textToImageParams: params, imageGenerationConfig: config });
    }
    default:
      throw badRequest(
        `Bedrock image generation serves Stability (stability.*), Titan Image (amazon.titan-image-*) and ` +
          `Nova Canvas (amazon.nova-canvas-*) models, not ${JSON.stringify(modelId)}.`,
        'model',
      );
  }
}

/** The closest of Stability's aspect ratios to a width x height. */
function aspect([w, h]: [number, number]): string {
  const ratios = ['1:1', '16:9', '21:9', '2:3', '3:2', '4:5', '5:4', '9:16', '9:21'];
  const want = w / h;
  let best = '1:1';
  let diff = Number.POSITIVE_INFINITY;
  for (const r of ratios) {
    const [a, c] = r.split(':').map(Number);
    const d = Math.abs(a / c - want);
    if (d < diff) [best, diff] = [r, d];
  }
  return best;
}

/** The family's answer (`images[]`, SDXL `artifacts[].base64`) as OpenAI's image answer. */
export function parseImageAnswer(label: string, call: CallContext, modelId: string, json: unknown): OpenAIResponse {
  const o = obj(json);
  if (!o) throw badUpstreamAnswer(label, 'an image answer that is not an object');
  if (typeof o.error === 'string' && o.error !== '') throw badUpstreamAnswer(label, `an image error: ${o.error}`);
  let images: unknown[] | undefined;
  if (imageFamily(modelId) === 'sdxl')
    images = Array.isArray(o.artifacts) ? o.artifacts.map((a) => obj(a)?.base64) : undefined;
  else images = Array.isArray(o.images) ? o.images : undefined;
  if (!images?.every((i) => typeof i === 'string'))
    throw badUpstreamAnswer(label, 'an image answer without base64 images');
  const format = call.body.output_format;
  const mime = typeof format === 'string' ? `image/${format === 'jpg' ? 'jpeg' : format}` : 'image/png';
  return imagesAnswer(
    call.body,
    (images as string[]).map((b64) => ({ b64, mime })),
  );
}
