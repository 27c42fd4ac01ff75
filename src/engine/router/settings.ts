import type { ConfigWarning } from '../../config/litellm/load.js';
import type { LiteLLMConfig } from '../../config/litellm/schema.js';
import type { ErrorClass } from '../errors.js';
import { type RoutingStrategy, STRATEGIES, strategyNamed } from './strategies/index.js';

/** Per error class counts (retries, or failures allowed per minute before a cooldown). */
export type ClassCounts = Partial<Record<ErrorClass, number>>;

/** Everything the router decides with, read once from router_settings / litellm_settings. */
export interface RouterSettings {
  /** retries within a group after the first attempt; undefined when not configured (see retriesFor) */
  numRetries?: number;
  /** retries per error class (retry_policy); a class not listed uses numRetries */
  retryPolicy?: ClassCounts;
  /** model_group_retry_policy: per group, beats retryPolicy */
  groupRetryPolicy: Map<string, ClassCounts>;
  /** minimum wait before a retry, ms */
  retryAfterMs: number;
  fallbacks: Map<string, string[]>;
  contextWindowFallbacks: Map<string, string[]>;
  contentPolicyFallbacks: Map<string, string[]>;
  defaultFallbacks: string[];
  maxFallbacks: number;
  allowedFails: number;
  allowedFailsPolicy?: ClassCounts;
  cooldownMs: number;
  disableCooldowns: boolean;
  /** router_settings.routing_strategy, resolved once (router/strategies/) */
  strategy: RoutingStrategy;
  tagFiltering: boolean;
  tagMatchAny: boolean;
  preCallChecks: boolean;
}

/** LiteLLM's RetryPolicy / AllowedFailsPolicy field prefixes and the classes each one covers. */
const POLICY_CLASSES: Record<string, ErrorClass[]> = {
  BadRequestError: ['bad_request', 'context_window', 'too_large', 'not_found'],
  AuthenticationError: ['auth', 'permission'],
  TimeoutError: ['timeout'],
  RateLimitError: ['rate_limit'],
  ContentPolicyViolationError: ['content_policy'],
  InternalServerError: ['upstream', 'overloaded', 'connection'],
};

/** Turn `{RateLimitErrorRetries: 3, ...}` (suffix `Retries` or `AllowedFails`) into per-class counts. */
export function parsePolicy(
  v: unknown,
  suffix: 'Retries' | 'AllowedFails',
  at: string,
  warnings: ConfigWarning[],
): ClassCounts | undefined {
  if (v == null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) {
    warnings.push({ path: at, message: `expected a mapping such as {RateLimitError${suffix}: 3}` });
    return undefined;
  }
  const out: ClassCounts = {};
  // specific classes win over the BadRequestError umbrella: apply it first
  const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
    a.startsWith('BadRequest') ? -1 : b.startsWith('BadRequest') ? 1 : 0,
  );
  for (const [k, n] of entries) {
    const classes = k.endsWith(suffix) ? POLICY_CLASSES[k.slice(0, -suffix.length)] : undefined;
    const count = typeof n === 'number' ? n : typeof n === 'string' ? Number(n) : NaN;
    if (!classes)
      warnings.push({
        path: `${at}.${k}`,
        message: `unknown key; expected one of ${Object.keys(POLICY_CLASSES)
          .map((c) => c + suffix)
          .join(', ')}`,
      });
    else if (!Number.isFinite(count) || count < 0)
      warnings.push({ path: `${at}.${k}`, message: 'expected a number >= 0' });
    else for (const c of classes) out[c] = Math.floor(count);
  }
  return out;
}

/** `[{"a": ["b", "c"]}, ...]` into a map (later entries for the same group add to the list). */
function fallbackMap(...lists: unknown[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const list of lists) {
    if (!Array.isArray(list)) continue;
    for (const item of list) {
      if (!item || typeof item !== 'object') continue;
      for (const [group, targets] of Object.entries(item as Record<string, unknown>)) {
        if (m.has(group)) continue; // router_settings (first) beats litellm_settings
        const t = (Array.isArray(targets) ? targets : [targets]).filter((x): x is string => typeof x === 'string');
        m.set(group, t);
      }
    }
  }
  return m;
}

/** A finite number, or a numeric string (values from `os.environ/` references); else undefined. */
export function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

