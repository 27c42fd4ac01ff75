/**
 * A small built-in table of common models: input context window and USD price per token, used by
 * cost-based routing and pre-call checks when a deployment's model_info says nothing.
 * Public list prices at the time of writing; `model_info` in the config always wins.
 */
export interface CatalogEntry {
  maxInputTokens: number;
  inputCost: number;
  outputCost: number;
}

const M = 1e-6;
const T: Record<string, [number, number, number]> = {
  // name prefix: [max input tokens, $ per input token, $ per output token]
  'gpt-5-nano': [272_000, 0.05 * M, 0.4 * M],
  'gpt-5-mini': [272_000, 0.25 * M, 2 * M],
  'gpt-5': [272_000, 1.25 * M, 10 * M],
  'gpt-4.1-nano': [1_047_576, 0.1 * M, 0.4 * M],
  'gpt-4.1-mini': [1_047_576, 0.4 * M, 1.6 * M],
  'gpt-4.1': [1_047_576, 2 * M, 8 * M],
  'gpt-4o-mini': [128_000, 0.15 * M, 0.6 * M],
  'gpt-4o': [128_000, 2.5 * M, 10 * M],
  'gpt-4-turbo': [128_000, 10 * M, 30 * M],
  'gpt-4-32k': [32_768, 60 * M, 120 * M],
  'gpt-4': [8_192, 30 * M, 60 * M],
  'gpt-3.5-turbo': [16_385, 0.5 * M, 1.5 * M],
  'o1-mini': [128_000, 1.1 * M, 4.4 * M],
  o1: [200_000, 15 * M, 60 * M],
  'o3-mini': [200_000, 1.1 * M, 4.4 * M],
  o3: [200_000, 2 * M, 8 * M],
  'o4-mini': [200_000, 1.1 * M, 4.4 * M],
  'text-embedding-3-small': [8_191, 0.02 * M, 0],
  'text-embedding-3-large': [8_191, 0.13 * M, 0],
  'text-embedding-ada-002': [8_191, 0.1 * M, 0],
  'claude-opus-4': [200_000, 15 * M, 75 * M],
  'claude-sonnet-4': [200_000, 3 * M, 15 * M],
  'claude-3-7-sonnet': [200_000, 3 * M, 15 * M],
  'claude-3-5-sonnet': [200_000, 3 * M, 15 * M],
  'claude-3-5-haiku': [200_000, 0.8 * M, 4 * M],
  'claude-3-opus': [200_000, 15 * M, 75 * M],
  'claude-3-haiku': [200_000, 0.25 * M, 1.25 * M],
  'gemini-2.5-pro': [1_048_576, 1.25 * M, 10 * M],
  'gemini-2.5-flash': [1_048_576, 0.3 * M, 2.5 * M],
  'gemini-2.0-flash': [1_048_576, 0.1 * M, 0.4 * M],
  'gemini-1.5-pro': [2_097_152, 1.25 * M, 5 * M],
  'gemini-1.5-flash': [1_048_576, 0.075 * M, 0.3 * M],
  'mistral-large': [128_000, 2 * M, 6 * M],
  'mistral-small': [32_000, 0.2 * M, 0.6 * M],
  'deepseek-chat': [64_000, 0.27 * M, 1.1 * M],
  'deepseek-reasoner': [64_000, 0.55 * M, 2.19 * M],
};
// longest prefix first, so gpt-4o-mini is not read as gpt-4o
const KEYS = Object.keys(T).sort((a, b) => b.length - a.length);

/** The entry for an upstream model name (`gpt-4o-2024-08-06`, `us.anthropic.claude-3-5-sonnet-...`), if known. */
export function catalogEntry(model: string): CatalogEntry | undefined {
  const name = model
    .slice(model.lastIndexOf('/') + 1)
    .replace(/^(?:(?:us|eu|apac)\.)?(?:anthropic|meta|mistral)\./, '')
    .toLowerCase();
  for (const k of KEYS) {
    if (name === k || (name.startsWith(k) && /[-@:.]/.test(name.charAt(k.length)))) {
      const [maxInputTokens, inputCost, outputCost] = T[k];
      return { maxInputTokens, inputCost, outputCost };
    }
  }
  return undefined;
}

/**
 * The tokenizer OpenAI uses for a model: o200k_base for the gpt-4o / o-series / gpt-4.1 / gpt-5 families,
 * cl100k_base otherwise.
 */
export function encodingFor(model: string): 'o200k_base' | 'cl100k_base' {
  const name = model.slice(model.lastIndexOf('/') + 1).toLowerCase();
  return /^(gpt-4o|gpt-4\.1|gpt-5|o1|o3|o4|chatgpt-4o)/.test(name) ? 'o200k_base' : 'cl100k_base';
}
