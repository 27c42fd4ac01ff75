import {
  openAIStyleRequest,
  OPENAI_PATHS as PATHS,
  parseOpenAIResponse,
  prepareOpenAIStyle,
} from '../openai-compatible/base.js';
import { OpenAISseDecoder } from '../openai-compatible/stream.js';
import { str } from '../params.js';
import {
  type DeploymentSpec,
  defineProvider,
  type OpenAIChunk,
  type ProviderAdapter,
  type StreamDecoder,
} from '../types.js';
import { azureAiAdapter } from './azure-ai.js';
import { mapAzureError } from './errors.js';

/** api-version used when neither litellm_params.api_version nor AZURE_API_VERSION is set (a GA version). */
export const AZURE_DEFAULT_API_VERSION = '2024-10-21';

interface AzureState {
  label: string;
  origin: string;
  /** path before `/openai/deployments/...` (usually empty) */
  basePath: string;
  apiBase: string;
  apiVersion: string;
  headers: Record<string, string>;
}

function prepareAzure(spec: DeploymentSpec): AzureState {
  const p = spec.params;
  const base =
    str(p.api_base) ?? str(p.base_url) ?? str(spec.env.AZURE_API_BASE) ?? str(spec.env.AZURE_OPENAI_ENDPOINT);
  if (!base)
    throw new Error(
      `${spec.at}.litellm_params.api_base: ` +
        'Azure needs the resource endpoint (https://<resource>.openai.azure.com), or AZURE_API_BASE',
    );
  // base URL and extra headers the OpenAI-style way, but never the key as a Bearer token
  const s = prepareOpenAIStyle(
    { ...spec, params: { ...p, api_base: base, api_key: undefined, organization: undefined } },
    { label: 'Azure OpenAI', defaultApiBase: base, keyEnv: [], baseEnv: [] },
  );
  const headers = { ...s.headers };
  const token = str(p.azure_ad_token) ?? str(spec.env.AZURE_AD_TOKEN);
  const key = str(p.api_key) ?? str(spec.env.AZURE_API_KEY) ?? str(spec.env.AZURE_OPENAI_API_KEY);
  if (key) headers['api-key'] = key;
  else if (token) headers.authorization = `Bearer ${token.replace(/^Bearer\s+/i, '')}`;
  else spec.warn?.('no credentials: set litellm_params.api_key (or AZURE_API_KEY) or azure_ad_token');
  // accept https://res.openai.azure.com, .../ and .../openai alike
  const basePath = s.basePath.split('?')[0].replace(/\/openai$/, '');
  const apiVersion =
    str(p.api_version) ??
    str(spec.env.AZURE_API_VERSION) ??
    str(spec.env.OPENAI_API_VERSION) ??
    AZURE_DEFAULT_API_VERSION;
  return { label: 'Azure OpenAI', origin: s.origin, basePath, apiBase: s.origin + basePath, apiVersion, headers };
}

/** Azure sends a first chunk with `prompt_filter_results` and no choices: not something an OpenAI client expects. */
class AzureSseDecoder implements StreamDecoder {
  private readonly inner: OpenAISseDecoder;
  constructor(label: string) {
    this.inner = new OpenAISseDecoder(label);
  }
  push(bytes: Uint8Array): OpenAIChunk[] {
    return this.inner.push(bytes).filter(keep);
  }
  end(): OpenAIChunk[] {
    return this.inner.end().filter(keep);
  }
}

function keep(c: OpenAIChunk): boolean {
  return !(Array.isArray(c.choices) && c.choices.length === 0 && c.usage == null);
}

/**
 * Azure OpenAI: `{api_base}/openai/deployments/{deployment}/{chat/completions|completions|embeddings}?api-version=...`
 * with an `api-key` header (or `azure_ad_token` as a Bearer token); OpenAI wire format otherwise.
 */
export const azureAdapter: ProviderAdapter = defineProvider<AzureState>({
  id: 'azure',
  label: 'Azure OpenAI',
  endpoints: ['chat', 'completion', 'embedding', 'image_generation', 'audio_transcription', 'audio_speech'],
  prepare: prepareAzure,
  describe: (s) => ({ api_base: s.apiBase }),
  buildRequest: (s, call) =>
    openAIStyleRequest(
      s.origin,
      `${s.basePath}/openai/deployments/${encodeURIComponent(call.model)}${PATHS[call.kind]}` +
        `?api-version=${encodeURIComponent(s.apiVersion)}`,
      s.headers,
      call,
    ),
  parseResponse: (s, call, json) => parseOpenAIResponse(s.label, call, json),
  streamDecoder: (s) => new AzureSseDecoder(s.label),
  mapError: (s, err) => mapAzureError(s.label, err),
  healthRequest: (s) => ({
    origin: s.origin,
    path: `${s.basePath}/openai/models?api-version=${encodeURIComponent(s.apiVersion)}`,
    method: 'GET',
    headers: s.headers,
  }),
  // Azure serves the Responses API only on its v1 surface: no deployment in the path (the body's model names
  // the deployment) and no api-version
  responses: {
    buildRequest: (s, call) => ({
      origin: s.origin,
      path: `${s.basePath}/openai/v1/responses`,
      method: 'POST',
      headers: s.headers,
      body: JSON.stringify(call.body),
    }),
  },
});

/** The adapter for each id of this folder (the registry's loader): Azure OpenAI or Azure AI. */
export function azureAdapterFor(id: 'azure' | 'azure_ai'): ProviderAdapter {
  return id === 'azure' ? azureAdapter : azureAiAdapter;
}
