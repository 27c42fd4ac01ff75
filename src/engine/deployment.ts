/**
 * The compiled deployment: one `model_list` entry with everything a request needs computed once at
 * load time (router/table.ts builds them), and the model groups that hold them. What changes at run
 * time (in flight, latency, cooldowns, usage) lives in the RouterState (state/), not here.
 */
import type { ModelPrice } from './cost/prices.js';
import type { ProviderAdapter, ProviderId } from './providers/types.js';
import type { JsonObject } from './wire.js';

/** One `model_list` entry, ready to serve: everything a request needs is computed here, once. */
export interface Deployment {
  /** model_info.id, or a stable hash (the `x-litellm-model-id` header) */
  id: string;
  /** the group name clients ask for */
  modelName: string;
  /** litellm_params.model as written, e.g. `groq/llama3` */
  litellmModel: string;
  /** key path, e.g. `model_list[2]` */
  at: string;
  provider?: ProviderId;
  /** undefined only for mock deployments whose provider is not served */
  adapter?: ProviderAdapter;
  /** the adapter's precomputed per-deployment state */
  state: unknown;
  /** upstream model name; may hold `*` that the requested name fills in (wildcards) */
  model: string;
  /** relative share of traffic within the group (simple-shuffle) */
  weight: number;
  timeoutMs: number;
  streamTimeoutMs: number;
  /** OpenAI params from litellm_params merged under every request (the request wins) */
  defaults?: JsonObject;
  /** litellm_params.extra_body, merged over the request */
  extraBody?: JsonObject;
  dropParams: boolean;
  additionalDropParams: readonly string[];
  mockResponse?: string | JsonObject;
  /** model_info.mode: chat, embedding, completion, ... */
  mode?: string;
  apiBase?: string;
  /** what /v1/model/info shows (no secrets) */
  publicInfo: JsonObject;
  /** requests / tokens per minute this deployment may take (litellm_params.rpm / tpm) */
  rpm?: number;
  tpm?: number;
  /** litellm_params.tags (tag filtering) */
  tags?: readonly string[];
  /** litellm_params.num_retries */
  numRetries?: number;
  /** context window for pre-call checks: model_info.max_input_tokens / max_tokens, else the built-in table */
  maxInputTokens?: number;
  /** $ per input + output token (cost-based routing); Infinity when unknown */
  cost: number;
  /**
   * the price of a call (cost/cost.ts callCost): from the price map or model_info / litellm_params overrides;
   * null when the model has none (its calls are reported unpriced); undefined when no price map was loaded
   */
  price?: ModelPrice | null;
  /** the tokenizer for pre-call checks */
  encoding: 'o200k_base' | 'cl100k_base';
  /** adapter state for /health built for model_info.health_check_model (a concrete model for a wildcard deployment) */
  healthState?: unknown;
  /**
   * true while background health checks (general_settings.background_health_checks) find it failing: routing
   * skips it unless every deployment of its group is down. The one field set at run time (by the checker only).
   */
  down?: boolean;
}

/** The deployments that share a model_name, with their cumulative weights for weighted picking. */
export interface ModelGroup {
  name: string;
  deployments: Deployment[];
  /** cumulative weights; empty when all weights are equal (uniform pick) */
  cumulative: number[];
  totalWeight: number;
  /** the highest litellm_params.num_retries of its deployments, if any sets one */
  numRetries?: number;
  /** some deployment has an rpm or tpm limit */
  limited?: boolean;
}

export interface WildcardRoute {
  pattern: string;
  regex: RegExp;
  group: ModelGroup;
  /** literal characters in the pattern: more specific patterns are tried first */
  specificity: number;
}
