/**
 * Alerts (`general_settings.alerting: ["slack", "webhook"]`) against local receivers: a Slack incoming webhook
 * (`{"text": ...}`) and a generic webhook (LiteLLM's WebhookEvent JSON). Each alert type fires once with its
 * payload (budget_crossed, soft_budget_crossed, key_created, a failing deployment and its cooldown), again only
 * in the next window, never with a key or a webhook URL in it, and a receiver that is down fails no request.
 */
import { createHash } from 'node:crypto';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RecordingFake, startFake } from '../../fakes/fake-server.js';
import { type FaultUpstream, startFaultUpstream } from '../../fakes/fault-upstream.js';
import { type FakeUpstream, startOpenAIUpstream } from '../../fakes/openai-upstream.js';
import { startTestEngine, type TestEngine } from '../engine-helpers.js';
import { call, client, generate, MASTER } from './key-helpers.js';
import { STORES, type TestStore, testStore } from './stores.js';

const SLACK_SECRET = 'T0000/B0000/slack-secret-path-xyz';
const HOOK_SECRET = 'hook-secret-query-abc';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

let upstream: FakeUpstream;
let bad1: FaultUpstream;
let bad2: FaultUpstream;
let solo: FaultUpstream;
let slack: RecordingFake;
let hook: RecordingFake;
beforeAll(async () => {
  upstream = await startOpenAIUpstream();
  [bad1, bad2, solo] = await Promise.all(['bad1', 'bad2', 'solo'].map((n) => startFaultUpstream(n)));
  for (const u of [bad1, bad2, solo]) u.script([], { kind: 'status', status: 500 });
  const ok = (_c: unknown, res: import('node:http').ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  };
  slack = await startFake(ok);
  hook = await startFake(ok);
});
afterAll(async () => {
  await Promise.all([upstream, bad1, bad2, solo, slack, hook].map((x) => x?.close()));
});

const env = () => ({
  SLACK_WEBHOOK_URL: `${slack.url}/services/${SLACK_SECRET}`,
  WEBHOOK_URL: `${hook.url}/hook?token=${HOOK_SECRET}`,
});

const config = (extra: Record<string, unknown> = {}) => ({
  model_list: [
    {
      model_name: 'm',
      litellm_params: { model: 'openai/m', api_base: `${upstream.url}/v1`, api_key: 'sk-up' },
      model_info: { input_cost_per_token: 0.001, output_cost_per_token: 0.002 },
    },
    { model_name: 'flaky', litellm_params: { model: 'openai/f1', api_base: bad1.base, api_key: 'sk-up' } },
    { model_name: 'flaky', litellm_params: { model: 'openai/f2', api_base: bad2.base, api_key: 'sk-up' } },
    {
      model_name: 'solo',
      litellm_params: { model: 'openai/s', api_base: solo.base, api_key: 'sk-up', num_retries: 0 },
    },
  ],
  router_settings: { num_retries: 3, allowed_fails: 0, cooldown_time: 30, retry_after: 0 },
  general_settings: {
    master_key: MASTER,
    alerting: ['slack', 'webhook'],
    alert_types: ['budget_alerts', 'new_virtual_key_created', 'llm_exceptions', 'cooldown_deployment'],
  },
  // the URLs may come from the config too, as LiteLLM reads them
  environment_variables: env(),
  ...extra,
});

const texts = () => slack.calls.map((c) => c.body.text as string);
const events = (event: string) => hook.calls.map((c) => c.body).filter((b) => b.event === event);
/** Wait until `fn` holds (alerts are sent in the background). */
async function until(fn: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 250 && !fn(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!fn()) throw new Error(`timed out waiting for ${what}`);
}
const chat = async (c: OpenAI, model = 'm') => {
  try {
    await c.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 });
    return 200;
  } catch (e) {
    if (e instanceof OpenAI.APIError) return e.status;
    throw e;
  }
};

