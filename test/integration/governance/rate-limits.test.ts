import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GovernanceDb } from '../../../src/engine/governance/db/open.js';
import { type FakeUpstream, startOpenAIUpstream } from '../../fakes/openai-upstream.js';
import { fixtures, type LimitsEngine, MASTER, startLimitsEngine } from './limits-helpers.js';
import { STORES, type TestStore, testStore } from './stores.js';

let upstream: FakeUpstream;
beforeAll(async () => {
  upstream = await startOpenAIUpstream();
});
afterAll(async () => {
  await upstream?.close();
});

const config = () => ({
  model_list: [
    { model_name: 'm', litellm_params: { model: 'openai/m', api_base: `${upstream.url}/v1`, api_key: 'sk-up' } },
    { model_name: 'n', litellm_params: { model: 'openai/n', api_base: `${upstream.url}/v1`, api_key: 'sk-up' } },
  ],
});

/** A chat call's response headers, or its refusal (status, body, headers). */
async function call(c: OpenAI, extra: Record<string, unknown> = {}) {
  try {
    const { response } = await c.chat.completions
      .create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], ...extra })
      .withResponse();
    return { status: 200, headers: response.headers, message: '' };
  } catch (e) {
    if (!(e instanceof OpenAI.APIError)) throw e;
    return { status: e.status, headers: e.headers, message: (e.error as { message: string }).message };
  }
}

describe.each(STORES)('rate limits on %s', (kind) => {
  let store: TestStore;
  let db: GovernanceDb;
  let engine: LimitsEngine | undefined;
  let f: ReturnType<typeof fixtures>;
  let now = Date.parse('2026-11-25T12:00:00Z');
  const start = async () => {
    store = await testStore(kind);
    db = await store.open();
    f = fixtures(db);
  };
  const engineUp = async () => {
    engine = await startLimitsEngine(config(), store, db, { now: () => now });
    return engine;
  };
  afterEach(async () => {
    upstream.setFault(undefined);
    upstream.setOptions({});
    await engine?.close();
    engine = undefined;
    await db?.close();
    await store?.cleanup();
  });

  it('rpm per key: LiteLLM message, retry-after, x-ratelimit-* headers; a new window lets it through', async () => {
    await start();
    const key = await f.key({ rpm_limit: 2 });
    const c = (await engineUp()).client(key);
    const first = await call(c);
    expect(first.headers.get('x-ratelimit-limit-requests')).toBe('2');
    expect(first.headers.get('x-ratelimit-remaining-requests')).toBe('1');
    expect((await call(c)).headers.get('x-ratelimit-remaining-requests')).toBe('0');
    now += 15_000;
    const r = await call(c);
    expect(r.status).toBe(429);
    expect(r.message).toBe(
      `Rate limit exceeded for api_key: ${f.sha(key)}. Limit type: requests. Current limit: 2, Remaining: 0. ` +
        'Limit resets at: 2026-11-25 12:01:00 UTC',
    );
    expect(r.headers.get('retry-after')).toBe('45');
    expect(r.headers.get('rate_limit_type')).toBe('requests');
    expect(r.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    now += 45_000;
    expect((await call(c)).status).toBe(200);
  });

  it('tpm per key counts the tokens of finished calls', async () => {
    await start();
    // the fake reports 11 + 7 = 18 tokens per call
    const key = await f.key({ tpm_limit: 30 });
    const c = (await engineUp()).client(key);
    expect((await call(c)).headers.get('x-ratelimit-remaining-tokens')).toBe('30');
    expect((await call(c)).headers.get('x-ratelimit-remaining-tokens')).toBe('12');
    const r = await call(c);
    expect(r.status).toBe(429);
    expect(r.message).toMatch(/Limit type: tokens\. Current limit: 30, Remaining: 0\./);
    expect(r.headers.get('rate_limit_type')).toBe('tokens');
  });

  it('max_parallel_requests: a second call in flight is refused; the slot frees when it ends', async () => {
    await start();
    const key = await f.key({ max_parallel_requests: 1 });
    const c = (await engineUp()).client(key);
    upstream.setFault({ kind: 'delay', ms: 300 });
    const seen = upstream.requests.length;
    const slow = call(c);
    // the first call holds the slot once it reached the upstream
    while (upstream.requests.length === seen) await new Promise((r) => setTimeout(r, 5));
    const r = await call(c);
    expect(r.status).toBe(429);
    expect(r.message).toMatch(/Limit type: max_parallel_requests\. Current limit: 1, Remaining: 0\./);
    expect(r.headers.get('rate_limit_type')).toBe('concurrent_requests');
    expect((await slow).status).toBe(200);
    upstream.setFault(undefined);
    expect((await call(c)).status).toBe(200);
  });

  it('a team limit holds across its keys; model_rpm_limit holds per model; end users from their budget', async () => {
    await start();
    await f.team({ team_id: 'lt', rpm_limit: 1 });
    const a = await f.key({ team_id: 'lt' });
    const b = await f.key({ team_id: 'lt' });
    const perModel = await f.key({ model_rpm_limit: JSON.stringify({ m: 1 }) });
    await f.budget({ budget_id: 'b-rl', rpm_limit: 1 });
    await f.endUser({ user_id: 'cust-rl', budget_id: 'b-rl' });
    const e = await engineUp();
    expect((await call(e.client(a))).status).toBe(200);
    const team = await call(e.client(b));
    expect(team.status).toBe(429);
    expect(team.message).toMatch(/^Rate limit exceeded for team: lt\. Limit type: requests\./);
    expect((await call(e.client(perModel))).status).toBe(200);
    const model = await call(e.client(perModel));
    expect(model.message).toMatch(new RegExp(`^Rate limit exceeded for model_per_key: ${f.sha(perModel)}:m\\.`));
    // another model is not limited
    expect((await call(e.client(perModel), { model: 'n' })).status).toBe(200);
    const master = e.client(MASTER);
    expect((await call(master, { user: 'cust-rl' })).status).toBe(200);
    expect((await call(master, { user: 'cust-rl' })).message).toMatch(/^Rate limit exceeded for end_user: cust-rl\./);
  });

  it("the key's limits replace the provider's x-ratelimit-* headers; without limits the provider's pass", async () => {
    await start();
    upstream.setOptions({ headers: { 'x-ratelimit-remaining-requests': '999', 'x-ratelimit-limit-requests': '1000' } });
    const limited = await f.key({ rpm_limit: 5 });
    const free = await f.key({});
    const e = await engineUp();
    const mine = await call(e.client(limited));
    expect(mine.headers.get('x-ratelimit-remaining-requests')).toBe('4');
    expect(mine.headers.get('x-ratelimit-limit-requests')).toBe('5');
    const theirs = await call(e.client(free));
    expect(theirs.headers.get('x-ratelimit-remaining-requests')).toBe('999');
  });
});
