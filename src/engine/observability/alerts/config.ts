import type { LiteLLMConfig } from '../../../config/litellm/schema.js';

/** The alert types this engine sends (LiteLLM's names, used in `alert_types` and `alert_to_webhook_url`). */
export type AlertType =
  | 'budget_alerts'
  | 'llm_exceptions'
  | 'llm_too_slow'
  | 'cooldown_deployment'
  | 'new_virtual_key_created';

/**
 * LiteLLM's default `alert_types` (on when the config lists none). The management alerts
 * (`new_virtual_key_created`, ...) are off unless listed, as in LiteLLM.
 */
const DEFAULT_TYPES = [
  'llm_exceptions',
  'llm_too_slow',
  'llm_requests_hanging',
  'budget_alerts',
  'spend_reports',
  'failed_tracking_spend',
  'db_exceptions',
  'daily_reports',
  'cooldown_deployment',
  'new_model_added',
  'outage_alerts',
  'region_outage_alerts',
  'fallback_reports',
];
/** Every name LiteLLM accepts in `alert_types` (the ones we do not send are accepted and do nothing). */
const KNOWN_TYPES = new Set([
  ...DEFAULT_TYPES,
  'new_virtual_key_created',
  'virtual_key_updated',
  'virtual_key_deleted',
  'new_team_created',
  'team_updated',
  'team_deleted',
  'new_internal_user_created',
  'internal_user_updated',
  'internal_user_deleted',
]);

export interface AlertingConfig {
  /** Slack (or a Slack-compatible incoming webhook: Discord's `/slack` URL, ...): the default URL and per-type ones */
  slack?: { url?: string; byType: ReadonlyMap<string, readonly string[]> };
  /** the generic webhook (`WEBHOOK_URL`): LiteLLM's WebhookEvent JSON */
  webhook?: { url: string };
  /** the alert types that fire */
  types: ReadonlySet<string>;
  /** `alerting_threshold`: a request slower than this (s) is a `llm_too_slow` alert; default 300 */
  thresholdS: number;
  /** `alerting_args.budget_alert_ttl` (s): how long a budget without a window stays alerted; default 86400 */
  budgetTtlS: number;
  /** `PROXY_BASE_URL`, added to Slack messages as LiteLLM does */
  proxyUrl?: string;
}

const isHttpUrl = (u: string) => /^https?:\/\/[^\s]+$/i.test(u);

/**
 * The alerting settings when `general_settings.alerting` names `slack` or `webhook` and a URL is set for it
 * (in `env`, which holds the config's `environment_variables` too); undefined otherwise. `warn` hears what is
 * off and why. Never puts a URL in a message: a Slack webhook URL is a credential.
 */
export function alertingConfig(
  cfg: LiteLLMConfig,
  env: Readonly<Record<string, string | undefined>>,
  warn: (message: string) => void,
): AlertingConfig | undefined {
  const gs = cfg.general_settings;
  const channels = gs.alerting ?? [];
  if (channels.length === 0) return undefined;
  for (const c of channels)
    if (c !== 'slack' && c !== 'webhook')
      warn(`general_settings.alerting: "${c}" alerts are not implemented yet (slack and webhook are)`);
  const out: AlertingConfig = {
    types: new Set(gs.alert_types ?? DEFAULT_TYPES),
    thresholdS: gs.alerting_threshold ?? 300,
    budgetTtlS: Number(gs.alerting_args?.budget_alert_ttl) > 0 ? Number(gs.alerting_args?.budget_alert_ttl) : 86400,
    proxyUrl: env.PROXY_BASE_URL || undefined,
  };
  for (const t of gs.alert_types ?? [])
    if (!KNOWN_TYPES.has(t)) warn(`general_settings.alert_types: "${t}" is not one of LiteLLM's alert types`);
  if (channels.includes('slack')) {
    const byType = new Map<string, string[]>();
    for (const [type, v] of Object.entries(gs.alert_to_webhook_url ?? {})) {
      const urls = (Array.isArray(v) ? v : [v]).filter((u) => typeof u === 'string' && isHttpUrl(u));
      if (urls.length > 0) byType.set(type, urls);
      else warn(`general_settings.alert_to_webhook_url.${type}: expected an http(s) URL or a list of them`);
    }
    const url = env.SLACK_WEBHOOK_URL || env.ALERTING_WEBHOOK_URL || undefined;
    if (url !== undefined && !isHttpUrl(url)) warn('slack alerts are off: SLACK_WEBHOOK_URL is not an http(s) URL');
    else if (url === undefined && byType.size === 0)
      warn(
        'slack alerts are off: SLACK_WEBHOOK_URL is not set (set it in the environment or in environment_variables)',
      );
    else out.slack = { url, byType };
  }
  if (channels.includes('webhook')) {
    const url = env.WEBHOOK_URL;
    if (!url)
      warn('webhook alerts are off: WEBHOOK_URL is not set (set it in the environment or in environment_variables)');
    else if (!isHttpUrl(url)) warn('webhook alerts are off: WEBHOOK_URL is not an http(s) URL');
    else out.webhook = { url };
  }
  return out.slack || out.webhook ? out : undefined;
}
