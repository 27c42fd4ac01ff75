/** Imagen on Vertex AI: `POST .../models/{model}:predict` with `instances[].prompt`, images back as base64. */
import { imagesAnswer } from '../../media/responses.js';
import { badUpstreamAnswer } from '../errors.js';
import type { CallContext, JsonObject, OpenAIResponse } from '../types.js';

/** The Imagen aspect ratio closest to an OpenAI `size` (`1792x1024` -> `16:9`). */
function aspectRatio(size: unknown): string | undefined {
  const m = typeof size === 'string' ? /^(\d+)x(\d+)$/.exec(size) : null;
  if (!m) return undefined;
  const want = Number(m[1]) / Number(m[2]);
  let best = '1:1';
  let diff = Number.POSITIVE_INFINITY;
  for (const r of ['1:1', '9:16', '16:9', '3:4', '4:3']) {
    const [a, b] = r.split(':').map(Number);
    const d = Math.abs(a / b - want);
    if (d < diff) [best, diff] = [r, d];
  }
  return best;
}

/** An OpenAI image request as an Imagen `:predict` body. */
export function imagenBody(b: JsonObject): string {
  const parameters: JsonObject = { sampleCount: typeof b.n === 'number' ? b.n : 1 };
  const ratio = typeof b.aspect_ratio === 'string' ? b.aspect_ratio : aspectRatio(b.size);
  if (ratio) parameters.aspectRatio = ratio;
  if (typeof b.negative_prompt === 'string') parameters.negativePrompt = b.negative_prompt;
  if (typeof b.seed === 'number') parameters.seed = b.seed;
  return JSON.stringify({ instances: [{ prompt: b.prompt }], parameters });
}

/** Imagen's `predictions[]` (`bytesBase64Encoded`, `mimeType`) as OpenAI's image answer. */
export function parseImagen(label: string, call: CallContext, json: unknown): OpenAIResponse {
  const preds = (json as JsonObject | null)?.predictions;
  if (!Array.isArray(preds)) throw badUpstreamAnswer(label, 'an Imagen answer without "predictions"');
  const images = preds.map((p) => {
    const o = (p ?? {}) as JsonObject;
    if (typeof o.bytesBase64Encoded !== 'string') throw badUpstreamAnswer(label, 'a prediction without an image');
    return { b64: o.bytesBase64Encoded, mime: typeof o.mimeType === 'string' ? o.mimeType : undefined };
  });
  return imagesAnswer(call.body, images);
}
