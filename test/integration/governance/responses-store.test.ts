/**
 * Stored Responses API responses in the governance database (SQLite and Postgres): they outlive the engine that
 * made them (another engine on the same store retrieves and continues them), and only the key that made one
 * sees it.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startOpenAIUpstream } from '../../fakes/openai-upstream.js';
import { startTestEngine, type TestEngine } from '../engine-helpers.js';
import { client, generate, MASTER } from './key-helpers.js';
import { STORES, type TestStore, testStore } from './stores.js';

describe.each(STORES)('stored responses (%s)', (kind) => {
  let store: TestStore;
  let fake: FakeUpstream;
  const engines: TestEngine[] = [];

  const start = async () => {
    const config = {
      model_list: [
        {
          model_name: 'gpt',
          litellm_params: { model: 'openai/gpt-4o', api_base: `${fake.url}/v1` },
          model_info: { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 },
        },
      ],
      general_settings: { master_key: MASTER, proxy_batch_write_at: 0.02 },
    };
    const e = await startTestEngine(config, { apiKey: MASTER, governance: store.options });
    engines.push(e);
    return e;
  };

  beforeAll(async () => {
    store = await testStore(kind);
    fake = await startOpenAIUpstream();
  });
  afterAll(async () => {
    for (const e of engines) await e.close();
    await fake?.close();
    await store?.cleanup();
  });

  it('a response made by one engine is retrieved and continued by the next, then deleted', async () => {
    const first = await start();
    const made = await first.openai.responses.create({ model: 'gpt', input: 'my name is Ada' });
    const streamed = await first.openai.responses
      .stream({ model: 'gpt', input: 'remember the stream' })
      .finalResponse();
    await first.close();

    const second = await start();
    expect((await second.openai.responses.retrieve(made.id)).output_text).toBe('echo: my name is Ada');
    expect((await second.openai.responses.retrieve(streamed.id)).output_text).toBe('echo: remember the stream');
    fake.requests.length = 0;
    const next = await second.openai.responses.create({
      model: 'gpt',
      input: 'what is my name?',
      previous_response_id: made.id,
    });
    expect(next.previous_response_id).toBe(made.id);
    const input = fake.requests[0].body!.input as { role?: string; content?: unknown }[];
    expect(input.map((i) => i.role)).toEqual(['user', 'assistant', 'user']);
    expect(input[0].content).toBe('my name is Ada');

    await second.openai.responses.delete(made.id);
    await expect(second.openai.responses.retrieve(made.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    // its continuation is still there, but the conversation can no longer be rebuilt: a clear 404
    const broken = await second.openai.responses
      .create({ model: 'gpt', input: 'and now?', previous_response_id: next.id })
      .catch((e: unknown) => e);
    expect(broken).toBeInstanceOf(OpenAI.NotFoundError);
    expect((broken as Error).message).toMatch(/no longer stored/);
  });

  it("a key sees only its own responses (another key's id is a 404)", async () => {
    const engine = engines.at(-1)!;
    const a = client(engine, (await generate(engine)).key);
    const b = client(engine, (await generate(engine)).key);
    const mine = await a.responses.create({ model: 'gpt', input: 'secret plans' });
    expect((await a.responses.retrieve(mine.id)).output_text).toBe('echo: secret plans');
    await expect(b.responses.retrieve(mine.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(b.responses.delete(mine.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(
      b.responses.create({ model: 'gpt', input: 'continue', previous_response_id: mine.id }),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(engine.openai.responses.retrieve(mine.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect((await a.responses.retrieve(mine.id)).id).toBe(mine.id);
  });

  it('each response is a spend log row (call_type aresponses) with its usage and cost', async () => {
    const engine = engines.at(-1)!;
    await engine.openai.responses.create({ model: 'gpt', input: 'bill me' }, { headers: { 'x-request-id': 'rq-r1' } });
    await engine.openai.responses
      .stream({ model: 'gpt', input: 'bill the stream' }, { headers: { 'x-request-id': 'rq-r2' } })
      .finalResponse();
    let rows: any[] = [];
    for (let i = 0; i < 250 && rows.length < 2; i++) {
      const r = await fetch(`${engine.url}/spend/logs?summarize=false`, {
        headers: { authorization: `Bearer ${MASTER}` },
      });
      rows = ((await r.json()) as any[]).filter((x) => x.request_id === 'rq-r1' || x.request_id === 'rq-r2');
      if (rows.length < 2) await new Promise((res) => setTimeout(res, 20));
    }
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row).toMatchObject({
        call_type: 'aresponses',
        status: 'success',
        prompt_tokens: 13,
        completion_tokens: 5,
      });
      // 2 of the 13 input tokens were cached: gpt-4o's cached-input price comes from the price map
      expect(row.spend).toBeCloseTo(11 * 0.000001 + 2 * 0.00000125 + 5 * 0.000002, 12);
    }
  });
});
