/**
 * Spend logs through a real engine (master key, the fake OpenAI upstream, the openai SDK as client): one row
 * per request (success, stream, embedding, failure) with its cost, tokens and attribution; the daily rollups
 * behind `/spend/logs?summarize=true` and `/global/spend/report`; prompts kept only with
 * store_prompts_in_spend_logs; disable_spend_logs; `/global/spend/reset`. On SQLite and Postgres.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startOpenAIUpstream } from '../../fakes/openai-upstream.js';
import { post, startTestEngine, type TestEngine } from '../engine-helpers.js';
import { STORES, type TestStore, testStore } from './stores.js';

const MASTER = 'sk-master-spendlogs-0123';
const MASTER_HASH = createHash('sha256').update(MASTER).digest('hex');
const auth = { authorization: `Bearer ${MASTER}` };
// the fake answers 11 prompt and 7 completion tokens; embeddings 5 prompt tokens
const IN = 0.000001;
const OUT = 0.000002;
const CHAT_COST = 11 * IN + 7 * OUT;
const today = () => new Date().toISOString().slice(0, 10);

function config(up: FakeUpstream, general: Record<string, unknown> = {}) {
  return {
    model_list: [
      {
        model_name: 'gpt-test',
        litellm_params: { model: 'openai/gpt-test', api_base: `${up.url}/v1`, api_key: 'sk-up' },
        model_info: { input_cost_per_token: IN, output_cost_per_token: OUT },
      },
      {
        model_name: 'embed-test',
        litellm_params: { model: 'openai/embed-test', api_base: `${up.url}/v1`, api_key: 'sk-up' },
        model_info: { input_cost_per_token: IN, output_cost_per_token: 0 },
      },
    ],
    router_settings: { num_retries: 0 },
    general_settings: { master_key: MASTER, proxy_batch_write_at: 0.02, ...general },
  };
}

async function get(engine: TestEngine, path: string, headers: Record<string, string> = auth) {
  const r = await fetch(`${engine.url}${path}`, { headers });
  return { status: r.status, json: (await r.json()) as any };
}

/** Wait until `/spend/logs` lists `n` rows (the writer flushes every 20 ms here). */
async function rowsOf(engine: TestEngine, n: number): Promise<any[]> {
  for (let i = 0; i < 250; i++) {
    const r = await get(engine, '/spend/logs?summarize=false');
    if (r.json.length >= n) return r.json;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`fewer than ${n} spend log rows`);
}

