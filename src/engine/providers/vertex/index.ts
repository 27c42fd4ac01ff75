/**
 * Vertex AI (`vertex_ai/<model>`): Gemini models under
 * https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}
 *   /publishers/google/models/{model},
 * with an OAuth bearer token from `vertex_credentials` or application default credentials;
 * text-embedding models and Imagen (image generation) through `:predict`.
 */
import { cleanModel, googleAdapter } from '../google/adapter.js';
import { str } from '../params.js';
import type { ProviderAdapter } from '../types.js';
import { loadCredentials, tokenProvider } from './auth.js';

/** The Vertex AI adapter. */
export const vertexAdapter: ProviderAdapter = googleAdapter({
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