/** Read router settings (router_settings first, then litellm_settings), warning about values that cannot work. */
export function readRouterSettings(cfg: LiteLLMConfig, warnings: ConfigWarning[]): RouterSettings {
  const rs = cfg.router_settings as Record<string, unknown>;
  const ls = cfg.litellm_settings as Record<string, unknown>;
  const pick = (k: string) => (rs[k] !== undefined ? rs[k] : ls[k]);
  const strategyRaw = typeof rs.routing_strategy === 'string' ? rs.routing_strategy : STRATEGIES[0].name;
  let strategy = strategyNamed(strategyRaw);
  if (!strategy) {
    const names = STRATEGIES.map((x) => x.name).join(', ');
    warnings.push({
      path: 'router_settings.routing_strategy',
      message: `unknown strategy "${strategyRaw}"; expected one of ${names} (using ${STRATEGIES[0].name})`,
    });
    strategy = STRATEGIES[0];
  }
  const groupRetryPolicy = new Map<string, ClassCounts>();
  const mgrp = rs.model_group_retry_policy;
  if (mgrp && typeof mgrp === 'object') {
    for (const [g, p] of Object.entries(mgrp)) {
      const parsed = parsePolicy(p, 'Retries', `router_settings.model_group_retry_policy.${g}`, warnings);
      if (parsed) groupRetryPolicy.set(g, parsed);
    }
  }
  const defaults = pick('default_fallbacks');
  return {
    numRetries: num(pick('num_retries')) !== undefined ? Math.max(0, Math.floor(num(pick('num_retries'))!)) : undefined,
    retryPolicy: parsePolicy(
      pick('retry_policy'),
      'Retries',
      rs.retry_policy !== undefined ? 'router_settings.retry_policy' : 'litellm_settings.retry_policy',
      warnings,
    ),
    groupRetryPolicy,
    retryAfterMs: Math.max(0, (num(pick('retry_after')) ?? 0) * 1000),
    fallbacks: fallbackMap(rs.fallbacks, ls.fallbacks),
    contextWindowFallbacks: fallbackMap(rs.context_window_fallbacks, ls.context_window_fallbacks),
    contentPolicyFallbacks: fallbackMap(rs.content_policy_fallbacks, ls.content_policy_fallbacks),
    defaultFallbacks: Array.isArray(defaults) ? defaults.filter((x): x is string => typeof x === 'string') : [],
    maxFallbacks: Math.max(0, Math.floor(num(rs.max_fallbacks) ?? 5)),
    allowedFails: Math.max(0, Math.floor(num(pick('allowed_fails')) ?? 3)),
    allowedFailsPolicy: parsePolicy(
      rs.allowed_fails_policy,
      'AllowedFails',
      'router_settings.allowed_fails_policy',
      warnings,
    ),
    cooldownMs: Math.max(0, (num(pick('cooldown_time')) ?? 5) * 1000),
    disableCooldowns: pick('disable_cooldowns') === true,
    strategy,
    tagFiltering: rs.enable_tag_filtering === true,
    tagMatchAny: rs.tag_filtering_match_any !== false,
    preCallChecks: rs.enable_pre_call_checks === true,
  };
}

/**
 * Load-time warnings for fallback settings that name groups the config does not serve: a typo in
 * `fallbacks` would otherwise surface only when the primary fails, as a 400 for the fallback.
 * `serves` says whether a name is a group, an alias or a wildcard match.
 */
export function checkFallbackNames(
  cfg: LiteLLMConfig,
  s: RouterSettings,
  serves: (name: string) => boolean,
  warnings: ConfigWarning[],
): void {
  const rs = (cfg.router_settings ?? {}) as Record<string, unknown>;
  const kinds = [
    ['fallbacks', s.fallbacks],
    ['context_window_fallbacks', s.contextWindowFallbacks],
    ['content_policy_fallbacks', s.contentPolicyFallbacks],
  ] as const;
  for (const [key, map] of kinds) {
    const at = `${rs[key] !== undefined ? 'router_settings' : 'litellm_settings'}.${key}`;
    for (const [group, targets] of map) {
      if (group !== '*' && !serves(group))
        warnings.push({
          path: `${at}.${group}`,
          message: `"${group}" is not a model group this config serves, so these fallbacks never apply`,
        });
      for (const t of targets)
        if (!serves(t))
          warnings.push({
            path: `${at}.${group}`,
            message: `fallback "${t}" is not a model group this config serves (a fallback to it cannot succeed)`,
          });
    }
  }
  const at = `${rs.default_fallbacks !== undefined ? 'router_settings' : 'litellm_settings'}.default_fallbacks`;
  for (const t of s.defaultFallbacks)
    if (!serves(t))
      warnings.push({
        path: at,
        message: `fallback "${t}" is not a model group this config serves (a fallback to it cannot succeed)`,
      });
}
