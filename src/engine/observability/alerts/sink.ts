/**
 * Alerts to Slack and a generic webhook (`general_settings.alerting: ["slack", "webhook"]`), LiteLLM's alert
 * types: budget_alerts (budget_crossed, soft_budget_crossed), new_virtual_key_created (key_created),
 * llm_exceptions and cooldown_deployment (a failing deployment), llm_too_slow. docs/governance-alerts.md.
 *
 * Nothing here runs on a request's path: the hooks check the once-per-window rule (a Map lookup) and queue;
 * a background loop POSTs one alert at a time with a timeout, the queue is bounded, failures are counted and
 * warned about at most once a minute, and close() sends what is queued. No URL and no key reaches a log line
 * or an alert: keys appear as their sha256 or `sk-...last4`.
 */
import { request } from 'undici';
import type { Deployment, ModelGroup } from '../../deployment.js';
import type { BudgetTarget } from '../../governance/budgets/targets.js';
import type { KeyRow, UserRole } from '../../governance/db/schema.js';
import { parseJson } from '../../governance/db/schema.js';
import type { Governance } from '../../governance/governance.js';
import type { GovernanceAlertHooks } from '../../governance/types.js';
import { DEPLOYMENT_FAULTS } from '../../router/cooldown.js';
import type { RouteTable } from '../../router/table.js';
import type { RouterState, StateView } from '../../state/router-state.js';
import type { SettledAttemptDetail, SettledEvent } from '../settled.js';
import type { AlertingConfig, AlertType } from './config.js';
import {
  argLines,
  budgetEntity,
  budgetMessage,
  fieldLines,
  type Level,
  slackBody,
  type WebhookEvent,
  webhookEvent,
} from './messages.js';

export interface AlertSinkOptions {
  config: AlertingConfig;
  table: RouteTable;
  state: RouterState;
  warn: (fields: Record<string, unknown>, message: string) => void;
  /** epoch ms for the once-per-window rule and the alerts' times (the engine's clock) */
  now?: () => number;
  /** per POST (default 5 s) */
  timeoutMs?: number;
  /** alerts queued beyond which new ones are dropped (default 1,000) */
  maxQueue?: number;
  /** how long a failing or slow deployment stays alerted (default 5 minutes) */
  deploymentWindowMs?: number;
}

interface Outgoing {
  channel: 'slack' | 'webhook';
  url: string;
  body: string;
}

const WARN_EVERY_MS = 60_000;
/** windows remembered at most (the oldest are forgotten beyond it) */
const MAX_SEEN = 10_000;

/** An error text without any URL in it (a Slack webhook URL is a credential). */
function scrub(s: string): string {
  return s.replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<url>');
}

export class AlertSink implements GovernanceAlertHooks {
  private queue: Outgoing[] = [];
  private sending: Promise<void> | undefined;
  private kicked = false;
  /** alert key -> epoch ms until which it does not fire again */
  private readonly seen = new Map<string, number>();
  /** background work (a budget alert's lookups) close() waits for */
  private readonly pending = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private readonly maxQueue: number;
  private readonly windowMs: number;
  private readonly byId = new Map<string, { d: Deployment; g: ModelGroup }>();
  private lastWarn = 0;
  private closed = false;
  /** governance, for the names a budget alert shows (key alias, team alias, user email) */
  governance?: Governance;
  /** alerts a receiver took (2xx) / that never got there (refused, timed out, queue full, shut down) */
  sent = 0;
  failed = 0;

  constructor(private readonly opts: AlertSinkOptions) {
    this.now = opts.now ?? Date.now;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.maxQueue = opts.maxQueue ?? 1000;
    this.windowMs = opts.deploymentWindowMs ?? 5 * 60_000;
    this.setTable(opts.table);
  }

  /** The deployments alerts name (at start, and again when the model API replaces the route table). */
  setTable(table: RouteTable): void {
    this.byId.clear();
    for (const g of [...table.groups.values(), ...table.wildcards.map((w) => w.group)])
      for (const d of g.deployments) if (!this.byId.has(d.id)) this.byId.set(d.id, { d, g });
  }

