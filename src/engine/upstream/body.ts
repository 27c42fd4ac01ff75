import type { Deployment } from '../deployment.js';
import { badRequest } from '../errors.js';
import type { MessagesCall, ProviderAdapter } from '../providers/types.js';
import type { NativeMessagesRequest } from '../router/attempt.js';
import type { JsonObject } from '../wire.js';

/** Request keys that steer LiteLLM itself and are never sent upstream. */
const LITELLM_ONLY = new Set([
  'mock_response',
  'mock_testing_fallbacks',
  'mock_testing_context_fallbacks',
  'mock_testing_content_policy_fallbacks',
  'mock_testing_rate_limit_error',
  'mock_timeout',
  'mock_delay',
  'fallbacks',
  'context_window_fallbacks',
  'content_policy_fallbacks',
  'num_retries',
  'max_retries',
  'caching',
  'cache',
  'ttl',
  'drop_params',
  'additional_drop_params',
  'metadata',
  'litellm_metadata',
  'tags',
  'timeout',
  'stream_timeout',
  'api_key',
  'api_base',
  'base_url',
  'api_version',
  'custom_llm_provider',
  'extra_body',
  'disable_fallbacks',
  'input_cost_per_token',
  'output_cost_per_token',
  'litellm_call_id',
  'proxy_server_request',
  'guardrails',
  'litellm_logging_obj',
  'model_list',
  'user_api_key',
  'user_api_key_alias',
  'user_api_key_team_id',
]);

/** The body the adapter receives: config defaults, then the request (it wins), then extra_body; params dropped. */
export function upstreamBody(
  dep: Deployment,
  adapter: ProviderAdapter,
  body: JsonObject,
  model: string,
  stream: boolean,
  /** the adapter's unsupportedParams are chat parameters: the media endpoints' own `n`, `seed`, ... pass */
  chatParams = true,
): JsonObject {
  const out: JsonObject = dep.defaults ? { ...dep.defaults } : {};
  let drop = dep.dropParams;
  let extra: unknown;
  for (const k in body) {
    if (LITELLM_ONLY.has(k)) {
      if (k === 'extra_body') extra = body[k];
      else if (k === 'drop_params' && typeof body[k] === 'boolean') drop = body[k] as boolean;
      continue;
    }
    out[k] = body[k];
  }
  out.model = model;
  if (!stream) delete out.stream_options;
  if (dep.extraBody) Object.assign(out, dep.extraBody);
  if (extra && typeof extra === 'object') Object.assign(out, extra);
  const unsupported = chatParams ? adapter.unsupportedParams : undefined;
  if (unsupported) {
    for (const p of unsupported) {
      const v = out[p];
      if (v === undefined || v === null || (p === 'n' && v === 1)) continue;
      if (!drop) {
        throw badRequest(
          `${adapter.label} does not support the parameter "${p}". To drop parameters a provider does not take, ` +
            'set drop_params: true (litellm_settings, litellm_params or the request).',
          p,
          'unsupported_params',
        );
      }
      delete out[p];
    }
  }
  for (const p of dep.additionalDropParams) delete out[p];
  return out;
}

/**
 * Keys of a Messages request that steer the engine (as on the chat route) and are not Anthropic's: kept off
 * the wire. `metadata` stays: in the Messages API it is Anthropic's own field.
 */
const ENGINE_ONLY = new Set([
  'mock_response',
  'timeout',
  'stream_timeout',
  'num_retries',
  'fallbacks',
  'drop_params',
  'extra_body',
  'litellm_metadata',
]);

/** The Messages request a native deployment gets: the client's body with the upstream model and no engine keys. */
export function messagesCall(native: NativeMessagesRequest, model: string, stream: boolean): MessagesCall {
  const body: JsonObject = {};
  for (const k in native.body) if (!ENGINE_ONLY.has(k)) body[k] = native.body[k];
  body.model = model;
  const extra = native.body.extra_body;
  if (extra && typeof extra === 'object' && !Array.isArray(extra)) Object.assign(body, extra);
  return { body, model, stream, beta: native.beta, version: native.version };
}
