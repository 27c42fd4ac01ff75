import { randomUUID } from 'node:crypto';
import { embeddingList } from './embedding.js';
import { type ErrorClass, GatewayError } from './errors.js';
import { imagesAnswer, rerankAnswer } from './media/responses.js';
import { isMediaKind } from './media/units.js';
import { contentText, estimateChatPromptTokens, estimatePromptTokens, estimateTokens, usageOf } from './tokens.js';
import type { EndpointKind, JsonObject, OpenAIChunk, OpenAIResponse } from './wire.js';

/**
 * `mock_response` (in litellm_params or the request body): answer without any upstream call,
 * streamed too, with estimated usage. The offline default for demos and the README quick start.
 * Like LiteLLM, `litellm.RateLimitError` (and friends) as the text raise that error instead.
 */
const MOCK_ERRORS: Record<string, [number, ErrorClass, string]> = {
  RateLimitError: [429, 'rate_limit', 'rate_limit_exceeded'],
  AuthenticationError: [401, 'auth', 'invalid_api_key'],
  PermissionDeniedError: [403, 'permission', '403'],
  NotFoundError: [404, 'not_found', 'model_not_found'],
  BadRequestError: [400, 'bad_request', '400'],
  ContextWindowExceededError: [400, 'context_window', 'context_length_exceeded'],
  ContentPolicyViolationError: [400, 'content_policy', 'content_policy_violation'],
  InternalServerError: [500, 'upstream', '500'],
  APIConnectionError: [502, 'connection', 'api_connection_error'],
  ServiceUnavailableError: [503, 'overloaded', '503'],
  Timeout: [408, 'timeout', 'timeout'],
};

function mockError(text: string): GatewayError | undefined {
  const m = /^litellm\.(\w+)$/.exec(text.trim());
  const spec = m ? MOCK_ERRORS[m[1]] : text === 'exception' ? MOCK_ERRORS.InternalServerError : undefined;
  if (!spec) return undefined;
  return new GatewayError(spec[0], {
    message: `mock_response: ${m ? m[1] : 'exception'}`,
    errorClass: spec[1],
    code: spec[2],
    provider: 'mock',
  });
}

/** A complete (non-stream) answer in OpenAI shape. */
export function mockResponse(
  kind: EndpointKind,
  body: JsonObject,
  mock: string | JsonObject,
  model: string,
): OpenAIResponse {
  const created = Math.floor(Date.now() / 1000);
  if (isMediaKind(kind)) return mockMedia(kind, body, mock);
  if (typeof mock === 'object') {
    // a whole response object: fill in what it leaves out
    const r: JsonObject = { id: `chatcmpl-${randomUUID()}`, object: 'chat.completion', created, model, ...mock };
    if (!r.usage)
      r.usage = usageOf(
        kind === 'chat' ? estimateChatPromptTokens(body) : estimatePromptTokens(body.prompt ?? body.input),
        0,
      );
    return r;
  }
  const err = mockError(mock);
  if (err) throw err;
  const n = typeof body.n === 'number' && body.n > 1 ? Math.min(Math.floor(body.n), 128) : 1;
  if (kind === 'embedding') return mockEmbeddings(body, model);
  const completion = estimateTokens(mock) * n;
  if (kind === 'completion') {
    return {
      id: `cmpl-${randomUUID()}`,
      object: 'text_completion',
      created,
      model,
      choices: Array.from({ length: n }, (_, index) => ({ index, text: mock, finish_reason: 'stop', logprobs: null })),
      usage: usageOf(estimatePromptTokens(body.prompt), completion),
    };
  }
  return {
    id: `chatcmpl-${randomUUID()}`,
    object: 'chat.completion',
    created,
    model,
    system_fingerprint: null,
    choices: Array.from({ length: n }, (_, index) => ({
      index,
      message: { role: 'assistant', content: mock },
      finish_reason: 'stop',
      logprobs: null,
    })),
    usage: usageOf(estimateChatPromptTokens(body), completion),
  };
}