  private on(type: AlertType): boolean {
    return this.opts.config.types.has(type);
  }

  /** The settled-event subscriber: failing and slow deployments. Cheap for a plain success. */
  readonly observe = (e: SettledEvent): undefined => {
    if (e.status === 'success' && e.durationMs > this.opts.config.thresholdS * 1000) this.slow(e);
    if (e.status === 'success' && e.attempts <= 1) return;
    const calls = e.attemptDetails;
    if (!calls) return;
    for (let i = 0; i < calls.length; i++) {
      const a = calls[i];
      if (a.status !== 'error' || !a.errorClass || !DEPLOYMENT_FAULTS.has(a.errorClass)) continue;
      // the request's error text is the last attempt's (masked); an earlier attempt has its status and class
      this.failing(e, a, i === calls.length - 1 ? e.errorMessage : undefined);
    }
    return undefined;
  };

  /** LiteLLM's llm_exceptions and cooldown_deployment, each once per deployment per window. */
  private failing(e: SettledEvent, a: SettledAttemptDetail, message: string | undefined): void {
    const now = this.now();
    const what = message ?? `${a.errorStatus ?? ''} ${a.errorClass}`.trim();
    if (this.on('llm_exceptions') && this.once(`llm_exceptions:${a.deploymentId}`, now + this.windowMs)) {
      const text =
        `LLM API call failed: \`${what}\`\n\nRequest Model: \`${e.requestedModel}\`\n` +
        `Model Group: \`${a.modelGroup}\`\nDeployment: \`${a.litellmModel}\` (id \`${a.deploymentId}\`)\n` +
        `API Base: \`${a.apiBase ?? ''}\``;
      this.send('llm_exceptions', 'High', text);
    }
    const found = this.on('cooldown_deployment') ? this.byId.get(a.deploymentId) : undefined;
    if (!found) return;
    // the router's cooldown clock is the wall clock (the state recorded this failure before the event was sent)
    const wall = Date.now();
    const check = (view: StateView) => {
      const until = view.of(found.d).cooldownUntil;
      if (until <= wall || !this.once(`cooldown_deployment:${a.deploymentId}`, this.now() + this.windowMs)) return;
      const text =
        `*⚠️ Deployment in Cooldown*\n\n*Model Name:* \`${a.litellmModel}\`\n*Model Group:* \`${a.modelGroup}\`\n` +
        `*Provider:* \`${a.provider ?? ''}\`\n*API Base:* \`${a.apiBase ?? ''}\`\n\n` +
        `*Cooldown:* \`${Math.ceil((until - wall) / 1000)}s\`\n*Error:* \`${what}\``;
      this.send('cooldown_deployment', 'High', text);
    };
    const v = this.opts.state.read(found.g, wall);
    if (v instanceof Promise) this.track(v.then(check));
    else check(v);
  }

  /** LiteLLM's llm_too_slow, once per deployment per window. */
  private slow(e: SettledEvent): void {
    if (!this.on('llm_too_slow')) return;
    const id = e.deploymentId ?? e.requestedModel;
    if (!this.once(`llm_too_slow:${id}`, this.now() + this.windowMs)) return;
    const s = Math.round(e.durationMs / 10) / 100;
    let text =
      `\`Responses are slow - ${s}s response time > Alerting threshold: ${this.opts.config.thresholdS}s\`\n` +
      `Request Model: \`${e.requestedModel}\`\nAPI Base: \`${e.apiBase ?? ''}\``;
    if (e.principal.keyAlias) text += `\n\nKey Name: \`${e.principal.keyAlias}\``;
    if (e.principal.teamId) text += `\nTeam: \`${e.principal.teamId}\``;
    this.send('llm_too_slow', 'Low', text);
  }

