/**
 * What an alert says, in LiteLLM's words: the Slack text (`{"text": ...}` of an incoming webhook) and the
 * generic webhook's JSON (LiteLLM's `WebhookEvent`). Pure functions; nothing here holds a key or a URL: keys
 * appear as their sha256 (`token`, as LiteLLM sends it) or as `sk-...last4`.
 */
import type { BudgetTarget } from '../../governance/budgets/targets.js';

export type Level = 'Low' | 'Medium' | 'High';

/** LiteLLM's `Litellm_EntityType` values, the webhook's `event_group`. */
export type EventGroup = 'key' | 'user' | 'end_user' | 'team' | 'team_member' | 'organization' | 'proxy';

/**
 * LiteLLM's `CallInfo` plus `event` and `event_message` (`WebhookEvent`), the generic webhook's body. Every field
 * is sent, null when unknown, in LiteLLM's order.
 */
export interface WebhookEvent {
  spend: number;
  max_budget: number | null;
  soft_budget: number | null;
  /** the key's sha256 (never the key) */
  token: string | null;
  customer_id: string | null;
  user_id: string | null;
  team_id: string | null;
  team_alias: string | null;
  user_email: string | null;
  key_alias: string | null;
  organization_id: string | null;
  projected_exceeded_date: string | null;
  projected_spend: number | null;
  event_group: EventGroup;
  event: 'budget_crossed' | 'soft_budget_crossed' | 'key_created';
  event_message: string;
}

/** The entity a budget target is, as LiteLLM names it (group, the prefix of its message, its ids). */
export function budgetEntity(t: BudgetTarget): {
  group: EventGroup;
  prefix: string;
  ids: Partial<Pick<WebhookEvent, 'token' | 'user_id' | 'team_id' | 'customer_id' | 'organization_id'>>;
} {
  const [a, b] = t.params;
  switch (t.kind) {
    case 'key':
    case 'model':
      return { group: 'key', prefix: 'Key Budget: ', ids: { token: a } };
    case 'user':
      return { group: 'user', prefix: 'User Budget: ', ids: { user_id: a } };
    case 'team':
      return { group: 'team', prefix: 'Team Budget: ', ids: { team_id: a } };
    case 'member':
      return { group: 'team_member', prefix: 'Team Member Budget: ', ids: { team_id: a, user_id: b } };
    case 'org':
      return { group: 'organization', prefix: 'Organization Budget: ', ids: { organization_id: a } };
    case 'end_user':
      return { group: 'end_user', prefix: 'Customer Budget: ', ids: { customer_id: a } };
    default:
      return { group: 'proxy', prefix: 'Proxy Budget: ', ids: {} };
  }
}

/** An empty event of `group`: every field null. */
export function webhookEvent(
  event: WebhookEvent['event'],
  group: EventGroup,
  message: string,
  fields: Partial<WebhookEvent>,
): WebhookEvent {
  return {
    spend: 0,
    max_budget: null,
    soft_budget: null,
    token: null,
    customer_id: null,
    user_id: null,
    team_id: null,
    team_alias: null,
    user_email: null,
    key_alias: null,
    organization_id: null,
    projected_exceeded_date: null,
    projected_spend: null,
    ...fields,
    event_group: group,
    event,
    event_message: message,
  };
}

/**
 * A budget alert's `event_message`, as LiteLLM builds it: `Key Budget: Budget Crossed\n Total Budget:`0.05``;
 * `Soft Budget Crossed: Total Soft Budget::`0.01``.
 */
export function budgetMessage(kind: 'max' | 'soft', prefix: string, limit: number): string {
  return kind === 'max'
    ? `${prefix}Budget Crossed\n Total Budget:\`${limit}\``
    : `Soft Budget Crossed: Total Soft Budget::\`${limit}\``;
}

/** The fields under a budget alert's Slack message: `*spend:* `0.05``, one a line, nulls and the token left out. */
export function fieldLines(e: WebhookEvent): string {
  let s = '';
  for (const [k, v] of Object.entries(e)) {
    if (v === null || k === 'token' || k === 'event' || k === 'event_message') continue;
    s += `*${k}:* \`${v}\`\n`;
  }
  return s;
}

/** `HH:MM:SS` (UTC) of an epoch ms. */
function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

/** Slack's body for an alert: LiteLLM's frame (level, time, message) and, when set, the proxy's URL. */
export function slackBody(level: Level, message: string, now: number, proxyUrl?: string): string {
  let text = `Level: \`${level}\`\nTimestamp: \`${clock(now)}\`\n\nMessage: ${message}`;
  if (proxyUrl) text += `\n\nProxy URL: \`${proxyUrl}\``;
  return JSON.stringify({ text });
}

/** The lines of a `key: `value`` list, skipping undefined and null values. */
export function argLines(fields: Record<string, unknown>): string {
  let s = '';
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined || v === null) continue;
    s += `${k}: \`${typeof v === 'string' ? v : JSON.stringify(v)}\`\n`;
  }
  return s;
}
