/**
 * Embeddings on Google: AI Studio `:batchEmbedContents` (`{requests:[{model, content:{parts}}]}` ->
 * `{embeddings:[{values}]}`) and Vertex `:predict` (`{instances:[{content}]}` ->
 * `{predictions:[{embeddings:{values, statistics:{token_count}}}]}`).
 */
import { embeddingList } from '../../embedding.js';
import { badRequest } from '../../errors.js';
import { estimatePromptTokens } from '../../tokens.js';
import { badUpstreamAnswer } from '../errors.js';
import type { JsonObject, OpenAIResponse } from '../types.js';

function inputs(body: JsonObject): string[] {
  const list = Array.isArray(body.input) ? body.input : [body.input];
  if (list.length === 0 || !list.every((x) => typeof x === 'string'))
    throw badRequest('input: Google embeddings take a string or a list of strings', 'input');
  return list as string[];
}

/** Body for AI Studio's batchEmbedContents. */
export function batchEmbedBody(model: string, body: JsonObject): string {
  return JSON.stringify({
    requests: inputs(body).map((text) => ({
      model: `models/${model}`,
      content: { parts: [{ text }] },
      ...(typeof body.dimensions === 'number' ? { outputDimensionality: body.dimensions } : {}),
      ...(typeof body.task_type === 'string' ? { taskType: body.task_type } : {}),
    })),
  });
}

/** Body for Vertex's predict on a text-embedding model. */
export function predictEmbedBody(body: JsonObject): string {
  const out: JsonObject = {
    instances: inputs(body).map((content) =>
      typeof body.task_type === 'string' ? { content, task_type: body.task_type } : { content },
    ),
  };
  if (typeof body.dimensions === 'number') out.parameters = { outputDimensionality: body.dimensions };
  return JSON.stringify(out);
}

/** Either answer in the OpenAI list-of-embeddings shape. */
export function parseGoogleEmbedding(label: string, model: string, body: JsonObject, json: unknown): OpenAIResponse {
  const o = (json && typeof json === 'object' ? json : {}) as JsonObject;
  if (Array.isArray(o.embeddings)) {
    const vectors = (o.embeddings as JsonObject[]).map((e) => e?.values as number[]);
    if (!vectors.every(Array.isArray)) throw badUpstreamAnswer(label, 'embeddings without "values"');
    return embeddingList(vectors, model, body.encoding_format, estimatePromptTokens(body.input));
  }
  if (Array.isArray(o.predictions)) {
    let tokens = 0;
    const vectors = (o.predictions as JsonObject[]).map((p) => {
      const e = (p?.embeddings ?? {}) as JsonObject;
      const count = (e.statistics as JsonObject | undefined)?.token_count;
      if (typeof count === 'number') tokens += count;
      return e.values as number[];
    });
    if (!vectors.every(Array.isArray)) throw badUpstreamAnswer(label, 'predictions without "embeddings.values"');
    return embeddingList(vectors, model, body.encoding_format, tokens || estimatePromptTokens(body.input));
  }
  throw badUpstreamAnswer(label, 'an embeddings answer without "embeddings" or "predictions"');
}
