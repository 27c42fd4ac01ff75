/**
 * Pure parts of virtual keys: the key format and hash, duration strings and aligned budget resets (LiteLLM's
 * rules), and model access over a route table (lists, access groups, wildcards, aliases, team and user lists).
 */
import { describe, expect, it } from 'vitest';
import { loadLiteLLMConfig } from '../../src/config/litellm/load.js';
import { checkModelAccess, modelAllowed } from '../../src/engine/governance/access.js';
import { nextResetAt, parseBudgetDuration } from '../../src/engine/governance/budgets/reset.js';
import type { KeyRow, TeamRow, UserRow } from '../../src/engine/governance/db/schema.js';
import { addDuration, parseDuration } from '../../src/engine/governance/keys/duration.js';
import { recordRefers } from '../../src/engine/governance/keys/load.js';
import { abbreviate, hashKey, newKey, tokenOf } from '../../src/engine/governance/keys/secret.js';
import type { AuthRecord } from '../../src/engine/governance/types.js';
import { buildRouteTable } from '../../src/engine/router/table.js';
import { CONFIG } from '../integration/governance/key-helpers.js';

describe('key values', () => {
  it('are sk- and 22 url-safe characters, hashed with plain sha256, shown as sk-...last4', () => {
    const k = newKey();
    expect(k).toMatch(/^sk-[A-Za-z0-9_-]{22}$/);
    expect(newKey()).not.toBe(k);
    // sha256("sk-1234") as LiteLLM's hash_token computes it
    expect(hashKey('sk-1234')).toBe('88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b');
    expect(abbreviate('sk-abcdefgh')).toBe('sk-...efgh');
    expect(tokenOf('sk-1234')).toBe(hashKey('sk-1234'));
    expect(tokenOf(hashKey('sk-1234'))).toBe(hashKey('sk-1234'));
  });
});

describe('durations and aligned budget resets', () => {
  // Wednesday 2026-03-04 10:17:30 UTC
  const now = Date.parse('2026-03-04T10:17:30Z');
  const at = (v: string) => new Date(nextResetAt(v, now, 'UTC')).toISOString();

  it('parses LiteLLM duration strings and refuses others', () => {
    expect(parseDuration('30s')).toEqual({ n: 30, unit: 's' });
    expect(parseDuration('1mo')).toEqual({ n: 1, unit: 'mo' });
    expect(parseDuration('45')).toEqual({ n: 45, unit: 's' });
    for (const bad of ['', '0d', '1 day', '-1h', '1y']) expect(parseDuration(bad)).toBeUndefined();
    expect(addDuration(now, { n: 2, unit: 'h' })).toBe(now + 7_200_000);
    expect(new Date(addDuration(Date.parse('2026-01-31T00:00:00Z'), { n: 1, unit: 'mo' })).toISOString()).toBe(
      '2026-03-03T00:00:00.000Z',
    );
  });

  it('resets at midnight, on Monday, on the 1st, and on multiples of hours and minutes', () => {
    expect(at('1d')).toBe('2026-03-05T00:00:00.000Z');
    expect(at('7d')).toBe('2026-03-09T00:00:00.000Z');
    expect(at('1w')).toBe('2026-03-09T00:00:00.000Z');
    expect(at('30d')).toBe('2026-04-01T00:00:00.000Z');
    expect(at('1mo')).toBe('2026-04-01T00:00:00.000Z');
    expect(at('3d')).toBe('2026-03-07T00:00:00.000Z');
    expect(at('1h')).toBe('2026-03-04T11:00:00.000Z');
    expect(at('6h')).toBe('2026-03-04T12:00:00.000Z');
    expect(at('15m')).toBe('2026-03-04T10:30:00.000Z');
    expect(at('30s')).toBe('2026-03-04T10:18:00.000Z');
    // on a Monday, 7d is the next Monday
    expect(new Date(nextResetAt('7d', Date.parse('2026-03-09T08:00:00Z'), 'UTC')).toISOString()).toBe(
      '2026-03-16T00:00:00.000Z',
    );
    expect(parseBudgetDuration('2mo')).toBeUndefined();
  });
});

