/**
 * Google AI Studio (`gemini/<model>`): generateContent / streamGenerateContent?alt=sse and
 * batchEmbedContents under https://generativelanguage.googleapis.com/v1beta, key in `x-goog-api-key`.
 */
import { cleanModel, googleAdapter } from '../google/adapter.js';
import { str } from '../params.js';
import type { ProviderAdapter } from '../types.js';

const DEFAULT_BASE = 'https://generativelanguage.googleapis.com';

/** The Gemini (AI Studio) adapter. */
export const geminiAdapter: ProviderAdapter = googleAdapter({
  id: 'gemini',
  label: 'Gemini',
  prepare(spec) {
    const p = spec.params;
    const base = str(p.api_base) ?? str(p.base_url) ?? str(spec.env.GEMINI_API_BASE) ?? DEFAULT_BASE;
    let url: URL;
    try {
      url = new URL(base);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http');
    } catch {
      throw new Error(`${spec.at}.litellm_params.api_base: expected an http(s) URL, found ${JSON.stringify(base)}`);
    }
    const key = str(p.api_key) ?? str(spec.env.GEMINI_API_KEY) ?? str(spec.env.GOOGLE_API_KEY);
    if (!key)
      spec.warn?.('no API key: set litellm_params.api_key or GEMINI_API_KEY (requests will be refused upstream)');
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (key) headers['x-goog-api-key'] = key;
    const prefix = url.pathname.replace(/\/+$/, '') || '/v1beta';
    return {
      origin: url.origin,
      apiBase: url.origin + prefix,
      headers,
      modelPath: (model) => `${prefix}/models/${cleanModel(model)}`,
      embedStyle: 'batch',
    };
  },
});
