import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GovernanceDb } from '../../../src/engine/governance/db/open.js';
import { type FakeUpstream, startOpenAIUpstream } from '../../fakes/openai-upstream.js';
import { eventually, fixtures, type LimitsEngine, MASTER, startLimitsEngine } from './limits-helpers.js';
import { STORES, type TestStore, testStore } from './stores.js';

// the fake answers 11 prompt + 7 completion tokens: at these prices a call costs 0.011 + 0.014 = 0.025
const CALL = 0.025;
/** spend is read while reconciliations land: wait for the settled figure, not a transient one */
const near = (v: number, want: number) => Math.abs(v - want) < 1e-9;
let upstream: FakeUpstream;
beforeAll(async () => {
  upstream = await startOpenAIUpstream();
});
afterAll(async () => {
  await upstream?.close();
});

const config = (extra: Record<string, unknown> = {}) => ({
  model_list: [
    {
      model_name: 'm',
      litellm_params: { model: 'openai/m', api_base: `${upstream.url}/v1`, api_key: 'sk-up' },
      model_info: { input_cost_per_token: 0.001, output_cost_per_token: 0.002 },
    },
  ],
  ...extra,
});

const chat = (c: OpenAI, extra: Record<string, unknown> = {}) =>
  c.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10, ...extra });

/** The refusal a call met (its status, error body and headers), or undefined when it succeeded. */
async function refusal(p: Promise<unknown>) {
  try {
    await p;
    return undefined;
  } catch (e) {
    if (!(e instanceof OpenAI.APIError)) throw e;
    return { status: e.status, error: e.error as { message: string; type: string; code: string }, headers: e.headers };
  }
}

/**
 * A budget refusal's parts. Its "Current cost" is the ledger's figure at that moment: the previous call's
 * reconciliation to its real cost may land just before or just after, so tests bound it rather than pin it.
 */
function budgetMessage(m: string | undefined) {
  const x = /^Budget has been exceeded! (.+) Current cost: ([\d.e-]+), Max budget: ([\d.e-]+)$/.exec(m ?? '');
  if (!x) throw new Error(`not a budget refusal: ${m}`);
  return { label: x[1], cost: Number(x[2]), max: Number(x[3]) };
}

