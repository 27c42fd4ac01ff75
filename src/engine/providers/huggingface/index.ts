import { extractErrorDetail, mapHttpError } from '../errors.js';
import { createOpenAICompatible } from '../openai-compatible/base.js';
import { defineProvider, type ProviderAdapter } from '../types.js';

/** The Hugging Face inference router (OpenAI-compatible, the model named in the body). */
export const HF_ROUTER = 'https://router.huggingface.co/v1';

const base = createOpenAICompatible({
  id: 'huggingface',
  label: 'Hugging Face',
  defaultApiBase: HF_ROUTER,
  keyEnv: ['HF_TOKEN', 'HUGGINGFACE_API_KEY', 'HUGGING_FACE_HUB_TOKEN'],
  baseEnv: ['HUGGINGFACE_API_BASE', 'HF_API_BASE'],
  endpoints: ['chat', 'completion'],
  unsupportedParams: ['logit_bias'],
});

// TGI words a context overflow as "`inputs` tokens + `max_new_tokens` must be <= 4096" (422)
const TGI_CONTEXT = /tokens.*must be <= \d+|must have less than \d+ tokens/i;

/**
 * Hugging Face through the OpenAI-style Messages API: a TGI server or Inference Endpoint
 * (`{api_base}/v1/chat/completions`, api_base given with or without `/v1`), else the HF router.
 * Bearer `HF_TOKEN` / `HUGGINGFACE_API_KEY`.
 */
export const huggingfaceAdapter: ProviderAdapter = defineProvider({
  ...base,
  prepare(spec) {
    const s = base.prepare(spec);
    // https://x.endpoints.huggingface.cloud, .../v1 and .../v1/chat/completions all mean the same server
    let basePath = s.basePath
      .split('?')[0]
      .replace(/\/chat\/completions$/, '')
      .replace(/\/+$/, '');
    if (!basePath.endsWith('/v1')) basePath += '/v1';
    return { ...s, basePath, apiBase: s.origin + basePath };
  },
  mapError(s, err) {
    const detail = extractErrorDetail(err.body);
    if ((err.status === 400 || err.status === 422) && TGI_CONTEXT.test(detail.message ?? ''))
      detail.code = 'context_length_exceeded';
    return mapHttpError(s.label, err, detail);
  },
});
