import { formBody } from '../../http/multipart.js';
import { parseOpenAIMedia } from '../../media/responses.js';
import { isMediaKind } from '../../media/units.js';
import { contentText, estimateChatPromptTokens, estimatePromptTokens, estimateTokens, usageOf } from '../../tokens.js';
import { badUpstreamAnswer, mapHttpError } from '../errors.js';
import { lowerKeys, str } from '../params.js';
import type {
  CallContext,
  DeploymentSpec,
  EndpointKind,
  JsonObject,
  OpenAIResponse,
  ProviderAdapter,
  ProviderId,
  UpstreamRequest,
} from '../types.js';
import { OpenAISseDecoder } from './stream.js';

/** What makes one OpenAI-compatible provider different from another: a few defaults. */
export interface OpenAICompatiblePreset {
  id: ProviderId;
  label: string;
  /** used when neither api_base nor a base variable is set */
  defaultApiBase: string;
  /** environment variables for the key, first set wins */
  keyEnv: readonly string[];
  /** environment variables for the base URL, first set wins */
  baseEnv: readonly string[];
  endpoints?: readonly EndpointKind[];
  unsupportedParams?: readonly string[];
  /** the upstream serves OpenAI's Responses API (`{api_base}/responses`): `/v1/responses` goes there natively */
  responses?: boolean;
}

/** Per-deployment state, computed once at load time. */
export interface OpenAICompatibleState {
  label: string;
  origin: string;
  /** path prefix of the base URL without trailing slash, e.g. `/openai/v1` */
  basePath: string;
  /** the base URL for display (no credentials) */
  apiBase: string;
  /** headers sent on every request: content type, auth, organization, extra_headers */
  headers: Record<string, string>;
}

/** The path of each endpoint under an OpenAI-style base URL (also Azure's, under its deployment). */
export const OPENAI_PATHS: Record<EndpointKind, string> = {
  chat: '/chat/completions',
  completion: '/completions',
  embedding: '/embeddings',
  rerank: '/rerank',
  moderation: '/moderations',
  image_generation: '/images/generations',
  audio_transcription: '/audio/transcriptions',
  audio_speech: '/audio/speech',
};
const PATHS = OPENAI_PATHS;

/** Resolve base URL, key and static headers for an OpenAI-style deployment (shared with Azure-like adapters). */
export function prepareOpenAIStyle(
  spec: DeploymentSpec,
  preset: Pick<OpenAICompatiblePreset, 'label' | 'defaultApiBase' | 'keyEnv' | 'baseEnv'>,
): OpenAICompatibleState {
  const p = spec.params;
  const base = str(p.api_base) ?? str(p.base_url) ?? firstEnv(spec.env, preset.baseEnv) ?? preset.defaultApiBase;
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new Error(
      `${spec.at}.litellm_params.api_base: expected a URL like https://host/v1, found ${JSON.stringify(base)}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${spec.at}.litellm_params.api_base: expected an http(s) URL, found ${JSON.stringify(base)}`);
  }
  const key = str(p.api_key) ?? firstEnv(spec.env, preset.keyEnv);
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  const org = str(p.organization);
  if (org) headers['openai-organization'] = org;
  Object.assign(headers, lowerKeys(p.headers), lowerKeys(p.extra_headers));
  const basePath = url.pathname.replace(/\/+$/, '');
  return {
    label: preset.label,
    origin: url.origin,
    basePath: basePath + url.search,
    apiBase: `${url.origin}${basePath}`,
    headers,
  };
}

/** Make sure an OpenAI-shaped answer carries usage (estimated when the upstream left it out). */
export function ensureUsage(kind: EndpointKind, req: JsonObject, res: JsonObject): void {
  const u = res.usage as Record<string, unknown> | undefined | null;
  if (u && typeof u.prompt_tokens === 'number') {
    if (typeof u.total_tokens !== 'number')
      u.total_tokens = u.prompt_tokens + (typeof u.completion_tokens === 'number' ? u.completion_tokens : 0);
    if (typeof u.completion_tokens !== 'number') u.completion_tokens = 0;
    return;
  }
  if (kind === 'embedding') {
    res.usage = usageOf(estimatePromptTokens(req.input), 0);
    return;
  }
  const prompt = kind === 'chat' ? estimateChatPromptTokens(req) : estimatePromptTokens(req.prompt);
  let completion = 0;
  for (const c of (Array.isArray(res.choices) ? res.choices : []) as Record<string, unknown>[]) {
    const m = c?.message as Record<string, unknown> | undefined;
    completion += estimateTokens(m ? contentText(m.content) : typeof c?.text === 'string' ? c.text : '');
  }
  res.usage = usageOf(prompt, completion);
}

