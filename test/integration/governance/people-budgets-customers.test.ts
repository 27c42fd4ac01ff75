import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PeopleEngine, startPeopleEngine } from './people-engine.js';
import { STORES } from './stores.js';

describe.each(STORES)('budget and customer management API on %s', (kind) => {
  let t: PeopleEngine;
  let viewerKey: string;
  let userKey: string;
  beforeAll(async () => {
    t = await startPeopleEngine(kind);
    viewerKey = (await t.call('POST', '/user/new', { user_id: 'viv', user_role: 'proxy_admin_viewer' })).json.key;
    userKey = (await t.call('POST', '/user/new', { user_id: 'iggy', user_role: 'internal_user' })).json.key;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('creates a budget, and refuses a taken id and negative or non-finite values in LiteLLM words', async () => {
    const r = await t.call('POST', '/budget/new', {
      budget_id: 'free-tier',
      max_budget: 1,
      soft_budget: 0.8,
      tpm_limit: 1000,
      rpm_limit: 10,
      max_parallel_requests: 2,
      budget_duration: '1h',
      model_max_budget: { 'gpt-4o-mini': { budget_limit: 0.5, time_period: '1d' } },
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      budget_id: 'free-tier',
      max_budget: 1,
      soft_budget: 0.8,
      tpm_limit: 1000,
      rpm_limit: 10,
      max_parallel_requests: 2,
      budget_duration: '1h',
      // 12:00 UTC now: a 1h window resets at 13:00
      budget_reset_at: '2026-11-30T13:00:00.000Z',
      model_max_budget: { 'gpt-4o-mini': { budget_limit: 0.5, time_period: '1d' } },
      created_by: 'default_user_id',
    });
    const taken = await t.call('POST', '/budget/new', { budget_id: 'free-tier' });
    expect(taken.status).toBe(400);
    expect(taken.json.error.message).toBe("Budget with id 'free-tier' already exists.");
    const soft = await t.call('POST', '/budget/new', { soft_budget: -0.5 });
    expect(soft.status).toBe(400);
    expect(soft.json.error).toMatchObject({
      message: 'soft_budget must be a non-negative finite number. Received: -0.5',
      param: 'soft_budget',
    });
    const inf = await t.call('POST', '/budget/new', '{"max_budget": 1e999}');
    expect(inf.json.error.message).toBe('max_budget must be a non-negative finite number. Received: inf');
    const rpm = await t.call('POST', '/budget/new', { rpm_limit: 'ten' });
    expect(rpm.json.error.param).toBe('rpm_limit');
    const generated = await t.call('POST', '/budget/new', { max_budget: 3 });
    expect(generated.json.budget_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('updates only what is sent, and reads budgets by info, settings and list', async () => {
    const u = await t.call('POST', '/budget/update', { budget_id: 'free-tier', max_budget: 2 });
    expect(u.status).toBe(200);
    expect(u.json).toMatchObject({ budget_id: 'free-tier', max_budget: 2, rpm_limit: 10, budget_duration: '1h' });
    expect(t.changes).toContainEqual({ kind: 'budget', id: 'free-tier' });
    expect((await t.call('POST', '/budget/update', { max_budget: 2 })).json.error.message).toBe(
      'budget_id is required',
    );
    expect((await t.call('POST', '/budget/update', { budget_id: 'nope', max_budget: 2 })).status).toBe(404);

    const info = await t.call('POST', '/budget/info', { budgets: ['free-tier', 'nope'] });
    expect(info.json.map((b: { budget_id: string }) => b.budget_id)).toEqual(['free-tier']);
    const empty = await t.call('POST', '/budget/info', { budgets: [] });
    expect(empty.status).toBe(400);
    expect(empty.json.error.message).toBe("Specify list of budget id's to query. Passed in=[]");

    const settings = await t.call('GET', '/budget/settings?budget_id=free-tier');
    expect(settings.json).toContainEqual(
      expect.objectContaining({ field_name: 'max_budget', field_type: 'Float', field_value: 2, stored_in_db: true }),
    );
    const list = await t.call('GET', '/budget/list', undefined, viewerKey);
    expect(list.status).toBe(200);
    expect(list.json.map((b: { budget_id: string }) => b.budget_id)).toContain('free-tier');
  });

  it('gives budgets to admins to write, viewers to read, and nothing to internal users', async () => {
    expect((await t.call('POST', '/budget/new', {}, viewerKey)).status).toBe(403);
    expect((await t.call('POST', '/budget/delete', { id: 'free-tier' }, viewerKey)).status).toBe(403);
    expect((await t.call('POST', '/budget/info', { budgets: ['free-tier'] }, viewerKey)).status).toBe(200);
    expect((await t.call('GET', '/budget/list', undefined, userKey)).status).toBe(403);
    expect((await t.call('GET', '/budget/settings?budget_id=free-tier', undefined, userKey)).status).toBe(403);
    for (const path of ['/customer/new', '/customer/update', '/customer/delete', '/customer/block'])
      expect((await t.call('POST', path, { user_id: 'x', user_ids: ['x'] }, viewerKey)).status, path).toBe(403);
    expect((await t.call('GET', '/customer/list', undefined, userKey)).status).toBe(403);
  });

  it('creates customers with their own budget or a shared one, and answers /customer/info as LiteLLM', async () => {
    const own = await t.call('POST', '/customer/new', {
      user_id: 'acme',
      alias: 'ACME',
      max_budget: 5,
      budget_duration: '30d',
      allowed_model_region: 'eu',
      default_model: 'gpt-4o-mini',
    });
    expect(own.status).toBe(200);
    expect(own.json).toMatchObject({
      user_id: 'acme',
      alias: 'ACME',
      blocked: false,
      spend: 0,
      allowed_model_region: 'eu',
      default_model: 'gpt-4o-mini',
      litellm_budget_table: { max_budget: 5, budget_duration: '30d', budget_reset_at: '2026-12-01T00:00:00.000Z' },
    });
    const shared = await t.call('POST', '/end_user/new', { user_id: 'globex', budget_id: 'free-tier' });
    expect(shared.json.litellm_budget_table).toMatchObject({ budget_id: 'free-tier', max_budget: 2 });
    const info = await t.call('GET', '/customer/info?end_user_id=acme', undefined, viewerKey);
    expect(info.status).toBe(200);
    expect(info.json.user_id).toBe('acme');

    const dup = await t.call('POST', '/customer/new', { user_id: 'acme' });
    expect(dup.status).toBe(400);
    expect(dup.json.error.message).toBe('Customer already exists, passed user_id=acme. Please pass a new user_id.');
    expect((await t.call('POST', '/customer/new', {})).json.error.param).toBe('user_id');
    const both = await t.call('POST', '/customer/new', { user_id: 'x', max_budget: 1, budget_id: 'free-tier' });
    expect(both.status).toBe(400);
    const model = await t.call('POST', '/customer/new', { user_id: 'x', default_model: 'gpt-9' });
    expect(model.status).toBe(400);
    expect(model.json.error.message).toContain('Default Model not on proxy');
    expect((await t.call('POST', '/customer/new', { user_id: 'x', allowed_model_region: 'mars' })).status).toBe(400);
    const missing = await t.call('GET', '/customer/info?end_user_id=ghost');
    expect(missing.status).toBe(404);
    expect(missing.json.error.message).toBe('End User Id=ghost does not exist in db');
  });

  it('updates a customer: only fields sent, its budget row in place', async () => {
    const r = await t.call('POST', '/customer/update', { user_id: 'acme', max_budget: 9 });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      alias: 'ACME',
      allowed_model_region: 'eu',
      litellm_budget_table: { max_budget: 9 },
    });
    const budgets = await t.db.db.selectFrom('budgets').select('budget_id').where('max_budget', '=', 5).execute();
    expect(budgets).toEqual([]);
    const relink = await t.call('POST', '/customer/update', { user_id: 'acme', budget_id: 'free-tier' });
    expect(relink.json.budget_id).toBe('free-tier');
    expect(t.changes).toContainEqual({ kind: 'end_user', id: 'acme' });
    expect((await t.call('POST', '/customer/update', { user_id: 'ghost', alias: 'x' })).status).toBe(404);
  });

  it('blocks and unblocks customers, creating an unknown one blocked', async () => {
    const b = await t.call('POST', '/customer/block', { user_ids: ['acme', 'newco'] });
    expect(b.status).toBe(200);
    expect(
      b.json.blocked_users.map((c: { user_id: string; blocked: boolean }) => [c.user_id, c.blocked]).sort(),
    ).toEqual([
      ['acme', true],
      ['newco', true],
    ]);
    expect((await t.call('GET', '/customer/info?end_user_id=newco')).json.blocked).toBe(true);
    const u = await t.call('POST', '/end_user/unblock', { user_ids: ['acme'] });
    expect(u.json.unblocked_users).toEqual([expect.objectContaining({ user_id: 'acme', blocked: false })]);
    expect(t.changes).toContainEqual({ kind: 'end_user', id: 'newco' });
  });

  it('lists customers for viewers and deletes them, naming the ids that do not exist', async () => {
    const list = await t.call('GET', '/customer/list', undefined, viewerKey);
    expect(list.json.map((c: { user_id: string }) => c.user_id).sort()).toEqual(['acme', 'globex', 'newco']);
    const missing = await t.call('POST', '/customer/delete', { user_ids: ['acme', 'ghost', 'nobody'] });
    expect(missing.status).toBe(404);
    expect(missing.json.error.message).toBe('End User Id(s)=ghost, nobody do not exist in db');
    const del = await t.call('POST', '/customer/delete', { user_ids: ['acme', 'newco'] });
    expect(del.json).toEqual({
      deleted_customers: 2,
      message: "Successfully deleted customers with ids: ['acme', 'newco']",
    });
    expect((await t.call('GET', '/end_user/list')).json.map((c: { user_id: string }) => c.user_id)).toEqual(['globex']);
  });

  it('deletes a budget and leaves what used it without one', async () => {
    const r = await t.call('POST', '/budget/delete', { id: 'free-tier' });
    expect(r.status).toBe(200);
    expect(r.json.budget_id).toBe('free-tier');
    const globex = await t.call('GET', '/customer/info?end_user_id=globex');
    expect(globex.json).toMatchObject({ budget_id: null, litellm_budget_table: null });
    const again = await t.call('POST', '/budget/delete', { id: 'free-tier' });
    expect(again.status).toBe(404);
    expect(again.json.error.message).toBe('Budget not found, passed budget_id=free-tier');
  });
});
