/**
 * Engines on one machine share the SQLite file (every local queue with a master key uses the default one):
 * another process's write lock must never stall an engine's event loop while a budget is reserved.
 */
import Sqlite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, startTestEngine, type TestEngine } from '../engine-helpers.js';
import { type TestStore, testStore } from './stores.js';

const MASTER = 'sk-master-shared-sqlite';
let store: TestStore;
let engine: TestEngine;

beforeAll(async () => {
  store = await testStore('sqlite');
  engine = await startTestEngine(
    {
      model_list: [{ model_name: 'm', litellm_params: { model: 'openai/gpt-4o', mock_response: 'hi' } }],
      general_settings: { master_key: MASTER },
    },
    { apiKey: MASTER, governance: store.options },
  );
});
afterAll(async () => {
  await engine?.close();
  await store?.cleanup();
});

describe('a budget reservation on a SQLite file another process holds locked', () => {
  it('waits off the event loop: others are answered meanwhile, the call completes once the lock goes', async () => {
    const made = await post(
      `${engine.url}/key/generate`,
      { max_budget: 10, models: ['m'] },
      { authorization: `Bearer ${MASTER}` },
    );
    expect(made.status).toBe(200);
    const key = made.json.key as string;
    // another process's writer: a second connection holding the file's write lock
    const other = new Sqlite(store.options.path!);
    other.exec('BEGIN IMMEDIATE');
    const order: string[] = [];
    const call = post(
      `${engine.url}/v1/chat/completions`,
      { model: 'm', messages: [{ role: 'user', content: 'x' }] },
      {
        authorization: `Bearer ${key}`,
      },
    ).then((r) => {
      order.push('call');
      return r;
    });
    await new Promise((r) => setTimeout(r, 100));
    const live = await fetch(`${engine.url}/health/liveliness`);
    order.push('liveliness');
    expect(live.status).toBe(200);
    other.exec('COMMIT');
    other.close();
    const r = await call;
    expect(r.status).toBe(200);
    // the engine answered the probe while the reservation was waiting for the lock
    expect(order).toEqual(['liveliness', 'call']);
  });
});