describe('model access', async () => {
  const loaded = loadLiteLLMConfig({ kind: 'object', label: 't', value: CONFIG }, { env: {} });
  const table = await buildRouteTable(loaded, {});
  const rec = (key: Partial<KeyRow>, team?: Partial<TeamRow>, user?: Partial<UserRow>): AuthRecord => ({
    key: { token: 't', models: '[]', aliases: '{}', team_id: team ? 'tm' : null, user_id: null, ...key } as KeyRow,
    team: team ? ({ team_id: 'tm', models: '[]', ...team } as TeamRow) : undefined,
    user: user ? ({ user_id: 'u', models: '[]', ...user } as UserRow) : undefined,
    budgets: new Map(),
    loadedAt: 0,
  });
  const ok = (r: AuthRecord, m: string) => modelAllowed(r, m, table);

  it('[] and all-proxy-models allow everything; names, access groups, wildcards and aliases match', () => {
    expect(ok(rec({}), 'gpt-c')).toBe(true);
    expect(ok(rec({ models: '["all-proxy-models"]' }), 'gpt-c')).toBe(true);
    const r = rec({ models: '["gpt-a","beta-models","vendor/*"]', aliases: '{"mine":"gpt-b"}' });
    expect(['gpt-a', 'gpt-b', 'vendor/z', 'a-alias', 'mine'].map((m) => ok(r, m))).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(ok(r, 'gpt-c')).toBe(false);
    expect(ok(r, 'beta-x')).toBe(false);
  });

  it('a team key needs both lists; all-team-models defers to the team; user lists bind personal keys', () => {
    const both = rec({ models: '["gpt-a","gpt-c"]' }, { models: '["gpt-a","gpt-b"]' });
    expect(ok(both, 'gpt-a')).toBe(true);
    expect(() => checkModelAccess(both, 'gpt-c', table)).toThrow(
      "team not allowed to access model. This team can only access models=['gpt-a', 'gpt-b']. Tried to access gpt-c",
    );
    const inherit = rec({ models: '["all-team-models"]' }, { models: '["gpt-b"]' });
    expect([ok(inherit, 'gpt-b'), ok(inherit, 'gpt-a')]).toEqual([true, false]);
    const personal = rec({}, undefined, { models: '["gpt-c"]' });
    expect([ok(personal, 'gpt-c'), ok(personal, 'gpt-a')]).toEqual([true, false]);
    let err: unknown;
    try {
      checkModelAccess(personal, 'gpt-a', table);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ status: 403, type: 'user_model_access_denied', param: 'model', code: '403' });
  });
});

describe('which cached keys a change notice drops', () => {
  const record = (over: Partial<AuthRecord>): AuthRecord =>
    ({
      key: { token: 'h1', team_id: 't1', user_id: null },
      budgets: new Map([['b1', {}]]),
      loadedAt: 0,
      ...over,
    }) as unknown as AuthRecord;
  it('by key hash, team, user, org or budget id; every entry for `all`', () => {
    const r = record({});
    expect(recordRefers(r, 'key', 'h1')).toBe(true);
    expect(recordRefers(r, 'key', 'h2')).toBe(false);
    expect(recordRefers(r, 'team', 't1')).toBe(true);
    expect(recordRefers(r, 'team', 't2')).toBe(false);
    expect(recordRefers(r, 'user', undefined)).toBe(false);
    expect(recordRefers(r, 'budget', 'b1')).toBe(true);
    expect(recordRefers(r, 'org', 'o1')).toBe(false);
    expect(recordRefers(record({ org: { organization_id: 'o1' } as AuthRecord['org'] }), 'org', 'o1')).toBe(true);
    expect(recordRefers(r, 'end_user', 'x')).toBe(false);
    expect(recordRefers(r, 'all', undefined)).toBe(true);
  });
});
