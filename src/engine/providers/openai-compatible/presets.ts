import { defineProvider, type ProviderAdapter } from '../types.js';
import { createOpenAICompatible, type OpenAICompatiblePreset } from './base.js';
import type { OPENAI_COMPATIBLE } from './facts.js';

type CompatibleId = keyof typeof OPENAI_COMPATIBLE;

/** OpenAI and the providers that speak its wire format: a default base URL and key variables each. */
const PRESETS: Record<CompatibleId, Omit<OpenAICompatiblePreset, 'id'>> = {
  openai: {
    label: 'OpenAI',
    defaultApiBase: 'https://api.openai.com/v1',
    keyEnv: ['OPENAI_API_KEY'],
    baseEnv: ['OPENAI_BASE_URL', 'OPENAI_API_BASE'],
    responses: true,
    endpoints: [
      'chat',
      'completion',
      'embedding',
      'moderation',
      'image_generation',
      'audio_transcription',
      'audio_speech',
    ],
  },
  hosted_vllm: {
    label: 'vLLM',
    defaultApiBase: 'http://localhost:8000/v1',
    keyEnv: ['HOSTED_VLLM_API_KEY'],
    baseEnv: ['HOSTED_VLLM_API_BASE'],
    // vLLM serves a Jina-compatible /v1/rerank for reranker models
    endpoints: ['chat', 'completion', 'embedding', 'rerank'],
  },
  groq: {
    label: 'Groq',
    defaultApiBase: 'https://api.groq.com/openai/v1',
    keyEnv: ['GROQ_API_KEY'],
    baseEnv: ['GROQ_API_BASE'],
    // Whisper transcription and PlayAI speech, OpenAI's paths and formats
    endpoints: ['chat', 'completion', 'embedding', 'audio_transcription', 'audio_speech'],
    unsupportedParams: ['logprobs', 'top_logprobs', 'logit_bias', 'n'],
  },
  mistral: {
    label: 'Mistral',
    defaultApiBase: 'https://api.mistral.ai/v1',
    keyEnv: ['MISTRAL_API_KEY'],
    baseEnv: ['MISTRAL_API_BASE'],
    unsupportedParams: ['logit_bias', 'logprobs', 'top_logprobs'],
  },
  together_ai: {
    label: 'Together AI',
    defaultApiBase: 'https://api.together.xyz/v1',
    keyEnv: ['TOGETHERAI_API_KEY', 'TOGETHER_AI_API_KEY', 'TOGETHER_API_KEY'],
    baseEnv: ['TOGETHER_AI_API_BASE', 'TOGETHERAI_API_BASE'],
  },
  deepseek: {
    label: 'DeepSeek',
    defaultApiBase: 'https://api.deepseek.com/v1',
    keyEnv: ['DEEPSEEK_API_KEY'],
    baseEnv: ['DEEPSEEK_API_BASE'],
    endpoints: ['chat', 'completion'],
  },
  fireworks_ai: {
    label: 'Fireworks AI',
    defaultApiBase: 'https://api.fireworks.ai/inference/v1',
    keyEnv: ['FIREWORKS_API_KEY', 'FIREWORKS_AI_API_KEY', 'FIREWORKSAI_API_KEY'],
    baseEnv: ['FIREWORKS_API_BASE'],
  },
  openrouter: {
    label: 'OpenRouter',
    defaultApiBase: 'https://openrouter.ai/api/v1',
    keyEnv: ['OPENROUTER_API_KEY', 'OR_API_KEY'],
    baseEnv: ['OPENROUTER_API_BASE'],
  },
  perplexity: {
    label: 'Perplexity',
    defaultApiBase: 'https://api.perplexity.ai',
    keyEnv: ['PERPLEXITYAI_API_KEY', 'PERPLEXITY_API_KEY'],
    baseEnv: ['PERPLEXITY_API_BASE'],
    endpoints: ['chat'],
    unsupportedParams: ['logit_bias', 'logprobs', 'top_logprobs', 'n'],
  },
  xai: {
    label: 'xAI',
    defaultApiBase: 'https://api.x.ai/v1',
    keyEnv: ['XAI_API_KEY'],
    baseEnv: ['XAI_API_BASE'],
    unsupportedParams: ['logit_bias'],
  },
  jina_ai: {
    label: 'Jina AI',
    defaultApiBase: 'https://api.jina.ai/v1',
    keyEnv: ['JINA_AI_API_KEY', 'JINA_API_KEY'],
    baseEnv: ['JINA_AI_API_BASE'],
    // embeddings at /v1/embeddings (OpenAI's format), rerank at /v1/rerank (Cohere-like, `usage.total_tokens`)
    endpoints: ['embedding', 'rerank'],
  },
  lm_studio: {
    label: 'LM Studio',
    defaultApiBase: 'http://localhost:1234/v1',
    keyEnv: ['LM_STUDIO_API_KEY'],
    baseEnv: ['LM_STUDIO_API_BASE'],
  },
};

/** The adapter for one OpenAI-compatible provider id (the type makes every id in facts.ts have a preset). */
export function compatibleAdapter(id: CompatibleId): ProviderAdapter {
  return defineProvider(createOpenAICompatible({ id, ...PRESETS[id] }));
}