describe.each(STORES)('spend logs on %s', (kind) => {
  let up: FakeUpstream;
  let store: TestStore;
  let engine: TestEngine;

  beforeAll(async () => {
    up = await startOpenAIUpstream();
    store = await testStore(kind);
    engine = await startTestEngine(config(up), { apiKey: MASTER, governance: store.options });
    await engine.openai.chat.completions.create(
      {
        model: 'gpt-test',
        messages: [{ role: 'user', content: 'hello' }],
        user: 'cust-1',
        metadata: { tags: ['team-x', 'prod'] } as never,
      },
      { headers: { 'x-request-id': 'req-chat' } },
    );
    const stream = await engine.openai.chat.completions.create(
      {
        model: 'gpt-test',
        messages: [{ role: 'user', content: 'one two three' }],
        stream: true,
        stream_options: { include_usage: true },
      },
      { headers: { 'x-request-id': 'req-stream' } },
    );
    for await (const _ of stream) {
      // drain
    }
    await engine.openai.embeddings.create(
      { model: 'embed-test', input: 'x' },
      { headers: { 'x-request-id': 'req-emb' } },
    );
    up.setFault({ kind: 'status', status: 500 });
    await expect(
      engine.openai.chat.completions.create(
        { model: 'gpt-test', messages: [{ role: 'user', content: 'fail' }] },
        { headers: { 'x-request-id': 'req-fail' } },
      ),
    ).rejects.toThrow();
    up.setFault(undefined);
  });
  afterAll(async () => {
    await engine?.close();
    await up?.close();
    await store?.cleanup();
  });

  it('writes one row per request: cost, tokens, key, end user, tags, status; no prompts by default', async () => {
    const rows = await rowsOf(engine, 4);
    const by = Object.fromEntries(rows.map((r) => [r.request_id, r]));
    expect(Object.keys(by).sort()).toEqual(['req-chat', 'req-emb', 'req-fail', 'req-stream']);
    expect(by['req-chat']).toMatchObject({
      call_type: 'acompletion',
      api_key: MASTER_HASH,
      principal: 'master',
      prompt_tokens: 11,
      completion_tokens: 7,
      total_tokens: 18,
      model: 'gpt-test',
      model_group: 'gpt-test',
      custom_llm_provider: 'openai',
      end_user: 'cust-1',
      status: 'success',
      http_status: 200,
      messages: {},
      response: {},
    });
    expect(by['req-chat'].spend).toBeCloseTo(CHAT_COST, 12);
    expect(by['req-chat'].request_tags).toEqual(expect.arrayContaining(['team-x', 'prod']));
    expect(Date.parse(by['req-chat'].startTime)).toBeLessThanOrEqual(Date.parse(by['req-chat'].endTime));
    expect(by['req-stream']).toMatchObject({ status: 'success', call_type: 'acompletion' });
    expect(by['req-stream'].prompt_tokens).toBeGreaterThan(0);
    expect(by['req-stream'].spend).toBeGreaterThan(0);
    expect(by['req-emb']).toMatchObject({ call_type: 'aembedding', prompt_tokens: 5 });
    expect(by['req-emb'].spend).toBeCloseTo(5 * IN, 12);
    expect(by['req-fail']).toMatchObject({ status: 'failure', http_status: 500, spend: 0 });
  });

  it('filters rows by request_id and api_key (a raw sk- key is hashed)', async () => {
    await rowsOf(engine, 4);
    const one = await get(engine, '/spend/logs?request_id=req-emb');
    expect(one.json.map((r: any) => r.request_id)).toEqual(['req-emb']);
    const mine = await get(engine, `/spend/logs?api_key=${MASTER}`);
    expect(mine.json).toHaveLength(4);
    const none = await get(engine, '/spend/logs?api_key=sk-someone-else');
    expect(none.json).toEqual([]);
  });

  it('summarize=true (the default with dates) is one entry per day from the rollups', async () => {
    const rows = await rowsOf(engine, 4);
    const total = rows.reduce((s, r) => s + r.spend, 0);
    const d = today();
    const r = await get(engine, `/spend/logs?start_date=${d}&end_date=${d}`);
    expect(r.status).toBe(200);
    expect(r.json).toHaveLength(1);
    expect(r.json[0].startTime).toBe(d);
    expect(r.json[0].spend).toBeCloseTo(total, 12);
    expect(r.json[0][MASTER_HASH]).toBeCloseTo(total, 12);
    expect(Object.keys(r.json[0].models).sort()).toEqual(['embed-test', 'gpt-test']);
    const rowsInRange = await get(engine, `/spend/logs?start_date=${d}&end_date=${d}&summarize=false`);
    expect(rowsInRange.json).toHaveLength(4);
    // days after the last one with spend are listed with zeros, as LiteLLM does
    const later = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
    const padded = await get(engine, `/spend/logs?start_date=${d}&end_date=${later}`);
    expect(padded.json.map((x: any) => x.spend > 0)).toEqual([true, false, false]);
    const bad = await get(engine, '/spend/logs?start_date=yesterday&end_date=2026-01-01');
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ param: 'start_date', code: '400' });
  });

  it('/global/spend/report groups by team, customer and api_key', async () => {
    const rows = await rowsOf(engine, 4);
    const total = rows.reduce((s, r) => s + r.spend, 0);
    const d = today();
    const teams = await get(engine, `/global/spend/report?start_date=${d}&end_date=${d}`);
    expect(teams.status).toBe(200);
    expect(teams.json).toHaveLength(1);
    expect(teams.json[0].group_by_day.startsWith(d)).toBe(true);
    expect(teams.json[0].teams).toHaveLength(1);
    expect(teams.json[0].teams[0].team_name).toBe('Unassigned Team');
    expect(teams.json[0].teams[0].total_spend).toBeCloseTo(total, 12);
    expect(teams.json[0].teams[0].metadata).toEqual(
      expect.arrayContaining([expect.objectContaining({ model: 'gpt-test', api_key: MASTER_HASH })]),
    );
    const customers = await get(engine, `/global/spend/report?start_date=${d}&end_date=${d}&group_by=customer`);
    const cust1 = customers.json[0].customers.find((c: any) => c.customer === 'cust-1');
    expect(cust1.total_spend).toBeCloseTo(CHAT_COST, 12);
    const keys = await get(engine, `/global/spend/report?start_date=${d}&end_date=${d}&group_by=api_key`);
    expect(keys.json).toHaveLength(1);
    expect(keys.json[0]).toMatchObject({ api_key: MASTER_HASH });
    expect(keys.json[0].total_cost).toBeCloseTo(total, 12);
    const gpt = keys.json[0].model_details.find((m: any) => m.model === 'gpt-test');
    expect(gpt.total_output_tokens).toBeGreaterThanOrEqual(7);
    const missing = await get(engine, '/global/spend/report?group_by=team');
    expect(missing.status).toBe(400);
    const wrong = await get(engine, `/global/spend/report?start_date=${d}&end_date=${d}&group_by=planet`);
    expect(wrong.json.error.param).toBe('group_by');
  });

  it('the top lists read the last 30 days: models, keys, tags', async () => {
    await rowsOf(engine, 4);
    const models = await get(engine, '/global/spend/models?limit=1');
    expect(models.json).toEqual([{ model: 'gpt-test', total_spend: expect.any(Number) }]);
    const keys = await get(engine, '/global/spend/keys');
    expect(keys.json[0]).toMatchObject({ api_key: MASTER_HASH });
    const tags = await get(engine, '/spend/tags');
    expect(tags.json.map((t: any) => t.individual_request_tag).sort()).toEqual(['prod', 'team-x']);
  });

  it('/global/spend/reset zeroes every key and team spend and keeps the logs', async () => {
    await rowsOf(engine, 4);
    const db = await store.open();
    try {
      const now = Date.now();
      await db.db
        .insertInto('keys')
        .values({ token: 'k'.repeat(64), key_name: 'sk-...kkkk', spend: 3.5, created_at: now, updated_at: now })
        .execute();
      await db.db
        .insertInto('teams')
        .values({ team_id: 'team-r', spend: 7.25, created_at: now, updated_at: now })
        .execute();
      const r = await post(`${engine.url}/global/spend/reset`, {}, auth);
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ message: 'Spend for all API Keys and Teams reset successfully', status: 'success' });
      expect((await db.db.selectFrom('keys').select('spend').executeTakeFirstOrThrow()).spend).toBe(0);
      expect((await db.db.selectFrom('teams').select('spend').executeTakeFirstOrThrow()).spend).toBe(0);
      expect(await rowsOf(engine, 4)).toHaveLength(4);
    } finally {
      await db.close();
    }
  });
});