describe.each(STORES)('budgets on %s', (kind) => {
  let store: TestStore;
  let db: GovernanceDb;
  let engine: LimitsEngine | undefined;
  let f: ReturnType<typeof fixtures>;
  const start = async (extra?: Record<string, unknown>, now?: () => number) => {
    engine = await startLimitsEngine(config(extra), store, db, { now });
    return engine;
  };
  const setup = async () => {
    store = await testStore(kind);
    db = await store.open();
    f = fixtures(db);
  };
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
    await db?.close();
    await store?.cleanup();
  });

  it('a key over its budget gets 429 budget_exceeded naming it; the spend survives a restart', async () => {
    await setup();
    const key = await f.key({ key_alias: 'prod', max_budget: 0.05, soft_budget: 0.04 });
    const e = await start();
    const c = e.client(key);
    const spent = (n: number) =>
      eventually(
        () => f.spendOf('keys', { token: f.sha(key) }),
        (v) => near(v, n * CALL),
      );
    await chat(c);
    await spent(1); // reconciled to the real cost right after the call (the next tick)
    await chat(c);
    await spent(2);
    const r = await refusal(chat(c));
    expect(r?.status).toBe(429);
    expect(r?.error.type).toBe('budget_exceeded');
    expect(r?.error.code).toBe('429');
    expect(r?.error.message).toBe(
      `Budget has been exceeded! Key=prod (sk-...${key.slice(-4)}) Current cost: ${2 * CALL}, Max budget: 0.05`,
    );
    // no budget_duration: it never resets, so no Retry-After
    expect(r?.headers.get('retry-after')).toBeNull();
    // the soft budget only speaks (alerts come later): once, when the second call crossed it
    expect(e.logs.filter((l) => l.includes('soft budget crossed'))).toHaveLength(1);
    await e.close();
    engine = undefined;
    expect(await f.spendOf('keys', { token: f.sha(key) })).toBeCloseTo(2 * CALL, 10);
    const again = await start();
    expect((await refusal(chat(again.client(key))))?.error.type).toBe('budget_exceeded');
  });

  it('team keys spend the team budget and the membership budget, not the user budget', async () => {
    await setup();
    await f.user({ user_id: 'u1', max_budget: 0.001 });
    await f.team({ team_id: 't1', max_budget: 1 });
    await f.budget({ budget_id: 'b-member', max_budget: 0.03 });
    await f.member({ team_id: 't1', user_id: 'u1', budget_id: 'b-member' });
    const teamKey = await f.key({ team_id: 't1', user_id: 'u1' });
    const e = await start();
    // the user's own tiny budget does not apply to a team key
    await chat(e.client(teamKey));
    await chat(e.client(teamKey));
    const r = await refusal(chat(e.client(teamKey)));
    const m = budgetMessage(r?.error.message);
    expect(m).toMatchObject({ label: 'User=u1 in Team=t1', max: 0.03 });
    expect(m.cost).toBeGreaterThanOrEqual(0.03);
    expect(
      await eventually(
        () => f.spendOf('teams', { team_id: 't1' }),
        (v) => near(v, 2 * CALL),
      ),
    ).toBeCloseTo(2 * CALL, 10);
    // the user's spend is not charged by a team key
    expect(await f.spendOf('users', { user_id: 'u1' })).toBe(0);
  });

  it('a team over budget refuses its keys; a personal key spends its user budget', async () => {
    await setup();
    await f.team({ team_id: 't2', max_budget: 0.02 });
    await f.user({ user_id: 'u2', max_budget: 0.02 });
    const teamKey = await f.key({ team_id: 't2' });
    const userKey = await f.key({ user_id: 'u2' });
    const e = await start();
    await chat(e.client(teamKey));
    expect(budgetMessage((await refusal(chat(e.client(teamKey))))?.error.message)).toMatchObject({
      label: 'Team=t2',
      max: 0.02,
    });
    await chat(e.client(userKey));
    expect((await refusal(chat(e.client(userKey))))?.error.message).toMatch(/^Budget has been exceeded! User=u2 /);
  });

  it('end users: their budget holds for any caller; a blocked one is refused', async () => {
    await setup();
    await f.budget({ budget_id: 'b-cust', max_budget: 0.02 });
    await f.endUser({ user_id: 'cust1', budget_id: 'b-cust' });
    await f.endUser({ user_id: 'cust2', blocked: 1 });
    const e = await start();
    const master = e.client(MASTER);
    await chat(master, { user: 'cust1' });
    const r = await refusal(chat(master, { user: 'cust1' }));
    expect(budgetMessage(r?.error.message)).toMatchObject({ label: 'End User=cust1', max: 0.02 });
    // the header names the end user as well as the body
    const viaHeader = await refusal(
      master.chat.completions.create(
        { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
        { headers: { 'x-litellm-customer-id': 'cust1' } },
      ),
    );
    expect(viaHeader?.error.type).toBe('budget_exceeded');
    const blocked = await refusal(chat(master, { user: 'cust2' }));
    expect(blocked?.status).toBe(403);
    expect(blocked?.error.message).toMatch(/End User=cust2 is blocked/);
    // someone else is unaffected
    await chat(master, { user: 'cust3' });
  });

  it('the proxy-wide budget (litellm_settings.max_budget) holds for the master key too', async () => {
    await setup();
    const e = await start({ litellm_settings: { max_budget: 0.04 } });
    const master = e.client(MASTER);
    await chat(master);
    await chat(master);
    const r = await refusal(chat(master));
    expect(r?.status).toBe(429);
    const m = budgetMessage(r?.error.message);
    expect(m).toMatchObject({ label: 'Proxy=litellm_settings.max_budget', max: 0.04 });
    expect(m.cost).toBeGreaterThanOrEqual(0.04);
  });

  it('a budget resets at its boundary itself, and Retry-After counts down to it', async () => {
    await setup();
    let now = Date.parse('2026-11-25T23:59:00Z');
    const key = await f.key({ max_budget: 0.02, budget_duration: '1d' });
    const e = await start({}, () => now);
    const c = e.client(key);
    await chat(c);
    const r = await refusal(chat(c));
    expect(r?.error.type).toBe('budget_exceeded');
    expect(r?.headers.get('retry-after')).toBe('60');
    now = Date.parse('2026-11-26T00:00:00Z');
    await chat(c);
    const row = await db.db
      .selectFrom('keys')
      .select(['spend', 'budget_reset_at'])
      .where('token', '=', f.sha(key))
      .executeTakeFirstOrThrow();
    expect(row.budget_reset_at).toBe(Date.parse('2026-11-27T00:00:00Z'));
    expect(
      await eventually(
        () => f.spendOf('keys', { token: f.sha(key) }),
        (v) => near(v, CALL),
      ),
    ).toBeCloseTo(CALL, 10);
  });

  it('50 calls at once via two engines on one store overshoot a nearly spent budget by one reservation', async () => {
    await setup();
    const key = await f.key({ max_budget: 1, spend: 0.99 });
    const e = await start();
    const other = await startLimitsEngine(config(), store, db);
    upstream.setFault({ kind: 'delay', ms: 50 });
    try {
      const clients = [e.client(key), other.client(key)];
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => refusal(chat(clients[i % 2]))));
      expect(results.filter((r) => r === undefined)).toHaveLength(1);
      expect(results.filter((r) => r?.error.type === 'budget_exceeded')).toHaveLength(49);
    } finally {
      upstream.setFault(undefined);
      await other.close();
    }
    // one reservation here: 7 estimated input tokens at 0.001 plus max_tokens 10 at 0.002 = 0.027
    const spend = await eventually(
      () => f.spendOf('keys', { token: f.sha(key) }),
      (v) => near(v, 0.99 + CALL),
    );
    expect(spend).toBeCloseTo(0.99 + CALL, 10);
    expect(spend - 1).toBeLessThanOrEqual(0.027);
  });

  it('a key already at its budget is refused even for an unpriced model', async () => {
    await setup();
    const key = await f.key({ max_budget: 0.01, spend: 0.01 });
    const e = await start({
      model_list: [
        { model_name: 'free', litellm_params: { model: 'openai/free', api_base: `${upstream.url}/v1`, api_key: 'x' } },
      ],
    });
    const r = await refusal(
      e.client(key).chat.completions.create({ model: 'free', messages: [{ role: 'user', content: 'x' }] }),
    );
    expect(r?.error.type).toBe('budget_exceeded');
  });

  it('model_max_budget: a key over its budget for one model can still call another', async () => {
    await setup();
    const key = await f.key({
      key_alias: 'per-model',
      model_max_budget: JSON.stringify({ m: { budget_limit: 0.02, time_period: '1d' } }),
    });
    const e = await start({
      model_list: [
        ...config().model_list,
        { model_name: 'n', litellm_params: { model: 'openai/n', api_base: `${upstream.url}/v1`, api_key: 'x' } },
      ],
    });
    const c = e.client(key);
    await chat(c);
    const r = await refusal(chat(c));
    expect(r?.status).toBe(429);
    expect(r?.error.type).toBe('budget_exceeded');
    expect(r?.error.message).toMatch(
      new RegExp(`^LiteLLM Virtual Key: ${f.sha(key)}, key_alias: per-model, exceeded budget for model=m\\. `),
    );
    expect(r?.headers.get('retry-after')).not.toBeNull();
    await chat(c, { model: 'n' });
  });

  it('a failed call gives its reservation back; a client that leaves early pays its input', async () => {
    await setup();
    const key = await f.key({ max_budget: 1 });
    const e = await start();
    const c = e.client(key);
    const spend = () => f.spendOf('keys', { token: f.sha(key) });
    upstream.setFault({
      kind: 'status',
      status: 400,
      body: { error: { message: 'bad', type: 'invalid_request_error' } },
    });
    try {
      expect((await refusal(chat(c)))?.status).toBe(400);
    } finally {
      upstream.setFault(undefined);
    }
    expect(await eventually(spend, (v) => near(v, 0))).toBe(0);
    upstream.setFault({ kind: 'delay', ms: 2000 });
    try {
      const seen = upstream.requests.length;
      const ac = new AbortController();
      const gone = refusal(chat(c)).catch(() => undefined);
      const aborted = c.chat.completions
        .create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }, { signal: ac.signal })
        .catch((err: Error) => err);
      while (upstream.requests.length < seen + 2) await new Promise((r) => setTimeout(r, 5));
      ac.abort();
      expect(await aborted).toBeInstanceOf(Error);
      await gone;
    } finally {
      upstream.setFault(undefined);
    }
    // one call answered (0.025); the aborted one is charged its 7 estimated input tokens at 0.001
    expect(await eventually(spend, (v) => near(v, CALL + 0.007))).toBeCloseTo(CALL + 0.007, 10);
  });

  it('database unavailable: 503 naming the cause, or let through and charged once it is back', async () => {
    await setup();
    const key = await f.key({ max_budget: 1 });
    const e = await start();
    await chat(e.client(key)); // the key is now cached by authentication
    await db.db.schema.alterTable('keys').renameTo('keys_away').execute();
    const r = await refusal(chat(e.client(key)));
    expect(r?.status).toBe(503);
    expect(r?.error.type).toBe('no_db_connection');
    expect(r?.error.message).toMatch(/^Budget enforcement unavailable: the database at .* did not answer \(.*keys/);
    await db.db.schema.alterTable('keys_away').renameTo('keys').execute();
    await e.close();
    engine = undefined;
    const lenient = await start({
      general_settings: { allow_requests_on_db_unavailable: true, proxy_batch_write_at: 0.05 },
    });
    await chat(lenient.client(key));
    await db.db.schema.alterTable('keys').renameTo('keys_away').execute();
    await chat(lenient.client(key)); // let through, its cost kept queued
    await new Promise((r) => setTimeout(r, 120)); // a failed write or two
    await db.db.schema.alterTable('keys_away').renameTo('keys').execute();
    expect(
      await eventually(
        () => f.spendOf('keys', { token: f.sha(key) }),
        (v) => near(v, 3 * CALL),
      ),
    ).toBeCloseTo(3 * CALL, 10);
  });
});
