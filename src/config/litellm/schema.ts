import * as z from 'zod';

// Parsed once per load: zod's JIT (a generated parser per object schema, built with new Function on the first
// parse) costs more than it saves here (~5 ms of the engine's cold start)
z.config({ jitless: true });

/** A string list or a single string (LiteLLM accepts both for `stop`, tags, ...). */
/** Numbers may arrive as strings (from `os.environ/...` references or quoted YAML): accept "100" and "20_000". */
const toNum = (v: unknown) =>
  typeof v === 'string' && /^\s*-?[\d_]+(\.\d+)?\s*$/.test(v) ? Number(v.replace(/_/g, '')) : v;
const num = z.preprocess(toNum, z.number());
const int = z.preprocess(toNum, z.number().int());
const positive = z.preprocess(toNum, z.number().positive());
const fallbackList = z.array(z.union([z.record(z.string(), z.array(z.string())), z.string()]));

export const litellmParamsSchema = z.looseObject({
  model: z.string().min(1),
  api_key: z.string().optional(),
  api_base: z.string().optional(),
  base_url: z.string().optional(),
  api_version: z.string().optional(),
  organization: z.string().optional(),
  custom_llm_provider: z.string().optional(),
  timeout: num.optional(),
  stream_timeout: num.optional(),
  max_retries: int.optional(),
  num_retries: int.optional(),
  rpm: num.optional(),
  tpm: num.optional(),
  weight: num.optional(),
  order: num.optional(),
  tags: z.array(z.string()).optional(),
  mock_response: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  drop_params: z.boolean().optional(),
  additional_drop_params: z.array(z.string()).optional(),
  extra_headers: z.record(z.string(), z.string()).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  input_cost_per_token: num.optional(),
  output_cost_per_token: num.optional(),
});

export const modelInfoSchema = z.looseObject({
  id: z.union([z.string(), z.number()]).transform(String).optional(),
  mode: z.string().optional(),
  base_model: z.string().optional(),
  input_cost_per_token: num.optional(),
  output_cost_per_token: num.optional(),
  max_tokens: num.optional(),
  max_input_tokens: num.optional(),
  max_output_tokens: num.optional(),
});

export const modelEntrySchema = z.looseObject({
  model_name: z.union([z.string().min(1), z.number()]).transform(String),
  litellm_params: litellmParamsSchema,
  model_info: modelInfoSchema.optional(),
});

export const routerSettingsSchema = z.looseObject({
  routing_strategy: z.string().optional(),
  num_retries: int.optional(),
  retry_after: num.optional(),
  timeout: num.optional(),
  stream_timeout: num.optional(),
  fallbacks: fallbackList.optional(),
  context_window_fallbacks: fallbackList.optional(),
  content_policy_fallbacks: fallbackList.optional(),
  default_fallbacks: z.array(z.string()).optional(),
  allowed_fails: int.optional(),
  cooldown_time: num.optional(),
  disable_cooldowns: z.boolean().optional(),
  model_group_alias: z.record(z.string(), z.union([z.string(), z.record(z.string(), z.unknown())])).optional(),
  enable_pre_call_checks: z.boolean().optional(),
  enable_tag_filtering: z.boolean().optional(),
});

// LiteLLM's cache types and call types (the engine serves local and redis; the others turn the cache off)
const CACHE_TYPES = [
  'local',
  'redis',
  'redis-semantic',
  'valkey-semantic',
  'qdrant-semantic',
  's3',
  'gcs',
  'azure-blob',
  'disk',
] as const;
const CALL_TYPES = [
  'completion',
  'acompletion',
  'embedding',
  'aembedding',
  'transcription',
  'atranscription',
  'text_completion',
  'atext_completion',
  'rerank',
  'arerank',
  'anthropic_messages',
  'aanthropic_messages',
] as const;

