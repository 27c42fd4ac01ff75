import type { Deployment } from '../deployment.js';
import type { ErrorClass, GatewayError } from '../errors.js';
import type { JsonObject } from '../wire.js';

/** Tokens of one call, normalised from whatever usage shape the answer carried. */
export interface TokenUsage {
  prompt: number;
  completion: number;
  total: number;
  /**
   * prompt tokens read from the provider's cache
   * (OpenAI `prompt_tokens_details.cached_tokens`, Anthropic cache reads)
   */
  cached: number;
  /** prompt tokens written to the provider's cache (Anthropic `cache_creation_input_tokens`) */
  cacheCreation: number;
  /** of those, the ones kept an hour (Anthropic `cache_creation.ephemeral_1h_input_tokens`); absent: none */
  cacheCreation1h?: number;
  /** completion tokens spent on reasoning (`completion_tokens_details.reasoning_tokens`) */
  reasoning: number;
  /** what the media endpoints bill besides tokens (media/units.ts): images made, rerank queries (search units), */
  images?: number;
  queries?: number;
  /** characters of text spoken (audio_speech), seconds of audio transcribed (when the answer says) */
  characters?: number;
  seconds?: number;
}

/** How one upstream call ended. */
export type AttemptStatus = 'ok' | 'error' | 'client_abort';

/** Times of one attempt, in ms since the process's performance.timeOrigin (performance.now()). */
export interface AttemptTimings {
  start: number;
  /** response headers arrived */
  firstByte?: number;
  /** first decoded content (streams) */
  firstToken?: number;
  end: number;
}

/** What one attempt settles with, exactly once. */
export interface AttemptResult {
  deployment: Deployment;
  status: AttemptStatus;
  stream: boolean;
  /** the error (status, class, provider) when status is 'error' */
  error?: GatewayError;
  errorClass?: ErrorClass;
  /** usage as the upstream reported it (undefined when it reported none) */
  usage?: TokenUsage;
  timings: AttemptTimings;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** OpenAI-shape usage (with the details LiteLLM passes through) to TokenUsage; undefined when there is none. */
export function tokenUsage(u: unknown): TokenUsage | undefined {
  if (!u || typeof u !== 'object') return undefined;
  const o = u as JsonObject;
  // the Responses API's names (input_tokens with its details, which Anthropic's usage never has)
  const rx = o.input_tokens_details !== undefined || o.output_tokens_details !== undefined;
  const pd = (rx ? o.input_tokens_details : o.prompt_tokens_details) as JsonObject | undefined;
  const cd = (rx ? o.output_tokens_details : o.completion_tokens_details) as JsonObject | undefined;
  // DeepSeek names its cache hits prompt_cache_hit_tokens (LiteLLM maps them to cached_tokens too)
  const cached = num(pd?.cached_tokens) || num(o.cache_read_input_tokens) || num(o.prompt_cache_hit_tokens);
  const cacheCreation = num(o.cache_creation_input_tokens) || num(pd?.cache_creation_tokens);
  // Anthropic's own shape (a Messages answer passed through): input_tokens excludes the cache reads and writes
  const anthropic = !rx && o.prompt_tokens === undefined && o.input_tokens !== undefined;
  const prompt = anthropic ? num(o.input_tokens) + cached + cacheCreation : num(rx ? o.input_tokens : o.prompt_tokens);
  let completion = anthropic || rx ? num(o.output_tokens) : num(o.completion_tokens);
  const reasoning = num(cd?.reasoning_tokens);
  const total = num(o.total_tokens);
  // xAI's chat completions count reasoning outside completion_tokens (their total is prompt + completion +
  // reasoning): reasoning is output all the same, billed as LiteLLM bills it
  if (!anthropic && !rx && reasoning > 0 && total === prompt + completion + reasoning) completion += reasoning;
  const usage: TokenUsage = {
    prompt,
    completion,
    total: total || prompt + completion,
    cached,
    cacheCreation,
    reasoning,
  };
  // 1-hour cache writes: Anthropic's `cache_creation` breakdown, or LiteLLM's copy of it in the prompt details
  const split = (o.cache_creation ?? (pd?.cache_creation_token_details as unknown)) as JsonObject | undefined;
  const hour = split && typeof split === 'object' ? num(split.ephemeral_1h_input_tokens) : 0;
  if (hour > 0) usage.cacheCreation1h = hour;
  return usage;
}