describe.each(STORES)('budget and key alerts on %s', (kind) => {
  let store: TestStore;
  let engine: TestEngine;
  let clock = Date.parse('2026-03-04T10:00:00Z');

  beforeAll(async () => {
    store = await testStore(kind);
    engine = await startTestEngine(config(), { apiKey: MASTER, governance: store.options, now: () => clock });
  });
  afterAll(async () => {
    await engine?.close();
    await store?.cleanup();
  });

  it('accepts the alerting keys without a warning', () => {
    expect(engine.logs.join('\n')).not.toMatch(/"path":"general_settings\.alert/);
    expect(engine.logs.some((l) => l.includes('alerting on'))).toBe(true);
  });

  it('key_created, soft_budget_crossed and budget_crossed fire once per window, with LiteLLM payloads', async () => {
    slack.calls.length = 0;
    hook.calls.length = 0;
    const k = await generate(engine, {
      key_alias: 'alerted',
      max_budget: 0.03,
      soft_budget: 0.01,
      budget_duration: '1d',
    });
    const token = sha(k.key);
    await until(() => events('key_created').length === 1 && texts().length === 1, 'key_created');
    expect(events('key_created')[0]).toMatchObject({
      event: 'key_created',
      event_group: 'key',
      event_message: 'API Key Created',
      token,
      key_alias: 'alerted',
      max_budget: 0.03,
      soft_budget: 0.01,
      user_id: null,
      team_id: null,
    });
    expect(texts()[0]).toMatch(/^Level: `High`\nTimestamp: `10:00:00`\n\nMessage: `Virtual Key Created`\n/);
    expect(texts()[0]).toContain(`key_name: \`sk-...${k.key.slice(-4)}\``);
    expect(texts()[0]).toContain('created_by_user_id: `default_user_id`');

    const c = client(engine, k.key);
    // the first call's reservation (~0.028) crosses the soft budget; the second takes the spend past the max
    expect(await chat(c)).toBe(200);
    expect(await chat(c)).toBe(200);
    await until(() => events('soft_budget_crossed').length === 1, 'soft_budget_crossed');
    const soft = events('soft_budget_crossed')[0];
    expect(soft).toMatchObject({
      event_group: 'key',
      event_message: 'Soft Budget Crossed: Total Soft Budget::`0.01`',
      token,
      key_alias: 'alerted',
      max_budget: 0.03,
      soft_budget: 0.01,
    });
    expect(soft.spend).toBeGreaterThanOrEqual(0.01);
    // refused: the budget was reached; refused again: no second alert in this window
    expect(await chat(c)).toBe(429);
    expect(await chat(c)).toBe(429);
    await until(() => events('budget_crossed').length === 1, 'budget_crossed');
    const crossed = events('budget_crossed')[0];
    expect(crossed).toMatchObject({
      event_group: 'key',
      event_message: 'Key Budget: Budget Crossed\n Total Budget:`0.03`',
      token,
      key_alias: 'alerted',
      max_budget: 0.03,
    });
    expect(crossed.spend).toBeGreaterThanOrEqual(0.03);
    // every WebhookEvent field is there (null when unknown), as LiteLLM's model_dump_json sends them
    expect(Object.keys(crossed).sort()).toEqual(
      [
        'spend',
        'max_budget',
        'soft_budget',
        'token',
        'customer_id',
        'user_id',
        'team_id',
        'team_alias',
        'user_email',
        'key_alias',
        'organization_id',
        'projected_exceeded_date',
        'projected_spend',
        'event_group',
        'event',
        'event_message',
      ].sort(),
    );
    const budgetTexts = texts().filter((t) => t.includes('Budget'));
    expect(budgetTexts).toHaveLength(2);
    expect(budgetTexts[1]).toContain('Message: Key Budget: Budget Crossed\n Total Budget:`0.03`\n\n');
    expect(budgetTexts[1]).toContain('*key_alias:* `alerted`');
    expect(budgetTexts[1]).toContain('*event_group:* `key`');
    expect(budgetTexts[1]).not.toContain(token); // the Slack text leaves the hash out, as LiteLLM does

    // the next window (1d: midnight): the budget resets, and each alert may fire once more
    clock = Date.parse('2026-03-05T00:00:01Z');
    expect(await chat(c)).toBe(200);
    expect(await chat(c)).toBe(200);
    expect(await chat(c)).toBe(429);
    await until(() => events('budget_crossed').length === 2, 'the next window’s budget_crossed');
    await until(() => events('soft_budget_crossed').length === 2, 'the next window’s soft_budget_crossed');
    expect(await chat(c)).toBe(429);
    // nothing else arrives: one of each per window
    await new Promise((r) => setTimeout(r, 100));
    expect(events('budget_crossed')).toHaveLength(2);
    expect(events('soft_budget_crossed')).toHaveLength(2);

    // no key, master key or webhook URL in any alert
    const all = [...slack.calls, ...hook.calls].map((x) => x.raw).join('\n');
    for (const secret of [k.key, MASTER, SLACK_SECRET, HOOK_SECRET, 'sk-up']) expect(all).not.toContain(secret);
    expect(slack.calls.every((x) => x.path === `/services/${SLACK_SECRET}`)).toBe(true);
    expect(hook.calls.every((x) => x.headers['content-type'] === 'application/json')).toBe(true);
  });

  it('names the team of a team budget', async () => {
    hook.calls.length = 0;
    const t = await call(engine, 'POST', '/team/new', { team_alias: 'platform', max_budget: 0 });
    expect(t.status).toBe(200);
    const k = await generate(engine, { team_id: t.json.team_id });
    expect(await chat(client(engine, k.key))).toBe(429);
    await until(() => events('budget_crossed').length === 1, 'the team budget_crossed');
    expect(events('budget_crossed')[0]).toMatchObject({
      event_group: 'team',
      event_message: 'Team Budget: Budget Crossed\n Total Budget:`0`',
      team_id: t.json.team_id,
      team_alias: 'platform',
      max_budget: 0,
    });
  });
});

describe('failing deployment alerts', () => {
  let engine: TestEngine;
  let clock = Date.parse('2026-03-04T10:00:00Z');
  beforeAll(async () => {
    engine = await startTestEngine(config(), { apiKey: MASTER, now: () => clock });
  });
  afterAll(async () => {
    await engine?.close();
  });

  it('llm_exceptions and cooldown_deployment fire once per deployment, Slack only, without secrets', async () => {
    slack.calls.length = 0;
    hook.calls.length = 0;
    expect(await chat(engine.openai, 'flaky')).toBeGreaterThanOrEqual(500);
    const failed = () => texts().filter((t) => t.includes('LLM API call failed'));
    const cooled = () => texts().filter((t) => t.includes('Deployment in Cooldown'));
    await until(() => failed().length === 2 && cooled().length === 2, 'two failures and two cooldowns');
    expect(failed().some((t) => t.includes('Deployment: `openai/f1`'))).toBe(true);
    expect(failed().some((t) => t.includes('Deployment: `openai/f2`'))).toBe(true);
    expect(failed()[0]).toMatch(/^Level: `High`\nTimestamp: `10:00:00`\n\nMessage: LLM API call failed: `/);
    expect(failed()[0]).toContain('Request Model: `flaky`');
    expect(cooled()[0]).toMatch(/\*Cooldown:\* `\d+s`/);
    // both cooled down: the next call fails without trying them, and nothing more is sent
    expect(await chat(engine.openai, 'flaky')).toBeGreaterThanOrEqual(400);
    await new Promise((r) => setTimeout(r, 100));
    expect(failed()).toHaveLength(2);
    expect(cooled()).toHaveLength(2);
    // LiteLLM's generic webhook carries budget and key events only
    expect(hook.calls).toHaveLength(0);
    const all = slack.calls.map((x) => x.raw).join('\n');
    for (const secret of [MASTER, SLACK_SECRET, HOOK_SECRET, 'sk-up']) expect(all).not.toContain(secret);
  });

  it('a deployment that keeps failing alerts again only after the window', async () => {
    slack.calls.length = 0;
    const failed = () => texts().filter((t) => t.includes('Deployment: `openai/s`'));
    // the only deployment of its group never cools down: every call reaches it and fails
    expect(await chat(engine.openai, 'solo')).toBeGreaterThanOrEqual(500);
    await until(() => failed().length === 1, 'the first failure alert');
    expect(await chat(engine.openai, 'solo')).toBeGreaterThanOrEqual(500);
    await new Promise((r) => setTimeout(r, 100));
    expect(failed()).toHaveLength(1);
    clock += 5 * 60_000 + 1;
    expect(await chat(engine.openai, 'solo')).toBeGreaterThanOrEqual(500);
    await until(() => failed().length === 2, 'the next window’s failure alert');
  });
});

describe('slow requests and the alert_types filter', () => {
  it('llm_too_slow goes to its own alert_to_webhook_url; types not listed stay quiet', async () => {
    slack.calls.length = 0;
    hook.calls.length = 0;
    const engine = await startTestEngine(
      config({
        general_settings: {
          master_key: MASTER,
          alerting: ['slack', 'webhook'],
          alerting_threshold: 0.05,
          alert_types: ['llm_too_slow'],
          alert_to_webhook_url: { llm_too_slow: `${slack.url}/slow/${SLACK_SECRET}` },
        },
      }),
      { apiKey: MASTER },
    );
    try {
      bad1.script(
        [
          { kind: 'delay', ms: 120 },
          { kind: 'delay', ms: 120 },
        ],
        { kind: 'status', status: 500 },
      );
      bad2.script(
        [
          { kind: 'delay', ms: 120 },
          { kind: 'delay', ms: 120 },
        ],
        { kind: 'status', status: 500 },
      );
      expect(await chat(engine.openai, 'flaky')).toBe(200);
      await until(() => slack.calls.length === 1, 'the slow alert');
      expect(slack.calls[0].path).toBe(`/slow/${SLACK_SECRET}`);
      expect(texts()[0]).toMatch(/^Level: `Low`\nTimestamp: `\d\d:\d\d:\d\d`\n\nMessage: `Responses are slow - /);
      expect(texts()[0]).toMatch(/ - [\d.]+s response time > Alerting threshold: 0\.05s`\nRequest Model: `flaky`\n/);
      // a failure is not among the listed types: no llm_exceptions alert, and nothing for the webhook
      expect(await chat(engine.openai, 'solo')).toBeGreaterThanOrEqual(500);
      await new Promise((r) => setTimeout(r, 100));
      expect(slack.calls).toHaveLength(1);
      expect(hook.calls).toHaveLength(0);
    } finally {
      bad1.script([], { kind: 'status', status: 500 });
      bad2.script([], { kind: 'status', status: 500 });
      await engine.close();
    }
  });
});

describe('a receiver that is down', () => {
  it('fails no request and is warned about once, without its URL', async () => {
    const gone = await startFake(() => {});
    const url = gone.url;
    await gone.close(); // nothing listens there any more
    const engine = await startTestEngine(
      config({
        environment_variables: { SLACK_WEBHOOK_URL: `${url}/services/${SLACK_SECRET}`, WEBHOOK_URL: `${url}/x` },
      }),
      { apiKey: MASTER },
    );
    try {
      const keys = await Promise.all([1, 2, 3].map(() => generate(engine, { max_budget: 0 })));
      for (const k of keys) expect(await chat(client(engine, k.key))).toBe(429);
      for (let i = 0; i < 3; i++) expect(await chat(engine.openai, 'solo')).toBeGreaterThanOrEqual(500);
      expect(await chat(engine.openai)).toBe(200);
      await until(() => engine.logs.some((l) => l.includes('alert not delivered')), 'the warning');
    } finally {
      await engine.close();
    }
    const warnings = engine.logs.filter((l) => l.includes('alert not delivered'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).not.toContain(SLACK_SECRET);
    expect(engine.logs.join('\n')).not.toContain(SLACK_SECRET);
  });
});
