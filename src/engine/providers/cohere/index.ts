import { embeddingList } from '../../embedding.js';
import { badRequest } from '../../errors.js';
import { documentText, parseRerank } from '../../media/responses.js';
import { estimatePromptTokens } from '../../tokens.js';
import { badUpstreamAnswer, mapHttpError } from '../errors.js';
import { prepareOpenAIStyle } from '../openai-compatible/base.js';
import {
  type CallContext,
  defineProvider,
  type JsonObject,
  type ProviderAdapter,
  type UpstreamRequest,
} from '../types.js';
import { cohereChatBody, parseCohereChat } from './convert.js';
import { CohereStreamDecoder } from './stream.js';

interface CohereState {
  label: string;
  origin: string;
  /** path before `/v2/...` */
  basePath: string;
  apiBase: string;
  headers: Record<string, string>;
}

const LABEL = 'Cohere';

/** `/v2/embed` body: `texts`, `input_type` (search_document unless given), float embeddings. */
function embedBody(call: CallContext): JsonObject {
  const input = call.body.input;
  const texts = typeof input === 'string' ? [input] : input;
  if (!Array.isArray(texts) || !texts.every((t) => typeof t === 'string'))
    throw badRequest('input: Cohere embeds strings or lists of strings', 'input');
  const out: JsonObject = {
    model: call.model,
    texts,
    input_type: call.body.input_type ?? 'search_document',
    embedding_types: ['float'],
  };
  if (typeof call.body.dimensions === 'number') out.output_dimension = call.body.dimensions;
  if (call.body.truncate !== undefined) out.truncate = call.body.truncate;
  return out;
}

/** `/v2/rerank` body: the query, documents as text (v2 takes strings only), `top_n`, `max_tokens_per_doc`. */
function rerankBody(call: CallContext): JsonObject {
  const b = call.body;
  const out: JsonObject = {
    model: call.model,
    query: b.query,
    documents: (b.documents as unknown[]).map(documentText),
  };
  if (typeof b.top_n === 'number') out.top_n = b.top_n;
  const max = b.max_tokens_per_doc ?? b.max_chunks_per_doc;
  if (typeof max === 'number') out.max_tokens_per_doc = max;
  return out;
}

function parseEmbed(call: CallContext, json: unknown) {
  const o = (json ?? {}) as JsonObject;
  const vectors = ((o.embeddings ?? {}) as JsonObject).float;
  if (!Array.isArray(vectors)) throw badUpstreamAnswer(LABEL, 'an answer without "embeddings.float"');
  const billed = ((o.meta as JsonObject | undefined)?.billed_units ?? {}) as JsonObject;
  const prompt = typeof billed.input_tokens === 'number' ? billed.input_tokens : estimatePromptTokens(call.body.input);
  return embeddingList(vectors as number[][], call.model, call.body.encoding_format, prompt);
}

/**
 * Cohere through its v2 API: chat `POST /v2/chat` (SSE streams), embeddings `POST /v2/embed`, rerank `POST /v2/rerank`,
 * Bearer `COHERE_API_KEY`. Serves `cohere/<model>` and `cohere_chat/<model>` alike.
 */
export function cohereAdapter(id: 'cohere' | 'cohere_chat'): ProviderAdapter {
  return defineProvider<CohereState>({
    id,
    label: LABEL,
    endpoints: ['chat', 'embedding', 'rerank'],
    unsupportedParams: ['n', 'logit_bias', 'top_logprobs', 'user', 'parallel_tool_calls'],
    prepare(spec) {
      const s = prepareOpenAIStyle(spec, {
        label: LABEL,
        defaultApiBase: 'https://api.cohere.com',
        keyEnv: ['COHERE_API_KEY', 'CO_API_KEY'],
        baseEnv: ['COHERE_API_BASE'],
      });
      if (!s.headers.authorization)
        spec.warn?.('no API key: set litellm_params.api_key or COHERE_API_KEY (requests will be refused upstream)');
      // accept https://api.cohere.com, .../v1, .../v2 and .../v2/chat alike
      const basePath = s.basePath.split('?')[0].replace(/\/v[12](\/chat)?$/, '');
      return { ...s, basePath, apiBase: s.origin + basePath };
    },
    describe: (s) => ({ api_base: s.apiBase }),
    buildRequest(s, call): UpstreamRequest {
      if (call.kind === 'rerank') {
        const path = `${s.basePath}/v2/rerank`;
        return { origin: s.origin, path, method: 'POST', headers: s.headers, body: JSON.stringify(rerankBody(call)) };
      }
      const embed = call.kind === 'embedding';
      const body = embed ? embedBody(call) : cohereChatBody(call.body, call.model, call.stream);
      const headers = call.stream ? { ...s.headers, accept: 'text/event-stream' } : s.headers;
      return {
        origin: s.origin,
        path: `${s.basePath}/v2/${embed ? 'embed' : 'chat'}`,
        method: 'POST',
        headers,
        body: JSON.stringify(body),
      };
    },
    parseResponse: (s, call, json) =>
      call.kind === 'rerank'
        ? parseRerank(s.label, call, json)
        : call.kind === 'embedding'
          ? parseEmbed(call, json)
          : parseCohereChat(s.label, call.model, json),
    streamDecoder: (s, call) => new CohereStreamDecoder(s.label, call.model),
    // Cohere errors are {"message": ...}; its 498 "invalid token" is an auth failure
    mapError: (s, err) => mapHttpError(s.label, err.status === 498 ? { ...err, status: 401 } : err),
    healthRequest: (s) => ({
      origin: s.origin,
      path: `${s.basePath}/v1/models?page_size=1`,
      method: 'GET',
      headers: s.headers,
    }),
  });
}
