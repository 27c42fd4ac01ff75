import type { ProviderAdapter, ProviderId } from './types.js';

/**
 * Provider id -> adapter, one line per provider. Adapters are imported lazily so a config only pays
 * (at start-up, never per request) for the providers it uses.
 */
const compat = (id: ProviderId) => async () => (await import('./openai-compatible/presets.js')).compatibleAdapter(id);

export const REGISTRY: Partial<Record<ProviderId, () => Promise<ProviderAdapter>>> = {
  openai: compat('openai'),
  hosted_vllm: compat('hosted_vllm'),
  groq: compat('groq'),
  mistral: compat('mistral'),
  together_ai: compat('together_ai'),
  deepseek: compat('deepseek'),
  fireworks_ai: compat('fireworks_ai'),
  openrouter: compat('openrouter'),
  perplexity: compat('perplexity'),
  xai: compat('xai'),
  lm_studio: compat('lm_studio'),
  ollama: async () => (await import('./ollama/index.js')).ollamaAdapter('ollama'),
  ollama_chat: async () => (await import('./ollama/index.js')).ollamaAdapter('ollama_chat'),
  bedrock: async () => (await import('./bedrock/index.js')).bedrockAdapter,
  gemini: async () => (await import('./gemini/index.js')).geminiAdapter,
  vertex_ai: async () => (await import('./vertex/index.js')).vertexAdapter,
  anthropic: async () => (await import('./anthropic/index.js')).anthropicAdapter,
  azure: async () => (await import('./azure/index.js')).azureAdapter,
  azure_ai: async () => (await import('./azure/azure-ai.js')).azureAiAdapter,
  cohere: async () => (await import('./cohere/index.js')).cohereAdapter('cohere'),
  cohere_chat: async () => (await import('./cohere/index.js')).cohereAdapter('cohere_chat'),
  huggingface: async () => (await import('./huggingface/index.js')).huggingfaceAdapter,
};

const cache = new Map<ProviderId, Promise<ProviderAdapter>>();

/** The adapter for a provider id, or undefined when the engine does not serve that provider yet. */
export function loadAdapter(id: ProviderId): Promise<ProviderAdapter> | undefined {
  const load = REGISTRY[id];
  if (!load) return undefined;
  let p = cache.get(id);
  if (!p) {
    p = load();
    cache.set(id, p);
  }
  return p;
}