/** `litellm_settings.cache_params`: the response cache (docs/cache.md); the Redis location is redis/settings.ts's. */
const cacheParamsSchema = z.looseObject({
  type: z.enum(CACHE_TYPES).optional(),
  mode: z.enum(['default_on', 'default_off']).optional(),
  ttl: positive.optional(),
  default_in_memory_ttl: positive.optional(),
  default_in_redis_ttl: positive.optional(),
  namespace: z.string().optional(),
  supported_call_types: z.array(z.enum(CALL_TYPES)).optional(),
  max_size_in_memory: positive.optional(),
  max_size_per_item: positive.optional(),
  scope: z.enum(['team', 'key', 'shared']).optional(),
});

export const litellmSettingsSchema = z.looseObject({
  cache: z.boolean().optional(),
  cache_params: cacheParamsSchema.optional(),
  drop_params: z.boolean().optional(),
  num_retries: int.optional(),
  request_timeout: num.optional(),
  json_logs: z.boolean().optional(),
  set_verbose: z.boolean().optional(),
  fallbacks: fallbackList.optional(),
  context_window_fallbacks: fallbackList.optional(),
  content_policy_fallbacks: fallbackList.optional(),
  default_fallbacks: z.array(z.string()).optional(),
  // custom metadata (environment, team, project, ...) every call's sinks get under the request's own
  metadata: z.record(z.string(), z.unknown()).optional(),
  // which Prometheus metrics exist and with which labels (LiteLLM's PrometheusMetricsConfig groups)
  prometheus_metrics_config: z
    .array(
      z.looseObject({
        group: z.string(),
        metrics: z.array(z.string()),
        include_labels: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});

export const generalSettingsSchema = z.looseObject({
  master_key: z.string().optional(),
  max_request_size_mb: positive.optional(),
  health_check_interval: num.optional(),
  // kubiya's own (LiteLLM has no equivalents): client connection cap and the deadlines of a request's arrival
  max_client_connections: positive.optional(),
  client_header_timeout: positive.optional(),
  client_body_timeout: positive.optional(),
  max_inflight_request_mb: positive.optional(),
  // alerts (docs/governance-alerts.md): channels, which alert types fire, the slow-request threshold (s)
  alerting: z.array(z.string()).optional(),
  alert_types: z.array(z.string()).optional(),
  alerting_threshold: positive.optional(),
  alerting_args: z.record(z.string(), z.unknown()).optional(),
  alert_to_webhook_url: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
  // routes forwarded to a URL of the config's with its headers (docs/pass-through.md)
  pass_through_endpoints: z
    .array(
      z.looseObject({
        path: z.string().regex(/^\/[^?#]*$/, 'expected a path starting with "/"'),
        // optional: an `os.environ/` reference to an unset variable was warned about at load; the route then
        // answers with a 503 saying so instead of stopping the whole config
        target: z
          .string()
          .regex(/^https?:\/\/\S+$/, 'expected an http(s) URL')
          .optional(),
        headers: z.record(z.string(), z.union([z.string(), z.number()]).transform(String)).optional(),
        forward_headers: z.boolean().optional(),
        include_subpath: z.boolean().optional(),
      }),
    )
    .optional(),
});

export const litellmConfigSchema = z.looseObject({
  model_list: z.array(modelEntrySchema).default([]),
  litellm_settings: litellmSettingsSchema.default({}),
  router_settings: routerSettingsSchema.default({}),
  general_settings: generalSettingsSchema.default({}),
  environment_variables: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String))
    .default({}),
});

export type LiteLLMConfig = z.infer<typeof litellmConfigSchema>;
export type ModelEntry = z.infer<typeof modelEntrySchema>;
export type LiteLLMParams = z.infer<typeof litellmParamsSchema>;
export type ModelInfo = z.infer<typeof modelInfoSchema>;
export type RouterSettings = z.infer<typeof routerSettingsSchema>;
export type LiteLLMSettings = z.infer<typeof litellmSettingsSchema>;
export type GeneralSettings = z.infer<typeof generalSettingsSchema>;
