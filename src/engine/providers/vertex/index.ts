/**
 * Vertex AI (`vertex_ai/<model>`): Gemini models under
 * https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}
 *   /publishers/google/models/{model},
 * with an OAuth bearer token from `vertex_credentials` or application default credentials;
 * text-embedding models and Imagen (image generation) through `:predict`.
 */
import { cloudBody, NativeStreamDecoder, nativeView, readCount } from '../anthropic/native.js';
import { cleanModel, type GoogleState, googleAdapter } from '../google/adapter.js';
import { str } from '../params.js';
import type { MessagesCall, NativeMessages, ProviderAdapter, UpstreamRequest } from '../types.js';
import { loadCredentials, tokenProvider } from './auth.js';

/** The Vertex AI adapter. */
const gemini: ProviderAdapter = googleAdapter({
  id: 'vertex_ai',
  label: 'Vertex AI',
  more: ['image_generation'],
  prepare(spec) {
    const p = spec.params;
    const at = `${spec.at}.litellm_params`;
    const creds = loadCredentials(p.vertex_credentials, `${at}.vertex_credentials`);
    const project =
      str(p.vertex_project) ??
      str(p.vertex_ai_project) ??
      (typeof creds?.project_id === 'string' ? creds.project_id : undefined) ??
      str(spec.env.VERTEXAI_PROJECT) ??
      str(spec.env.VERTEX_PROJECT) ??
      str(spec.env.GOOGLE_CLOUD_PROJECT);
    if (!project)
      throw new Error(
        `${at}.vertex_project: required ` +
          '(or VERTEXAI_PROJECT / GOOGLE_CLOUD_PROJECT, or a project_id in vertex_credentials)',
      );
    const location =
      str(p.vertex_location) ??
      str(p.vertex_ai_location) ??
      str(spec.env.VERTEXAI_LOCATION) ??
      str(spec.env.VERTEX_LOCATION) ??
      'us-central1';
    const base =
      str(p.api_base) ??
      (location === 'global' ? 'https://aiplatform.googleapis.com' : `https://${location}-aiplatform.googleapis.com`);
    let url: URL;
    try {
      url = new URL(base);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http');
    } catch {
      throw new Error(`${at}.api_base: expected an http(s) URL, found ${JSON.stringify(base)}`);
    }
    const prefix =
      `${url.pathname.replace(/\/+$/, '')}/v1/projects/${encodeURIComponent(project)}` +
      `/locations/${encodeURIComponent(location)}/publishers/google/models/`;
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    for (const h of [p.headers, p.extra_headers])
      if (h && typeof h === 'object')
        for (const [k, v] of Object.entries(h)) if (v != null) headers[k.toLowerCase()] = String(v);
    return {
      origin: url.origin,
      apiBase: url.origin + prefix.slice(0, -1),
      headers,
      modelPath: (model) => prefix + cleanModel(model),
      embedStyle: 'predict',
      token: tokenProvider(creds, 'Vertex AI', str(spec.env.GOOGLE_APPLICATION_CREDENTIALS)),
    };
  },
});

type VertexState = GoogleState & { label: string };

/** `.../publishers/google/models/x` -> `.../publishers/anthropic/models/x` (Claude is Anthropic's publisher). */
const anthropicPath = (s: VertexState, model: string) =>
  s.modelPath(model).replace('/publishers/google/models/', '/publishers/anthropic/models/');

async function claudePost(s: VertexState, path: string, call: MessagesCall, body: unknown, accept: string) {
  const headers: Record<string, string> = { ...s.headers, accept };
  if (call.beta) headers['anthropic-beta'] = call.beta;
  if (s.token) headers.authorization = `Bearer ${await s.token()}`;
  const req: UpstreamRequest = { origin: s.origin, path, method: 'POST', headers, body: JSON.stringify(body) };
  return req;
}

const VERTEX_VERSION = 'vertex-2023-10-16';

/**
 * Claude on Vertex AI speaks the Messages API through rawPredict / streamRawPredict (version in the body,
 * model in the URL); count-tokens is a model of its own that takes the model id in the body.
 */
const claude: NativeMessages<VertexState> = {
  accepts: (_s, model) => /^claude-/.test(cleanModel(model)),
  request(s, call) {
    const verb = call.stream ? ':streamRawPredict' : ':rawPredict';
    const body = cloudBody(call, VERTEX_VERSION, true, false);
    return claudePost(s, anthropicPath(s, call.model) + verb, call, body, call.stream ? 'text/event-stream' : '*/*');
  },
  view: (s, model, json) => nativeView(s.label, model, json),
  decoder: (s, model) => new NativeStreamDecoder(s.label, model),
  countTokens(s, call) {
    const { anthropic_version: _v, ...rest } = cloudBody(call, VERTEX_VERSION, false, false);
    const body = { model: call.model, ...rest };
    return claudePost(s, `${anthropicPath(s, 'count-tokens')}:rawPredict`, call, body, 'application/json');
  },
  readCount,
};

export const vertexAdapter: ProviderAdapter = { ...gemini, messages: claude as NativeMessages };
