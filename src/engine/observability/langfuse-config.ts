import type { LiteLLMConfig } from '../../config/litellm/schema.js';
import { callbackNames, callbackSides } from './prometheus-config.js';

/** What the Langfuse sink reads from the config and the environment, once at start-up. */
export interface LangfuseConfig {
  publicKey: string;
  secretKey: string;
  /** `LANGFUSE_HOST` without a trailing slash (default https://cloud.langfuse.com) */
  host: string;
  /** send successes (`success_callback` or `callbacks`) and failures (`failure_callback` or `callbacks`) */
  successes: boolean;
  failures: boolean;
  /** prompts and answers go to Langfuse unless `turn_off_message_logging: true` */
  content: boolean;
  /** `langfuse_default_tags`: which fields become `name:value` tags on every trace (`cache_hit`, ...) */
  defaultTags: readonly string[];
  /** `LANGFUSE_FLUSH_INTERVAL` (seconds) as ms; default 1 s */
  flushMs: number;
}

export const LANGFUSE_DEFAULT_HOST = 'https://cloud.langfuse.com';

/**
 * The sink's settings when `langfuse` is among the callbacks and both keys are set (in `env`, which holds
 * the config's `environment_variables` too); undefined otherwise. `warn` hears which key is missing.
 */
export function langfuseConfig(
  cfg: LiteLLMConfig,
  env: Readonly<Record<string, string | undefined>>,
  warn: (message: string) => void,
): LangfuseConfig | undefined {
  const ls = cfg.litellm_settings as Record<string, unknown>;
  if (!callbackNames(cfg).includes('langfuse')) return undefined;
  const missing = ['LANGFUSE_PUBLIC_KEY', 'LANGFUSE_SECRET_KEY'].filter((k) => !env[k]);
  if (missing.length > 0) {
    const many = missing.length > 1;
    warn(
      `langfuse callback is off: ${missing.join(' and ')} ${many ? 'are' : 'is'} not set ` +
        `(set ${many ? 'them' : 'it'} in the environment or in environment_variables)`,
    );
    return undefined;
  }
  const tags = Array.isArray(ls.langfuse_default_tags) ? ls.langfuse_default_tags : [];
  let host = (env.LANGFUSE_HOST || LANGFUSE_DEFAULT_HOST).replace(/\/+$/, '');
  if (!/^https?:\/\//i.test(host)) host = `http://${host}`; // as LiteLLM reads a bare host
  const flushInterval = Number(env.LANGFUSE_FLUSH_INTERVAL);
  return {
    publicKey: env.LANGFUSE_PUBLIC_KEY!,
    secretKey: env.LANGFUSE_SECRET_KEY!,
    host,
    ...callbackSides(cfg, 'langfuse'),
    content: ls.turn_off_message_logging !== true,
    defaultTags: tags.filter((t): t is string => typeof t === 'string'),
    flushMs: flushInterval > 0 ? flushInterval * 1000 : 1000,
  };
}
