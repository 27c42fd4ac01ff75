import { providerParamKeys } from '../../engine/providers/registry.js';

/**
 * Config keys the engine knows. `supported` keys act; `later` keys are real LiteLLM keys the engine
 * does not implement yet (a warning says so); anything else is unknown (a warning with "did you mean").
 */
export interface KeySet {
  supported: readonly string[];
  later: readonly string[];
}

export const TOP_LEVEL: KeySet = {
  supported: ['model_list', 'litellm_settings', 'router_settings', 'general_settings', 'environment_variables'],
  later: [
    'mcp_servers', 'guardrails', 'policies', 'policy_attachments', 'search_tools', 'assistant_settings',
    'files_settings', 'finetune_settings', 'callback_settings', 'credential_list', 'vector_store_registry',
    'model_group_settings', 'mcp_tools', 'prompts', 'pass_through_endpoints',
  ],
};

export const MODEL_ENTRY: KeySet = {
  supported: ['model_name', 'litellm_params', 'model_info'],
  // LiteLLM also reads rpm/tpm at the entry level (deprecated there; litellm_params is the place).
  later: [],
};

export const LITELLM_PARAMS: KeySet = {
  supported: [
    'model', 'api_key', 'api_base', 'base_url', 'api_version', 'organization', 'custom_llm_provider',
    'timeout', 'stream_timeout', 'max_retries', 'num_retries', 'rpm', 'tpm', 'weight', 'order', 'tags',
    'mock_response', 'drop_params', 'additional_drop_params', 'extra_headers', 'headers', 'extra_body',
    'temperature', 'max_tokens', 'max_completion_tokens', 'top_p', 'seed', 'stop', 'n', 'user',
    'presence_penalty', 'frequency_penalty', 'response_format', 'reasoning_effort', 'thinking', 'keep_alive',
    'input_cost_per_token', 'output_cost_per_token', 'max_new_tokens',
    // provider credentials and locations (aws_*, vertex_*, azure_ad_token, ...), declared by each provider's facts
    ...providerParamKeys(),
  ],
  later: [
    'use_in_pass_through', 'merge_reasoning_content_in_choices', 'cache_control_injection_points',
    'aws_batch_role_arn', 's3_bucket_name', 's3_region_name', 's3_access_key_id', 's3_secret_access_key',
    'input_cost_per_second', 'output_cost_per_second', 'metadata', 'litellm_credential_name',
    'use_litellm_proxy', 'auto_router_config', 'configurable_clientside_auth_params',
  ],
};

export const MODEL_INFO: KeySet = {
  supported: [
    'id', 'mode', 'base_model', 'input_cost_per_token', 'output_cost_per_token', 'max_tokens',
    'max_input_tokens', 'max_output_tokens', 'supports_vision', 'supports_function_calling',
    'supports_tool_choice', 'supports_response_schema', 'supports_prompt_caching', 'description',
    'access_groups', 'team_id', 'db_model', 'litellm_provider', 'tier', 'health_check_model',
  ],
  later: [],
};

export const ROUTER_SETTINGS: KeySet = {
  supported: [
    'routing_strategy', 'routing_strategy_args', 'num_retries', 'retry_policy', 'model_group_retry_policy',
    'retry_after', 'timeout', 'stream_timeout', 'fallbacks', 'context_window_fallbacks',
    'content_policy_fallbacks', 'default_fallbacks', 'max_fallbacks', 'allowed_fails', 'allowed_fails_policy',
    'cooldown_time', 'disable_cooldowns', 'model_group_alias', 'enable_pre_call_checks',
    'enable_tag_filtering', 'tag_filtering_match_any',
  ],
  later: [
    'redis_host', 'redis_port', 'redis_password', 'redis_url', 'cache_responses', 'cache_kwargs',
    'provider_budget_config', 'optional_pre_call_checks', 'polling_interval', 'client_ttl',
    'default_max_parallel_requests', 'default_priority', 'set_verbose', 'debug_level',
  ],
};

export const LITELLM_SETTINGS: KeySet = {
  supported: [
    'drop_params', 'modify_params', 'num_retries', 'request_timeout', 'fallbacks', 'context_window_fallbacks',
    'content_policy_fallbacks', 'default_fallbacks', 'json_logs', 'set_verbose', 'allowed_fails',
    'cooldown_time', 'retry_policy', 'stream_timeout',
  ],
  later: [
    'callbacks', 'success_callback', 'failure_callback', 'service_callback', 'cache', 'cache_params',
    'telemetry', 'default_team_settings', 'include_cost_in_streaming_usage', 'mcp_semantic_tool_filter',
    'websearch_interception_params', 'disable_end_user_cost_tracking_prometheus_only', 'max_budget',
    'budget_duration', 'redact_messages_in_exceptions', 'turn_off_message_logging', 'upperbound_key_generate_params',
    'default_internal_user_params', 'max_internal_user_budget', 'enable_preview_features', 'force_ipv4',
    'ssl_verify', 'return_response_headers', 'callback_settings', 'guardrails', 'langfuse_default_tags',
    'default_key_generate_params', 'key_generation_settings', 'enable_json_schema_validation',
  ],
};

export const GENERAL_SETTINGS: KeySet = {
  supported: [
    'master_key', 'max_request_size_mb', 'max_response_size_mb', 'health_check_interval',
    'background_health_checks', 'health_check_details', 'request_timeout',
  ],
  later: [
    'database_url', 'store_model_in_db', 'disable_prisma_schema_update', 'custom_auth', 'otel',
    'pass_through_endpoints', 'reject_clientside_metadata_tags', 'store_prompts_in_spend_logs',
    'use_redis_transaction_buffer', 'alerting', 'alerting_threshold', 'alert_types', 'alerting_args',
    'database_connection_pool_limit', 'database_connection_timeout', 'proxy_batch_write_at',
    'disable_spend_logs', 'disable_master_key_return', 'enforce_user_param', 'allowed_routes',
    'public_routes', 'admin_only_routes', 'ui_access_mode', 'litellm_key_header_name', 'infer_model_from_keys',
    'proxy_budget_rescheduler_min_time', 'proxy_budget_rescheduler_max_time', 'enable_jwt_auth',
    'litellm_jwtauth', 'allow_client_side_credentials', 'maximum_spend_logs_retention_period',
    'disable_reset_budget', 'disable_retry_on_max_parallel_request_limit_error', 'user_header_name',
  ],
};