describe.each(STORES)('spend log switches on %s', (kind) => {
  let up: FakeUpstream;
  beforeAll(async () => {
    up = await startOpenAIUpstream();
  });
  afterAll(async () => {
    await up?.close();
  });

  it('store_prompts_in_spend_logs keeps the messages and the answer', async () => {
    const store = await testStore(kind);
    const engine = await startTestEngine(config(up, { store_prompts_in_spend_logs: true }), {
      apiKey: MASTER,
      governance: store.options,
    });
    try {
      await engine.openai.chat.completions.create(
        { model: 'gpt-test', messages: [{ role: 'user', content: 'remember me' }] },
        { headers: { 'x-request-id': 'req-kept' } },
      );
      const [row] = await rowsOf(engine, 1);
      expect(row.messages).toEqual([{ role: 'user', content: 'remember me' }]);
      expect(row.response).toMatchObject({ role: 'assistant', content: 'echo: remember me' });
    } finally {
      await engine.close();
      await store.cleanup();
    }
  });

  it('disable_spend_logs writes no rows but still the daily totals', async () => {
    const store = await testStore(kind);
    const engine = await startTestEngine(config(up, { disable_spend_logs: true }), {
      apiKey: MASTER,
      governance: store.options,
    });
    try {
      await engine.openai.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] });
    } finally {
      // closing flushes what is queued
      await engine.close();
    }
    const db = await store.open();
    try {
      expect(await db.db.selectFrom('spend_logs').selectAll().execute()).toEqual([]);
      const key = await db.db
        .selectFrom('daily_spend')
        .selectAll()
        .where('entity_type', '=', 'key')
        .executeTakeFirstOrThrow();
      expect(key).toMatchObject({ entity_id: MASTER_HASH, api_requests: 1, successful_requests: 1 });
      expect(key.spend).toBeCloseTo(CHAT_COST, 12);
    } finally {
      await db.close();
      await store.cleanup();
    }
  });
});