/** The same answer as a stream of chunks: role, one chunk per word, finish, usage. */
export function mockChunks(
  kind: EndpointKind,
  body: JsonObject,
  mock: string | JsonObject,
  model: string,
): OpenAIChunk[] {
  // speech: the mock's text as the audio bytes
  if (kind === 'audio_speech') {
    if (typeof mock === 'string' && mockError(mock)) throw mockError(mock);
    return [{ bytes: Buffer.from(typeof mock === 'string' ? mock : JSON.stringify(mock)) }];
  }
  const full = mockResponse(kind, body, mock, model);
  const id = String(full.id);
  const created = full.created as number;
  const chat = kind === 'chat';
  const object = chat ? 'chat.completion.chunk' : 'text_completion';
  const out: OpenAIChunk[] = [];
  const chunk = (choice: JsonObject): OpenAIChunk => ({ id, object, created, model, choices: [choice] });
  for (const c of (full.choices ?? []) as JsonObject[]) {
    const index = c.index as number;
    const text = chat ? contentText((c.message as JsonObject | undefined)?.content) : String(c.text ?? '');
    if (chat) out.push(chunk({ index, delta: { role: 'assistant', content: '' }, finish_reason: null }));
    for (const piece of text.match(/\s*\S+\s*/g) ?? [text]) {
      out.push(
        chunk(
          chat
            ? { index, delta: { content: piece }, finish_reason: null }
            : { index, text: piece, finish_reason: null, logprobs: null },
        ),
      );
    }
    const fr = c.finish_reason ?? 'stop';
    out.push(
      chunk(chat ? { index, delta: {}, finish_reason: fr } : { index, text: '', finish_reason: fr, logprobs: null }),
    );
  }
  out.push({ id, object, created, model, choices: [], usage: full.usage });
  return out;
}

/** Deterministic unit vectors seeded by the input text, so the same text always embeds the same. */
function mockEmbeddings(body: JsonObject, model: string): OpenAIResponse {
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const dims = typeof body.dimensions === 'number' && body.dimensions > 0 ? Math.min(body.dimensions, 8192) : 1536;
  const vectors = inputs.map((inp) => {
    let h = 2166136261;
    for (const ch of typeof inp === 'string' ? inp : JSON.stringify(inp)) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
    const v = new Array<number>(dims);
    let norm = 0;
    for (let i = 0; i < dims; i++) {
      h ^= h << 13;
      h ^= h >>> 17;
      h ^= h << 5; // xorshift32
      v[i] = ((h >>> 0) / 4294967296) * 2 - 1;
      norm += v[i] * v[i];
    }
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < dims; i++) v[i] /= norm;
    return v;
  });
  return embeddingList(vectors, model, body.encoding_format, estimatePromptTokens(body.input));
}

/** A 1x1 PNG: every mocked image. */
const MOCK_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

/**
 * A media endpoint's mocked answer in its own shape: an object mock as it is; a text mock as a rerank in the
 * documents' order, moderation results that flag nothing, `n` one-pixel images, or the transcription's text.
 */
function mockMedia(kind: EndpointKind, body: JsonObject, mock: string | JsonObject): OpenAIResponse {
  if (typeof mock === 'object') return { ...mock };
  const err = mockError(mock);
  if (err) throw err;
  switch (kind) {
    case 'rerank': {
      const docs = Array.isArray(body.documents) ? body.documents : [];
      const ranked = docs.map((_, index) => ({ index, relevance_score: 1 / (index + 1) }));
      return rerankAnswer(body, ranked, { search_units: 1 });
    }
    case 'moderation': {
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      const results = inputs.map(() => ({ flagged: false, categories: {}, category_scores: {} }));
      return { id: `modr-${randomUUID()}`, model: body.model, results };
    }
    case 'image_generation': {
      const n = typeof body.n === 'number' && body.n > 1 ? Math.min(Math.floor(body.n), 10) : 1;
      return imagesAnswer(
        body,
        Array.from({ length: n }, () => ({ b64: MOCK_PNG, mime: 'image/png' })),
      );
    }
    default:
      return { text: mock };
  }
}
