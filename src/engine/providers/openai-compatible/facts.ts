import type { FolderFacts } from '../facts.js';

/** OpenAI and the providers that speak its wire format (one preset each in presets.ts). */
export const OPENAI_COMPATIBLE = {
  openai: {},
  // vLLM's OpenAI server takes `top_k` as an extra sampling param
  hosted_vllm: { topK: true },
  groq: {},
  mistral: {},
  together_ai: {},
  deepseek: {},
  fireworks_ai: {},
  openrouter: {},
  perplexity: {},
  xai: {},
  lm_studio: {},
  jina_ai: {},
} as const satisfies FolderFacts;
