import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOW, type PeopleEngine, startPeopleEngine } from './people-engine.js';
import { STORES } from './stores.js';

describe.each(STORES)('team management API on %s', (kind) => {
  let t: PeopleEngine;
  beforeAll(async () => {
    t = await startPeopleEngine(kind);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('creates a team with LiteLLM fields, members (unknown ones created) and an aligned budget reset', async () => {
    const r = await t.call('POST', '/team/new', {
      team_id: 'core',
      team_alias: 'Core',
      models: ['gpt-4o-mini'],
      max_budget: 10,
      soft_budget: 8,
      budget_duration: '1d',
      tpm_limit: 1000,
      rpm_limit: 10,
      max_parallel_requests: 2,
      metadata: { cost_center: 'eng' },
      tags: ['prod'],
      model_rpm_limit: { 'gpt-4o-mini': 5 },
      team_member_budget: 2.5,
      members_with_roles: [
        { role: 'admin', user_id: 'ada' },
        { role: 'user', user_email: 'bob@example.com' },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      team_id: 'core',
      team_alias: 'Core',
      models: ['gpt-4o-mini'],
      max_budget: 10,
      soft_budget: 8,
      budget_duration: '1d',
      // the clock is 2026-11-30 12:00 UTC: a 1d budget resets at the next midnight
      budget_reset_at: '2026-12-01T00:00:00.000Z',
      tpm_limit: 1000,
      rpm_limit: 10,
      max_parallel_requests: 2,
      metadata: { cost_center: 'eng' },
      tags: ['prod'],
      blocked: false,
      spend: 0,
      model_rpm_limit: { 'gpt-4o-mini': 5 },
      team_member_budget: 2.5,
      admins: ['ada'],
    });
    // members added in one call share a created_at; their order is by user id
    expect(r.json.members_with_roles).toHaveLength(2);
    expect(r.json.members_with_roles).toContainEqual({ role: 'admin', user_id: 'ada', user_email: null });
    const bobMember = r.json.members_with_roles.find((m: { user_email: string }) => m.user_email === 'bob@example.com');
    expect(bobMember).toMatchObject({ role: 'user', user_id: expect.any(String) });
    const bob = await t.call('GET', `/user/info?user_id=${bobMember.user_id}`);
    expect(bob.json.user_info).toMatchObject({ user_email: 'bob@example.com', user_role: 'internal_user' });
  });

  it('answers /team/info in LiteLLM shape with keys, memberships and the shared member budget', async () => {
    await t.db.db
      .insertInto('keys')
      .values({ token: 'c'.repeat(64), key_name: 'sk-...core', team_id: 'core', created_at: NOW, updated_at: NOW })
      .execute();
    const r = await t.call('GET', '/team/info?team_id=core');
    expect(r.status).toBe(200);
    expect(Object.keys(r.json).sort()).toEqual(['keys', 'team_id', 'team_info', 'team_memberships']);
    expect(r.json.team_info.members_with_roles.map((m: { user_id: string }) => m.user_id)).toContain('ada');
    expect(r.json.team_info.team_member_budget_table).toMatchObject({ max_budget: 2.5 });
    expect(r.json.keys.map((k: { token: string }) => k.token)).toEqual(['c'.repeat(64)]);
    // new members without max_budget_in_team share the team's member budget
    const budgetId = r.json.team_info.metadata.team_member_budget_id;
    expect(r.json.team_memberships).toContainEqual(
      expect.objectContaining({ user_id: 'ada', budget_id: budgetId, litellm_budget_table: expect.any(Object) }),
    );
  });

  it('refuses bad input with 400 naming the field, a taken id and an unknown id in LiteLLM wording', async () => {
    const neg = await t.call('POST', '/team/new', { max_budget: -1 });
    expect(neg.status).toBe(400);
    expect(neg.json.error).toMatchObject({
      message: 'max_budget must be a non-negative finite number. Received: -1.0',
      param: 'max_budget',
      code: '400',
    });
    const dur = await t.call('POST', '/team/new', { budget_duration: '2mo' });
    expect(dur.json.error.param).toBe('budget_duration');
    const role = await t.call('POST', '/team/new', { members_with_roles: [{ role: 'owner', user_id: 'x' }] });
    expect(role.status).toBe(400);
    expect(role.json.error.param).toBe('members_with_roles');
    const taken = await t.call('POST', '/team/new', { team_id: 'core' });
    expect(taken.status).toBe(400);
    expect(taken.json.error.message).toBe('Team id = core already exists. Please use a different team id.');
    const unknown = await t.call('POST', '/team/update', { team_id: 'nope', max_budget: 1 });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.message).toBe('Team not found, passed team_id=nope');
    expect((await t.call('GET', '/team/info?team_id=nope')).status).toBe(404);
  });

  it('updates only the fields sent', async () => {
    const r = await t.call('POST', '/team/update', { team_id: 'core', max_budget: 20, budget_duration: '7d' });
    expect(r.status).toBe(200);
    expect(r.json.data).toMatchObject({
      team_alias: 'Core',
      max_budget: 20,
      tpm_limit: 1000,
      metadata: { cost_center: 'eng' },
      // 7d resets on Mondays: 2026-11-30 is a Monday, so the next one
      budget_reset_at: '2026-12-07T00:00:00.000Z',
    });
    expect(t.changes).toContainEqual({ kind: 'team', id: 'core' });
  });

  it('blocks and unblocks a team, and listeners are told at once', async () => {
    const seen: string[] = [];
    const off = t.g.onChange((c) => {
      if (c.kind === 'team') seen.push(c.id ?? '*');
    });
    const b = await t.call('POST', '/team/block', { team_id: 'core' });
    expect(b.status).toBe(200);
    expect(b.json.blocked).toBe(true);
    expect(seen).toEqual(['core']);
    expect((await t.call('GET', '/team/info?team_id=core')).json.team_info.blocked).toBe(true);
    const u = await t.call('POST', '/team/unblock', { team_id: 'core' });
    expect(u.json.blocked).toBe(false);
    expect(seen).toEqual(['core', 'core']);
    off();
    expect((await t.call('POST', '/team/block', { team_id: 'ghost' })).status).toBe(404);
  });

  it('adds, updates and removes members with budgets inside the team', async () => {
    const add = await t.call('POST', '/team/member_add', {
      team_id: 'core',
      member: [{ role: 'user', user_id: 'cy' }],
      max_budget_in_team: 1.5,
    });
    expect(add.status).toBe(200);
    expect(add.json.updated_users.map((u: { user_id: string }) => u.user_id)).toEqual(['cy']);
    expect(add.json.updated_team_memberships[0]).toMatchObject({
      user_id: 'cy',
      litellm_budget_table: { max_budget: 1.5 },
    });
    const dup = await t.call('POST', '/team/member_add', { team_id: 'core', member: { role: 'user', user_id: 'cy' } });
    expect(dup.status).toBe(400);
    expect(dup.json.error.type).toBe('team_member_already_in_team');

    const upd = await t.call('POST', '/team/member_update', {
      team_id: 'core',
      user_id: 'cy',
      role: 'admin',
      max_budget_in_team: 3,
    });
    expect(upd.json).toMatchObject({ team_id: 'core', user_id: 'cy', max_budget_in_team: 3 });
    const info = await t.call('GET', '/team/info?team_id=core');
    expect(info.json.team_info.admins).toContain('cy');
    expect(info.json.team_memberships).toContainEqual(
      expect.objectContaining({ user_id: 'cy', litellm_budget_table: expect.objectContaining({ max_budget: 3 }) }),
    );

    const del = await t.call('POST', '/team/member_delete', { team_id: 'core', user_id: 'cy' });
    expect(del.status).toBe(200);
    expect(del.json.members).not.toContain('cy');
    const again = await t.call('POST', '/team/member_delete', { team_id: 'core', user_id: 'cy' });
    expect(again.status).toBe(400);
    expect(again.json.error.message).toBe('User not found in team');
    expect((await t.call('POST', '/team/member_add', { team_id: 'nope', member: { user_id: 'z' } })).status).toBe(404);
  });

  it("lets a team's admins manage its members, and refuses everyone else", async () => {
    await t.call('POST', '/team/new', { team_id: 'other' });
    // ada is an admin of core; dee a plain user of core; both get a key from /user/new
    const ada = await t.call('POST', '/user/new', {
      user_id: 'ada-key-holder',
      teams: [{ team_id: 'core', user_role: 'admin' }],
    });
    const dee = await t.call('POST', '/user/new', { user_id: 'dee', teams: ['core'] });
    const adaKey = ada.json.key as string;
    const deeKey = dee.json.key as string;
    const ok = await t.call(
      'POST',
      '/team/member_add',
      { team_id: 'core', member: { role: 'user', user_id: 'eve' } },
      adaKey,
    );
    expect(ok.status).toBe(200);
    const notTheirs = await t.call(
      'POST',
      '/team/member_add',
      { team_id: 'other', member: { user_id: 'eve' } },
      adaKey,
    );
    expect(notTheirs.status).toBe(403);
    expect(notTheirs.json.error.message).toContain('User not proxy admin OR team admin');
    const plain = await t.call('POST', '/team/member_delete', { team_id: 'core', user_id: 'eve' }, deeKey);
    expect(plain.status).toBe(403);
    // proxy-admin-only routes refuse internal users
    for (const [path, body] of [
      ['/team/new', {}],
      ['/team/update', { team_id: 'core' }],
      ['/team/block', { team_id: 'core' }],
      ['/team/unblock', { team_id: 'core' }],
      ['/team/delete', { team_ids: ['core'] }],
    ] as const) {
      const r = await t.call('POST', path, body, adaKey);
      expect(r.status, path).toBe(403);
    }
    // a member reads its team; not another one
    expect((await t.call('GET', '/team/info?team_id=core', undefined, deeKey)).status).toBe(200);
    expect((await t.call('GET', '/team/info?team_id=other', undefined, deeKey)).status).toBe(403);
    // and lists only its own teams
    const mine = await t.call('GET', '/team/list', undefined, deeKey);
    expect(mine.json.map((x: { team_id: string }) => x.team_id)).toEqual(['core']);
    expect((await t.call('GET', '/team/list?user_id=ada', undefined, deeKey)).status).toBe(403);
  });

  it('lists every team for the master key, sorted by alias, with keys and memberships', async () => {
    const r = await t.call('GET', '/team/list');
    expect(r.status).toBe(200);
    const ids = r.json.map((x: { team_id: string }) => x.team_id);
    expect(ids).toEqual(expect.arrayContaining(['core', 'other']));
    const core = r.json.find((x: { team_id: string }) => x.team_id === 'core');
    expect(core.keys.length).toBeGreaterThan(0);
    expect(core.team_memberships.length).toBe(core.members_with_roles.length);
    const byUser = await t.call('GET', '/team/list?user_id=dee');
    expect(byUser.json.map((x: { team_id: string }) => x.team_id)).toEqual(['core']);
  });

  it("deletes teams with their keys and memberships, as LiteLLM does, and tells the keys' caches", async () => {
    const before = t.changes.length;
    const r = await t.call('POST', '/team/delete', { team_ids: ['core'] });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ deleted_teams: ['core'] });
    const keys = await t.db.db.selectFrom('keys').select('token').where('team_id', '=', 'core').execute();
    expect(keys).toEqual([]);
    const members = await t.db.db.selectFrom('team_members').selectAll().where('team_id', '=', 'core').execute();
    expect(members).toEqual([]);
    expect(t.changes.slice(before)).toContainEqual({ kind: 'key', id: 'c'.repeat(64) });
    expect(t.changes.slice(before)).toContainEqual({ kind: 'team', id: 'core' });
    const again = await t.call('POST', '/team/delete', { team_ids: ['core'] });
    expect(again.status).toBe(404);
    expect(again.json.error.message).toBe('Team not found, passed team_id=core');
    expect((await t.call('POST', '/team/delete', {})).status).toBe(400);
  });
});
