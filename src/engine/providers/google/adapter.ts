/**
 * The adapter Gemini (AI Studio) and Vertex AI share: same request/response/stream translation,
 * different base URL, auth (API key header vs OAuth bearer token) and embedding endpoint.
 */
import {
  type DeploymentSpec,
  defineProvider,
  type EndpointKind,
  type ProviderAdapter,
  type ProviderId,
  type UpstreamRequest,
} from '../types.js';
import { geminiBody } from './convert.js';
import { batchEmbedBody, parseGoogleEmbedding, predictEmbedBody } from './embed.js';
import { mapGoogleError } from './errors.js';
import { imagenBody, parseImagen } from './imagen.js';
import { parseGemini } from './response.js';
import { GeminiStreamDecoder } from './stream.js';

/** What a Google deployment precomputes at load time. */
export interface GoogleState {
  origin: string;
  /** shown by /health and /v1/model/info (no credentials) */
  apiBase: string;
  /** static headers (content type, API key) */
  headers: Record<string, string>;
  /** the path of a model resource, e.g. `/v1beta/models/gemini-2.0-flash` */
  modelPath(model: string): string;
  embedStyle: 'batch' | 'predict';
  /** an OAuth access token (cached by the provider); absent for API-key auth */
  token?: () => Promise<string>;
}

interface GoogleFlavour {
  id: ProviderId;
  label: string;
  /** the endpoint kinds it serves beyond chat and embeddings (Vertex: Imagen image generation) */
  more?: readonly EndpointKind[];
  prepare(spec: DeploymentSpec): GoogleState;
}

/** `models/gemini-pro` -> `gemini-pro` (the resource prefix is added by the path). */
export function cleanModel(model: string): string {
  return model.replace(/^models\//, '');
}

async function post(s: GoogleState, path: string, body: string, accept = 'application/json'): Promise<UpstreamRequest> {
  const headers: Record<string, string> = { ...s.headers, accept };
  if (s.token) headers.authorization = `Bearer ${await s.token()}`;
  return { origin: s.origin, path, method: 'POST', headers, body };
}

/** Build the adapter for one flavour. */
export function googleAdapter(f: GoogleFlavour): ProviderAdapter {
  return defineProvider<GoogleState & { label: string; model: string }>({
    id: f.id,
    label: f.label,
    endpoints: ['chat', 'embedding', ...(f.more ?? [])],
    unsupportedParams: ['logit_bias', 'logprobs', 'top_logprobs'],
    prepare: (spec) => ({ ...f.prepare(spec), label: f.label, model: spec.model }),
    describe: (s) => ({ api_base: s.apiBase }),
    buildRequest(s, call) {
      const base = s.modelPath(call.model);
      if (call.kind === 'image_generation') return post(s, `${base}:predict`, imagenBody(call.body));
      if (call.kind === 'embedding') {
        return s.embedStyle === 'batch'
          ? post(s, `${base}:batchEmbedContents`, batchEmbedBody(cleanModel(call.model), call.body))
          : post(s, `${base}:predict`, predictEmbedBody(call.body));
      }
      const body = JSON.stringify(geminiBody(call.body));
      return call.stream
        ? post(s, `${base}:streamGenerateContent?alt=sse`, body, 'text/event-stream')
        : post(s, `${base}:generateContent`, body);
    },
    parseResponse: (s, call, json) =>
      call.kind === 'image_generation'
        ? parseImagen(s.label, call, json)
        : call.kind === 'embedding'
          ? parseGoogleEmbedding(s.label, call.model, call.body, json)
          : parseGemini(s.label, call.model, json),
    streamDecoder: (s, call) => new GeminiStreamDecoder(s.label, call.model),
    mapError: (s, err) => mapGoogleError(s.label, err),
    // countTokens proves the key/token and the model without generating anything
    healthRequest: (s) =>
      post(
        s,
        `${s.modelPath(s.model)}:countTokens`,
        JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'ping' }] }] }),
      ),
  });
}
