/**
 * What the engine knows about a provider without loading its adapter. Each provider folder declares
 * its facts in a light `facts.ts` (no imports beyond types): config loading, the CLI and the request
 * path read them, while the adapter itself is imported only when a config uses the provider.
 */
export interface ProviderFacts {
  /** takes `top_k`; OpenAI and most OpenAI-compatible APIs reject it, so /v1/messages drops it for them */
  topK?: boolean;
  /** model names without a `provider/` prefix that LiteLLM resolves to this provider (OpenAI is the default) */
  bareModels?: RegExp;
  /** its own litellm_params keys: credentials and locations (the common api_key, api_base, ... are not listed) */
  params?: readonly string[];
  /** those of `params` that hold credentials (masked wherever config is shown) */
  secretParams?: readonly string[];
}

/** One folder's facts: every provider id the folder serves, with its facts. */
export type FolderFacts = Readonly<Record<string, ProviderFacts>>;
