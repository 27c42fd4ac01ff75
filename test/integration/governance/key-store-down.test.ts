/**
 * The key store going away (Postgres behind a TCP relay the test cuts): keys in use keep working, past their
 * cache TTL too; an unknown key gets a 503 naming the store and the cause, or passes as an admin with
 * general_settings.allow_requests_on_db_unavailable (LiteLLM's switch).
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestEngine, type TestEngine } from '../engine-helpers.js';
import { CONFIG, call, chat, generate, MASTER } from './key-helpers.js';
import { TEST_PG_URL, type TestStore, testStore } from './stores.js';

/** A relay to the test Postgres; `cut()` closes it and every connection through it. */
async function relay(): Promise<{ url: string; cut(): void; close(): Promise<void> }> {
  const target = new URL(TEST_PG_URL);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    const up = net.connect(Number(target.port || 5432), target.hostname);
    for (const x of [s, up]) {
      sockets.add(x);
      x.on('error', () => x.destroy());
      x.on('close', () => sockets.delete(x));
    }
    s.pipe(up).pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const u = new URL(TEST_PG_URL);
  u.port = String((server.address() as net.AddressInfo).port);
  const cut = () => {
    server.close();
    for (const s of sockets) s.destroy();
  };
  return { url: u.toString(), cut, close: async () => cut() };
}

describe('virtual keys while the Postgres store is down', () => {
  let store: TestStore;
  let engine: TestEngine;
  let link: Awaited<ReturnType<typeof relay>>;
  let clock = Date.parse('2026-03-04T10:00:00Z');

  afterEach(async () => {
    await engine?.close();
    await link?.close();
    await store?.cleanup();
  });

  const start = async (extra: Record<string, unknown> = {}) => {
    store = await testStore('postgres');
    link = await relay();
    engine = await startTestEngine(
      { ...CONFIG, general_settings: { ...CONFIG.general_settings, ...extra } },
      { apiKey: MASTER, governance: { url: link.url, schema: store.options.schema }, now: () => clock },
    );
  };

  it('serves cached keys and answers 503 naming the store for unknown ones', async () => {
    await start();
    const used = await generate(engine);
    const unused = await generate(engine);
    expect(await chat(engine, used.key)).toBe('from a');
    link.cut();
    expect(await chat(engine, used.key)).toBe('from a');
    const e = await chat(engine, unused.key);
    expect(e.status).toBe(503);
    expect(e.error.type).toBe('no_db_connection');
    expect(e.error.message).toContain(`the key store at postgresql://postgres@127.0.0.1:${new URL(link.url).port}`);
    expect(e.error.message).toMatch(/unreachable \(.+\)/);
    // management needs the store: a 503 that says so
    const mgmt = await call(engine, 'POST', '/key/generate', {});
    expect(mgmt.status).toBe(503);
    expect(mgmt.json.error.type).toBe('no_db_connection');
    expect(mgmt.json.error.message).toMatch(
      /^the key store at postgresql:\/\/postgres@127\.0\.0\.1:\d+\/test cannot be used: /,
    );
    // past the cache TTL the refresh fails and the cached record keeps serving
    clock += 60_000;
    expect(await chat(engine, used.key)).toBe('from a');
    await new Promise((r) => setTimeout(r, 100));
    expect(await chat(engine, used.key)).toBe('from a');
  });

  it('with allow_requests_on_db_unavailable an unknown key passes', async () => {
    await start({ allow_requests_on_db_unavailable: true });
    const k = await generate(engine);
    link.cut();
    expect(await chat(engine, k.key)).toBe('from a');
  });
});
