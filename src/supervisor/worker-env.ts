import { randomBytes } from 'node:crypto';
import type { ProxyPlan } from '../config/plan.js';
import { defaultModel } from '../config/resolve.js';

/**
 * A fresh per-run key for the worker to use against its local engine (which requires it: see LOCAL_KEY_ENV
 * in engine/child-contract.ts). Never a constant: any local user could otherwise spend the queue's provider
 * credits through 127.0.0.1, or a process that took the engine's port after a crash could pass for it.
 */
export function newLocalKey(): string {
  return `sk-kubiya-local-${randomBytes(24).toString('base64url')}`;
}

/** Where the worker's LLM calls go and with which key. */
export interface Endpoint {
  /** base URL without `/v1`, e.g. http://127.0.0.1:4123 */
  base: string;
  key: string;
}

/** The worker's key for the engine: the config's master key if set, else the run's local key. */
export function engineKey(plan: ProxyPlan, localKey: string): string {
  const mk = plan.config?.config.general_settings?.master_key;
  return typeof mk === 'string' && mk !== '' ? mk : localKey;
}

/** The endpoint for gateway mode: the control plane's gateway with the user's key. */
export function gatewayEndpoint(plan: ProxyPlan): Endpoint {
  const base = (plan.gatewayUrl ?? '').replace(/\/+$/, '').replace(/\/v1$/, '');
  return { base, key: plan.apiKey ?? '' };
}

/**
 * The worker's environment: the user's environment plus the proxy variables, so unmodified
 * OpenAI / Anthropic / LiteLLM SDK code goes through the proxy.
 */
export function workerEnv(
  plan: ProxyPlan,
  endpoint: Endpoint,
  base: NodeJS.ProcessEnv = process.env,
  singleExecution = false,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  const v1 = `${endpoint.base}/v1`;
  Object.assign(env, {
    LITELLM_API_BASE: endpoint.base,
    LITELLM_API_KEY: endpoint.key,
    OPENAI_BASE_URL: v1,
    OPENAI_API_BASE: v1,
    OPENAI_API_KEY: endpoint.key,
    ANTHROPIC_BASE_URL: endpoint.base,
    ANTHROPIC_API_KEY: endpoint.key,
    QUEUE_ID: plan.queueId,
    CONTROL_PLANE_URL: plan.controlPlaneUrl,
  });
  if (plan.apiKey) env.KUBIYA_API_KEY = plan.apiKey;
  if (plan.model) env.KUBIYA_MODEL_OVERRIDE = plan.model;
  const dflt = defaultModel(plan);
  if (dflt) env.LITELLM_DEFAULT_MODEL = dflt;
  // the Kubiya worker takes one task and exits (ephemeral queues)
  if (singleExecution) env.SINGLE_EXECUTION = 'true';
  return env;
}
