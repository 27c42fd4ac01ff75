import {
  type OpenAICompatibleState,
  OPENAI_PATHS as PATHS,
  parseOpenAIResponse,
  prepareOpenAIStyle,
} from '../openai-compatible/base.js';
import { OpenAISseDecoder } from '../openai-compatible/stream.js';
import { defineProvider, type ProviderAdapter } from '../types.js';
import { mapAzureError } from './errors.js';

interface AzureAiState extends OpenAICompatibleState {
  /** `?api-version=...` when one is configured (the `/models` inference endpoint wants it) */
  query: string;
}

/**
 * Azure AI Foundry serverless / model inference endpoints (`azure_ai/<model>`): OpenAI-style
 * `{api_base}/chat/completions`, the key sent both as `api-key` and as a Bearer token (the endpoints
 * accept either), `AZURE_AI_API_KEY` / `AZURE_AI_API_BASE` defaults.
 */
export const azureAiAdapter: ProviderAdapter = defineProvider<AzureAiState>({
  id: 'azure_ai',
  label: 'Azure AI',
  endpoints: ['chat', 'embedding'],
  prepare(spec) {
    const base = spec.params.api_base ?? spec.params.base_url ?? spec.env.AZURE_AI_API_BASE;
    if (typeof base !== 'string' || base.trim() === '')
      throw new Error(`${spec.at}.litellm_params.api_base: Azure AI needs its endpoint URL (or AZURE_AI_API_BASE)`);
    const s = prepareOpenAIStyle(spec, {
      label: 'Azure AI',
      defaultApiBase: base,
      keyEnv: ['AZURE_AI_API_KEY'],
      baseEnv: ['AZURE_AI_API_BASE'],
    });
    const headers = { ...s.headers };
    if (headers.authorization) headers['api-key'] = headers.authorization.slice('Bearer '.length);
    else spec.warn?.('no API key: set litellm_params.api_key or AZURE_AI_API_KEY');
    const version = spec.params.api_version;
    const basePath = s.basePath.split('?')[0];
    return {
      ...s,
      basePath,
      headers,
      query: typeof version === 'string' && version ? `?api-version=${encodeURIComponent(version)}` : '',
    };
  },
  describe: (s) => ({ api_base: s.apiBase }),
  buildRequest: (s, call) => ({
    origin: s.origin,
    path: s.basePath + PATHS[call.kind] + s.query,
    method: 'POST',
    headers: s.headers,
    body: JSON.stringify(call.body),
  }),
  parseResponse: (s, call, json) => parseOpenAIResponse(s.label, call, json),
  streamDecoder: (s) => new OpenAISseDecoder(s.label),
  mapError: (s, err) => mapAzureError(s.label, err),
  healthRequest: (s) => ({
    origin: s.origin,
    path: `${s.basePath}/models${s.query}`,
    method: 'GET',
    headers: s.headers,
  }),
});