  /** Governance's hook: budget_crossed / soft_budget_crossed, once per entity, budget and window. */
  budget(kind: 'max' | 'soft', t: BudgetTarget, spend: number, window: number | null): void {
    if (!this.on('budget_alerts') || this.closed) return;
    const limit = kind === 'max' ? t.maxBudget : t.softBudget;
    if (limit === undefined) return;
    const now = this.now();
    // a budget with a window alerts again in the next one; one without, after budget_alert_ttl (LiteLLM's rule)
    const until = window !== null && window > now ? window : now + this.opts.config.budgetTtlS * 1000;
    const event = kind === 'max' ? 'budget_crossed' : 'soft_budget_crossed';
    // the limit is part of the key: a budget raised and crossed again is a new alert
    if (!this.once(`${event}:${t.id}:${limit}`, until)) return;
    // may run inside a budget transaction: the lookups and the rest happen later
    this.track(
      new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
        const { group, prefix, ids } = budgetEntity(t);
        const message = budgetMessage(kind, prefix, limit);
        const names = await this.names(ids.token ?? undefined, ids.team_id ?? undefined, ids.user_id ?? undefined);
        const ev = webhookEvent(event, group, message, {
          spend,
          max_budget: t.maxBudget ?? null,
          soft_budget: t.softBudget ?? null,
          ...ids,
          ...names,
        });
        this.send('budget_alerts', 'High', `${message}\n\n${fieldLines(ev)}`, ev);
      }),
    );
  }

  /** Governance's hook: key_created (LiteLLM's new_virtual_key_created), with the key's hash and `sk-...last4`. */
  keyCreated(row: KeyRow, caller: { by: string; role: UserRole }): void {
    if (!this.on('new_virtual_key_created') || this.closed) return;
    const ev = webhookEvent('key_created', 'key', 'API Key Created', {
      spend: row.spend,
      max_budget: row.max_budget,
      soft_budget: row.soft_budget,
      token: row.token,
      user_id: row.user_id,
      team_id: row.team_id,
      key_alias: row.key_alias,
      organization_id: row.organization_id,
    });
    const text =
      '`Virtual Key Created`\n*Action Done by:*\n' +
      argLines({ created_by_user_id: caller.by, created_by_user_role: caller.role }) +
      '\n*Arguments passed:*\n' +
      argLines({
        key_name: row.key_name,
        key_alias: row.key_alias,
        user_id: row.user_id,
        team_id: row.team_id,
        models: parseJson<string[]>(row.models, []),
        max_budget: row.max_budget,
        soft_budget: row.soft_budget,
        budget_duration: row.budget_duration,
        tpm_limit: row.tpm_limit,
        rpm_limit: row.rpm_limit,
        max_parallel_requests: row.max_parallel_requests,
        expires: row.expires === null ? null : new Date(row.expires).toISOString(),
      });
    this.send('new_virtual_key_created', 'High', text, ev);
  }

  /** The names a budget alert shows (LiteLLM's CallInfo): best effort, nothing when the store does not answer. */
  private async names(token?: string, teamId?: string, userId?: string): Promise<Partial<WebhookEvent>> {
    const db = this.governance?.store.db;
    if (!db) return {};
    const out: Partial<WebhookEvent> = {};
    try {
      if (token) {
        const k = await db
          .selectFrom('keys')
          .select(['key_alias', 'user_id', 'team_id'])
          .where('token', '=', token)
          .executeTakeFirst();
        if (k) Object.assign(out, k);
      }
      const team = teamId ?? out.team_id ?? undefined;
      if (team) {
        const t = await db.selectFrom('teams').select('team_alias').where('team_id', '=', team).executeTakeFirst();
        if (t) out.team_alias = t.team_alias;
      }
      const user = userId ?? out.user_id ?? undefined;
      if (user) {
        const u = await db.selectFrom('users').select('user_email').where('user_id', '=', user).executeTakeFirst();
        if (u) out.user_email = u.user_email;
      }
    } catch {
      // the alert goes out with the ids it has
    }
    return out;
  }

  /** True the first time `key` is seen, or once its window (until epoch ms) has passed. */
  private once(key: string, until: number): boolean {
    const now = this.now();
    const u = this.seen.get(key);
    if (u !== undefined && u > now) return false;
    if (this.seen.size >= MAX_SEEN) {
      for (const [k, v] of this.seen) if (v <= now) this.seen.delete(k);
      // still full: forget the oldest half (a Map iterates in insertion order)
      let n = this.seen.size >= MAX_SEEN ? MAX_SEEN / 2 : 0;
      for (const k of this.seen.keys()) {
        if (n-- <= 0) break;
        this.seen.delete(k);
      }
    }
    this.seen.set(key, until);
    return true;
  }

  /** Queue an alert for Slack (its URL for the type, else the default) and, with `event`, the webhook. */
  private send(type: AlertType, level: Level, text: string, event?: WebhookEvent): void {
    const c = this.opts.config;
    const out: Outgoing[] = [];
    if (c.slack) {
      const urls = c.slack.byType.get(type) ?? (c.slack.url ? [c.slack.url] : []);
      const body = slackBody(level, text, this.now(), c.proxyUrl);
      for (const url of urls) out.push({ channel: 'slack', url, body });
    }
    if (c.webhook && event) out.push({ channel: 'webhook', url: c.webhook.url, body: JSON.stringify(event) });
    for (const o of out) {
      if (this.closed || this.queue.length >= this.maxQueue) {
        this.fail(o.channel, this.closed ? 'shutting down' : 'alert queue full');
        continue;
      }
      this.queue.push(o);
    }
    if (this.queue.length > 0 && !this.kicked) {
      this.kicked = true;
      setImmediate(() => {
        this.kicked = false;
        void this.pump();
      });
    }
  }

  private pump(): Promise<void> {
    this.sending ??= (async () => {
      while (this.queue.length > 0) await this.post(this.queue.shift() as Outgoing);
    })().finally(() => {
      this.sending = undefined;
    });
    return this.sending;
  }

  private async post(o: Outgoing): Promise<void> {
    const timer = new AbortController();
    const t = setTimeout(() => timer.abort(), this.timeoutMs);
    const stop = () => timer.abort();
    this.abort.signal.addEventListener('abort', stop);
    try {
      const res = await request(o.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: o.body,
        signal: timer.signal,
      });
      await res.body.dump();
      if (res.statusCode >= 200 && res.statusCode < 300) this.sent++;
      else this.fail(o.channel, `HTTP ${res.statusCode}`);
    } catch (e) {
      this.fail(o.channel, timer.signal.aborted ? 'timed out' : e instanceof Error ? e.message : String(e));
    } finally {
      clearTimeout(t);
      this.abort.signal.removeEventListener('abort', stop);
    }
  }

  private fail(channel: string, error: string): void {
    this.failed++;
    const now = Date.now();
    if (now - this.lastWarn < WARN_EVERY_MS) return;
    this.lastWarn = now;
    this.opts.warn({ channel, failed_total: this.failed, error: scrub(error) }, 'alert not delivered');
  }

  private track(p: Promise<unknown>): void {
    const q: Promise<void> = p.then(
      () => {},
      (e: unknown) => this.fail('alerts', e instanceof Error ? e.message : String(e)),
    );
    this.pending.add(q);
    void q.finally(() => this.pending.delete(q));
  }

  /** Send what is queued (budget alerts being prepared included), waiting at most `timeoutMs` (default 5 s). */
  async close(timeoutMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => {
      timer = setTimeout(r, timeoutMs);
    });
    const drain = async () => {
      while (this.pending.size > 0) await Promise.all([...this.pending]);
      this.closed = true;
      while (this.queue.length > 0 || this.sending) await this.pump();
    };
    await Promise.race([drain(), deadline]);
    clearTimeout(timer);
    this.closed = true;
    this.abort.abort(); // a POST still hanging ends now (counted as failed)
    const left = this.queue.length;
    this.queue = [];
    for (let i = 0; i < left; i++) this.fail('alerts', 'still queued at shutdown');
  }
}
