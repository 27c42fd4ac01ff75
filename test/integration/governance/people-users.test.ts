import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PeopleEngine, startPeopleEngine } from './people-engine.js';
import { STORES } from './stores.js';

describe.each(STORES)('user management API on %s', (kind) => {
  let t: PeopleEngine;
  let annKey: string;
  beforeAll(async () => {
    t = await startPeopleEngine(kind);
    await t.call('POST', '/team/new', { team_id: 'research', team_alias: 'Research' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('creates a user with a first key shown once and stored only as its sha256', async () => {
    const r = await t.call('POST', '/user/new', {
      user_id: 'ann',
      user_email: 'ann@example.com',
      user_alias: 'Ann',
      user_role: 'internal_user',
      models: ['gpt-4o-mini'],
      max_budget: 5,
      budget_duration: '30d',
      tpm_limit: 100,
      rpm_limit: 3,
      max_parallel_requests: 1,
      metadata: { dept: 'r&d' },
      teams: [{ team_id: 'research', max_budget_in_team: 1 }],
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      user_id: 'ann',
      user_email: 'ann@example.com',
      user_alias: 'Ann',
      user_role: 'internal_user',
      models: ['gpt-4o-mini'],
      max_budget: 5,
      // 30d resets on the 1st of the next month
      budget_reset_at: '2026-12-01T00:00:00.000Z',
      tpm_limit: 100,
      rpm_limit: 3,
      max_parallel_requests: 1,
      metadata: { dept: 'r&d' },
      teams: ['research'],
    });
    annKey = r.json.key;
    expect(annKey).toMatch(/^sk-[A-Za-z0-9_-]{22}$/);
    expect(r.json.key_name).toBe(`sk-...${annKey.slice(-4)}`);
    const rows = await t.db.db.selectFrom('keys').selectAll().where('user_id', '=', 'ann').execute();
    expect(rows.map((k) => k.token)).toEqual([createHash('sha256').update(annKey).digest('hex')]);
    expect(JSON.stringify(rows)).not.toContain(annKey);
    const team = await t.call('GET', '/team/info?team_id=research');
    expect(team.json.team_memberships).toEqual([
      expect.objectContaining({ user_id: 'ann', litellm_budget_table: expect.objectContaining({ max_budget: 1 }) }),
    ]);
  });

  it('makes no key with auto_create_key false, and refuses taken ids, bad roles and unknown teams', async () => {
    const r = await t.call('POST', '/user/new', {
      user_id: 'viewer',
      user_role: 'proxy_admin_viewer',
      auto_create_key: false,
    });
    expect(r.status).toBe(200);
    expect(r.json.key).toBeNull();
    expect(await t.db.db.selectFrom('keys').selectAll().where('user_id', '=', 'viewer').execute()).toEqual([]);
    const taken = await t.call('POST', '/user/new', { user_id: 'ann' });
    expect(taken.status).toBe(400);
    expect(taken.json.error.param).toBe('user_id');
    const email = await t.call('POST', '/user/new', { user_email: 'ann@example.com' });
    expect(email.json.error).toMatchObject({
      message: 'User with email ann@example.com already exists',
      param: 'user_email',
    });
    const role = await t.call('POST', '/user/new', { user_role: 'god' });
    expect(role.status).toBe(400);
    expect(role.json.error.param).toBe('user_role');
    // 1e999 is valid JSON that parses to Infinity
    const budget = await t.call('POST', '/user/new', '{"max_budget": 1e999}');
    expect(budget.status).toBe(400);
    expect(budget.json.error.message).toBe('max_budget must be a non-negative finite number. Received: inf');
    const team = await t.call('POST', '/user/new', { teams: ['nope'] });
    expect(team.status).toBe(404);
    expect(team.json.error.message).toBe('Team not found, passed team_id=nope');
  });

  it('answers /user/info with the user, its keys and its teams', async () => {
    const r = await t.call('GET', '/user/info?user_id=ann');
    expect(r.status).toBe(200);
    expect(Object.keys(r.json).sort()).toEqual(['keys', 'teams', 'user_id', 'user_info']);
    expect(r.json.user_info).toMatchObject({ user_id: 'ann', teams: ['research'] });
    expect(r.json.keys).toHaveLength(1);
    expect(r.json.keys[0]).toMatchObject({ user_id: 'ann', key_name: `sk-...${annKey.slice(-4)}` });
    expect(r.json.teams.map((x: { team_id: string }) => x.team_id)).toEqual(['research']);
    // every management path also answers under /v1, as LiteLLM's do
    expect((await t.call('GET', '/v1/user/info?user_id=ann')).json.user_id).toBe('ann');
    const missing = await t.call('GET', '/user/info?user_id=ghost');
    expect(missing.status).toBe(404);
    expect(missing.json.error.message).toBe('User not found, passed user_id=ghost');
  });

  it('lets an internal user read only its own info, and a viewer read and list but not write', async () => {
    const own = await t.call('GET', '/user/info', undefined, annKey);
    expect(own.status).toBe(200);
    expect(own.json.user_id).toBe('ann');
    await t.call('POST', '/user/new', { user_id: 'ben' });
    const other = await t.call('GET', '/user/info?user_id=ben', undefined, annKey);
    expect(other.status).toBe(403);
    expect((await t.call('GET', '/user/list', undefined, annKey)).status).toBe(403);
    for (const path of ['/user/new', '/user/update', '/user/delete'])
      expect((await t.call('POST', path, { user_id: 'ben', user_ids: ['ben'] }, annKey)).status, path).toBe(403);

    const v = await t.call('POST', '/user/new', { user_id: 'vic', user_role: 'proxy_admin_viewer' });
    expect((await t.call('GET', '/user/info?user_id=ben', undefined, v.json.key)).status).toBe(200);
    expect((await t.call('GET', '/user/list', undefined, v.json.key)).status).toBe(200);
    const refused = await t.call('POST', '/user/delete', { user_ids: ['ben'] }, v.json.key);
    expect(refused.status).toBe(403);
    expect(refused.json.error.message).toContain('proxy_admin_viewer');
  });

  it('lists users a page at a time, filtered by role', async () => {
    const all = await t.call('GET', '/user/list?page_size=2');
    expect(all.status).toBe(200);
    expect(all.json.users).toHaveLength(2);
    expect(all.json.page).toBe(1);
    expect(all.json.page_size).toBe(2);
    expect(all.json.total_pages).toBe(Math.ceil(all.json.total / 2));
    const seen = new Set<string>();
    for (let p = 1; p <= all.json.total_pages; p++) {
      const page = await t.call('GET', `/user/list?page_size=2&page=${p}`);
      for (const u of page.json.users) seen.add(u.user_id);
    }
    expect(seen.size).toBe(all.json.total);
    const viewers = await t.call('GET', '/user/list?role=proxy_admin_viewer');
    expect(viewers.json.users.map((u: { user_id: string }) => u.user_id).sort()).toEqual(['vic', 'viewer']);
    const ann = (await t.call('GET', '/user/list?user_ids=ann')).json.users[0];
    expect(ann).toMatchObject({ user_id: 'ann', key_count: 1, teams: ['research'] });
    expect((await t.call('GET', '/user/list?page_size=101')).status).toBe(400);
  });

  it('updates only the fields sent, by id or by email', async () => {
    const r = await t.call('POST', '/user/update', { user_id: 'ann', max_budget: 7 });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ user_id: 'ann', data: { max_budget: 7, user_alias: 'Ann', tpm_limit: 100 } });
    const byEmail = await t.call('POST', '/user/update', {
      user_email: 'ann@example.com',
      user_role: 'internal_user_viewer',
    });
    expect(byEmail.json.data.user_role).toBe('internal_user_viewer');
    expect(t.changes).toContainEqual({ kind: 'user', id: 'ann' });
    expect((await t.call('POST', '/user/update', { user_id: 'ghost', max_budget: 1 })).status).toBe(404);
    expect((await t.call('POST', '/user/update', { max_budget: 1 })).json.error.param).toBe('user_id');
    expect((await t.call('POST', '/user/update', { user_id: 'ann', tpm_limit: 1.5 })).json.error.param).toBe(
      'tpm_limit',
    );
  });

  it('deletes users with their keys and memberships', async () => {
    const before = t.changes.length;
    const r = await t.call('POST', '/user/delete', { user_ids: ['ann'] });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ deleted_users: ['ann'] });
    expect(await t.db.db.selectFrom('keys').selectAll().where('user_id', '=', 'ann').execute()).toEqual([]);
    expect(await t.db.db.selectFrom('team_members').selectAll().where('user_id', '=', 'ann').execute()).toEqual([]);
    expect(t.changes.slice(before)).toContainEqual({
      kind: 'key',
      id: createHash('sha256').update(annKey).digest('hex'),
    });
    expect((await t.call('POST', '/user/delete', { user_ids: ['ann'] })).status).toBe(404);
  });
});