/** Check the answer is the shape the endpoint promises, then ensure usage. */
export function parseOpenAIResponse(label: string, call: CallContext, json: unknown): OpenAIResponse {
  if (isMediaKind(call.kind)) return parseOpenAIMedia(label, call, json);
  if (!json || typeof json !== 'object' || Array.isArray(json))
    throw badUpstreamAnswer(label, 'an answer that is not a JSON object');
  const o = json as JsonObject;
  if (call.kind === 'embedding' ? !Array.isArray(o.data) : !Array.isArray(o.choices)) {
    // some gateways (OpenRouter, LiteLLM-style proxies) answer 200 with an error object: keep its message and class
    if (o.error)
      throw mapHttpError(label, {
        status: errorStatusOf(o.error),
        headers: {},
        body: JSON.stringify(typeof o.error === 'object' ? o : { error: { message: String(o.error) } }),
      });
    throw badUpstreamAnswer(label, `an answer without ${call.kind === 'embedding' ? '"data"' : '"choices"'}`);
  }
  ensureUsage(call.kind, call.body, o);
  return o;
}

/** The HTTP status an error object inside a 200 stands for: its numeric `code` (400-599), else 502. */
function errorStatusOf(e: unknown): number {
  const code = e && typeof e === 'object' ? Number((e as JsonObject).code) : NaN;
  return Number.isInteger(code) && code >= 400 && code <= 599 ? code : 502;
}

const USAGE = Buffer.from('"prompt_tokens"');
const CHOICES = Buffer.from('"choices"');
const DATA = Buffer.from('"data"');

/**
 * Whether an OpenAI-shaped answer can be sent on as it is: a JSON object (first and last bytes) with
 * `choices` (or `data`) and a usage object. Inside string values these names appear escaped (`\"`),
 * so a model that writes them cannot fake the check.
 */
export function openAIPassthrough(call: CallContext, body: Buffer): boolean {
  if (isMediaKind(call.kind)) return false;
  let i = 0;
  let j = body.length - 1;
  while (i < j && body[i] <= 32) i++;
  while (j > i && body[j] <= 32) j--;
  if (body[i] !== 123 /* { */ || body[j] !== 125 /* } */) return false;
  // usage comes last in practice, choices first: search from the ends that find them soonest
  return body.lastIndexOf(USAGE) !== -1 && body.indexOf(call.kind === 'embedding' ? DATA : CHOICES) !== -1;
}

/** The shared OpenAI-compatible adapter: OpenAI itself and every provider that speaks its wire format. */
export function createOpenAICompatible(preset: OpenAICompatiblePreset): ProviderAdapter<OpenAICompatibleState> {
  return {
    id: preset.id,
    label: preset.label,
    endpoints: preset.endpoints ?? ['chat', 'completion', 'embedding'],
    unsupportedParams: preset.unsupportedParams,
    prepare: (spec) => {
      const state = prepareOpenAIStyle(spec, preset);
      if (
        !state.headers.authorization &&
        preset.keyEnv.length > 0 &&
        !str(spec.params.api_base) &&
        state.apiBase === preset.defaultApiBase.replace(/\/+$/, '')
      ) {
        spec.warn?.(
          `no API key: set litellm_params.api_key or ${preset.keyEnv[0]} (requests will be refused upstream)`,
        );
      }
      return state;
    },
    describe: (s) => ({ api_base: s.apiBase }),
    buildRequest: (s, call) => openAIStyleRequest(s.origin, s.basePath + PATHS[call.kind], s.headers, call),
    parseResponse: (s, call, json) => parseOpenAIResponse(s.label, call, json),
    passthrough: (_s, call, body) => openAIPassthrough(call, body),
    streamDecoder: (s) => new OpenAISseDecoder(s.label),
    mapError: (s, err) => mapHttpError(s.label, err),
    healthRequest: (s) => ({ origin: s.origin, path: `${s.basePath}/models`, method: 'GET', headers: s.headers }),
    responses: preset.responses
      ? {
          buildRequest: (s, call) => ({
            origin: s.origin,
            path: `${s.basePath}/responses`,
            method: 'POST',
            headers: s.headers,
            body: JSON.stringify(call.body),
          }),
        }
      : undefined,
  };
}

/**
 * The upstream request of an OpenAI-style API at `path`: JSON, except a transcription (the body back into
 * multipart/form-data, its file as it came) and speech (audio accepted back).
 */
export function openAIStyleRequest(
  origin: string,
  path: string,
  headers: Record<string, string>,
  call: CallContext,
): UpstreamRequest | Promise<UpstreamRequest> {
  if (call.kind === 'audio_transcription') {
    return formBody(call.body).then(({ bytes, contentType }) => ({
      origin,
      path,
      method: 'POST' as const,
      headers: { ...headers, 'content-type': contentType },
      body: bytes,
    }));
  }
  const h = call.kind === 'audio_speech' ? { ...headers, accept: '*/*' } : headers;
  return { origin, path, method: 'POST', headers: h, body: JSON.stringify(call.body) };
}

function firstEnv(env: Readonly<Record<string, string | undefined>>, names: readonly string[]): string | undefined {
  for (const n of names) {
    const v = env[n];
    if (v !== undefined && v.trim() !== '') return v.trim();
  }
  return undefined;
}
