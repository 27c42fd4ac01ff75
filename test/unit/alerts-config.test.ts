/** Alerting settings from the config and the environment: what turns a channel on, what is warned, no URL shown. */
import { describe, expect, it } from 'vitest';
import { loadLiteLLMConfig } from '../../src/config/litellm/load.js';
import { alertingConfig } from '../../src/engine/observability/alerts/config.js';
import { budgetMessage, slackBody } from '../../src/engine/observability/alerts/messages.js';

const SLACK = 'https://hooks.slack.com/services/T0/B0/secret-token';

function read(general: Record<string, unknown>, env: Record<string, string> = {}) {
  const loaded = loadLiteLLMConfig({ kind: 'object', value: { general_settings: general }, label: 't' }, { env });
  const warnings: string[] = [];
  const c = alertingConfig(loaded.config, { ...env, ...loaded.environment }, (m) => warnings.push(m));
  return { c, warnings, configWarnings: loaded.warnings };
}

describe('alerting config', () => {
  it('is off without general_settings.alerting, and its keys raise no "not supported" warning', () => {
    expect(read({}).c).toBeUndefined();
    const { configWarnings } = read(
      {
        alerting: ['slack'],
        alerting_threshold: 10,
        alert_types: ['budget_alerts'],
        alerting_args: { budget_alert_ttl: 60 },
        alert_to_webhook_url: { budget_alerts: SLACK },
      },
      { SLACK_WEBHOOK_URL: SLACK },
    );
    expect(configWarnings).toEqual([]);
  });

  it('turns slack on with SLACK_WEBHOOK_URL and reads LiteLLM defaults and settings', () => {
    const { c, warnings } = read({ alerting: ['slack'] }, { SLACK_WEBHOOK_URL: SLACK });
    expect(warnings).toEqual([]);
    expect(c?.slack?.url).toBe(SLACK);
    expect(c?.webhook).toBeUndefined();
    expect(c?.thresholdS).toBe(300);
    expect(c?.budgetTtlS).toBe(86400);
    // LiteLLM's default types: budgets and deployments on, management events off
    expect(c?.types.has('budget_alerts')).toBe(true);
    expect(c?.types.has('llm_exceptions')).toBe(true);
    expect(c?.types.has('new_virtual_key_created')).toBe(false);
    const set = read(
      { alerting: ['webhook'], alert_types: ['new_virtual_key_created'], alerting_args: { budget_alert_ttl: 60 } },
      { WEBHOOK_URL: 'http://127.0.0.1:9/hook' },
    ).c;
    expect(set?.webhook?.url).toBe('http://127.0.0.1:9/hook');
    expect([...(set?.types ?? [])]).toEqual(['new_virtual_key_created']);
    expect(set?.budgetTtlS).toBe(60);
  });

  it('says which URL is missing, names unknown channels and types, and never prints a URL', () => {
    expect(read({ alerting: ['slack', 'webhook'] }).warnings).toEqual([
      'slack alerts are off: SLACK_WEBHOOK_URL is not set (set it in the environment or in environment_variables)',
      'webhook alerts are off: WEBHOOK_URL is not set (set it in the environment or in environment_variables)',
    ]);
    const { c, warnings } = read(
      { alerting: ['slack', 'email'], alert_types: ['budget_alerts', 'budget_alertz'] },
      { SLACK_WEBHOOK_URL: SLACK },
    );
    expect(c?.slack).toBeDefined();
    expect(warnings).toEqual([
      'general_settings.alerting: "email" alerts are not implemented yet (slack and webhook are)',
      'general_settings.alert_types: "budget_alertz" is not one of LiteLLM\'s alert types',
    ]);
    const bad = read({ alerting: ['slack'] }, { SLACK_WEBHOOK_URL: 'ftp://x/secret-token' }).warnings;
    expect(bad).toEqual(['slack alerts are off: SLACK_WEBHOOK_URL is not an http(s) URL']);
  });

  it('a list where a list belongs: a config error names the key', () => {
    expect(() => read({ alerting: 'slack' })).toThrow(/general_settings\.alerting/);
  });
});

describe('alert messages', () => {
  it('frame Slack text as LiteLLM does and word budget events as LiteLLM does', () => {
    const body = JSON.parse(slackBody('High', 'hello', Date.parse('2026-03-04T10:11:12Z'), 'http://proxy:4000'));
    expect(body).toEqual({
      text: 'Level: `High`\nTimestamp: `10:11:12`\n\nMessage: hello\n\nProxy URL: `http://proxy:4000`',
    });
    expect(budgetMessage('max', 'Team Budget: ', 5)).toBe('Team Budget: Budget Crossed\n Total Budget:`5`');
    expect(budgetMessage('soft', 'Team Budget: ', 4)).toBe('Soft Budget Crossed: Total Soft Budget::`4`');
  });
});
