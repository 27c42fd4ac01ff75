/**
 * Embeddings on Bedrock through `InvokeModel`: Amazon Titan (`{inputText}` -> `{embedding,
 * inputTextTokenCount}`, one input per call) and Cohere (`{texts, input_type}` -> `{embeddings}`).
 */
import { embeddingList } from '../../embedding.js';
import { badRequest } from '../../errors.js';
import { estimatePromptTokens } from '../../tokens.js';
import { badUpstreamAnswer } from '../errors.js';
import type { JsonObject, OpenAIResponse } from '../types.js';

/** Which embedding family a model id belongs to (undefined: not an embedding model we know). */
export function embedFamily(modelId: string): 'titan' | 'cohere' | undefined {
  if (/amazon\.titan-embed/.test(modelId)) return 'titan';
  if (/cohere\.embed/.test(modelId)) return 'cohere';
  return undefined;
}

function inputs(body: JsonObject): string[] {
  const input = body.input;
  const list = Array.isArray(input) ? input : [input];
  if (list.length === 0 || !list.every((x) => typeof x === 'string'))
    throw badRequest('input: Bedrock embeddings take a string or a list of strings', 'input');
  return list as string[];
}

/** The InvokeModel body for an embeddings request. */
export function embedBody(modelId: string, body: JsonObject): string {
  const family = embedFamily(modelId);
  const texts = inputs(body);
  if (family === 'cohere') {
    return JSON.stringify({
      texts,
      input_type: typeof body.input_type === 'string' ? body.input_type : 'search_document',
    });
  }
  if (family !== 'titan')
    throw badRequest(
      `model: ${modelId} is not a Bedrock embedding model this proxy knows (amazon.titan-embed-*, cohere.embed-*)`,
      'model',
    );
  if (texts.length !== 1)
    throw badRequest('input: Amazon Titan embeds one text per request; send one input at a time', 'input');
  const out: JsonObject = { inputText: texts[0] };
  if (typeof body.dimensions === 'number' && /v2/.test(modelId)) out.dimensions = body.dimensions;
  return JSON.stringify(out);
}

/** The InvokeModel answer in the OpenAI list-of-embeddings shape. */
export function parseEmbedding(label: string, modelId: string, body: JsonObject, json: unknown): OpenAIResponse {
  const o = (json && typeof json === 'object' ? json : {}) as JsonObject;
  if (embedFamily(modelId) === 'cohere') {
    const e = o.embeddings;
    const vectors = Array.isArray(e) ? e : (e as JsonObject | undefined)?.float;
    if (!Array.isArray(vectors)) throw badUpstreamAnswer(label, 'an embeddings answer without "embeddings"');
    return embeddingList(vectors as number[][], modelId, body.encoding_format, estimatePromptTokens(body.input));
  }
  if (!Array.isArray(o.embedding)) throw badUpstreamAnswer(label, 'an embeddings answer without "embedding"');
  const tokens = typeof o.inputTextTokenCount === 'number' ? o.inputTextTokenCount : estimatePromptTokens(body.input);
  return embeddingList([o.embedding as number[]], modelId, body.encoding_format, tokens);
}
