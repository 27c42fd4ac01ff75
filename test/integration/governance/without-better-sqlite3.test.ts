/**
 * A global install has no better-sqlite3 (an optional peer: docs/decisions.md). Here it cannot be loaded, as
 * there: on Node 22.13+ a master-keyed engine still starts on its SQLite file, through node:sqlite, and serves
 * virtual keys; on Node 20 it refuses to start with an error naming the ways out.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { startTestEngine, type TestEngine } from '../engine-helpers.js';
import { CONFIG, chat, generate, MASTER } from './key-helpers.js';
import { HAS_NODE_SQLITE } from './stores.js';

vi.mock('better-sqlite3', () => {
  throw new Error("Cannot find package 'better-sqlite3'");
});

describe('a master-keyed engine on SQLite without better-sqlite3', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubiya-nobs3-'));
  const path = join(dir, 'governance.db');
  let engine: TestEngine | undefined;
  afterAll(async () => {
    await engine?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.runIf(HAS_NODE_SQLITE)('starts on node:sqlite and serves a virtual key, which outlives a restart', async () => {
    engine = await startTestEngine(CONFIG, { apiKey: MASTER, governance: { path } });
    expect(engine.governance?.store.sqliteDriver).toBe('node:sqlite');
    const k = await generate(engine, { models: ['gpt-a'] });
    expect(await chat(engine, k.key)).toBe('from a');
    const denied = await chat(engine, k.key, 'gpt-c');
    expect(denied.status).toBe(403);
    await engine.close();
    engine = await startTestEngine(CONFIG, { apiKey: MASTER, governance: { path } });
    expect(await chat(engine, k.key)).toBe('from a');
  });

  it.runIf(!HAS_NODE_SQLITE)('on Node 20: refuses to start, naming better-sqlite3, Node 22+ and Postgres', async () => {
    await expect(startTestEngine(CONFIG, { apiKey: MASTER, governance: { path } })).rejects.toThrow(
      /needs the better-sqlite3 package.*npm install -g better-sqlite3@12.*or use Node 22\+.*or use Postgres/,
    );
  });
});
