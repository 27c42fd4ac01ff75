/** `kubiya proxy migrate` and the store flags of `proxy start`, in-process. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../../src/engine/governance/db/migrations.js';
import { makeHome, runCli } from '../config-run.js';
import { testStore } from './stores.js';

const home = makeHome();
afterAll(() => home.cleanup());

describe('kubiya proxy migrate', () => {
  it('creates and migrates a SQLite store (0600), then says it is up to date', async () => {
    const file = path.join(home.home, 'stores', 'gov.db');
    const first = await runCli(['proxy', 'migrate', '--db-path', file], { home: home.home });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe(`${file}: applied ${Object.keys(MIGRATIONS).join(', ')}`);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const again = await runCli(['proxy', 'migrate', '--db-path', file, '-o', 'json'], { home: home.home });
    expect(JSON.parse(again.stdout)).toEqual({ database: file, dialect: 'sqlite', applied: [] });
  });

  it('migrates the Postgres that DATABASE_URL names', async () => {
    const store = await testStore('postgres');
    try {
      const r = await runCli(['proxy', 'migrate'], { home: home.home, env: { DATABASE_URL: store.databaseUrl } });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('applied 0001_init');
    } finally {
      await store.cleanup();
    }
  });

  it('a database it cannot reach: exit 1, the URL without its password', async () => {
    const r = await runCli(['proxy', 'migrate', '--database-url', 'postgresql://app:s3cret@127.0.0.1:1/llm'], {
      home: home.home,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot reach the database at postgresql://app:***@127.0.0.1:1/llm');
    expect(r.stderr).not.toContain('s3cret');
  });
});

describe('kubiya proxy start with a master key', () => {
  it('refuses to start against a store it cannot reach (exit 1, no password shown)', async () => {
    const cfg = path.join(home.home, 'mock.yaml');
    fs.writeFileSync(
      cfg,
      'model_list:\n  - model_name: m\n    litellm_params: {model: openai/x, mock_response: hi}\n' +
        'general_settings:\n  master_key: sk-master-cli-store\n',
    );
    const r = await runCli(
      ['proxy', 'start', '-c', cfg, '--port', '0', '--database-url', 'postgresql://app:s3cret@127.0.0.1:1/llm'],
      { home: home.home },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot reach the database at postgresql://app:***@127.0.0.1:1/llm');
    expect(r.stderr).not.toContain('s3cret');
  });

  it('with --skip-migrations refuses a store that is behind, naming the missing migration', async () => {
    const cfg = path.join(home.home, 'mock.yaml');
    const file = path.join(home.home, 'empty', 'gov.db');
    const r = await runCli(['proxy', 'start', '-c', cfg, '--port', '0', '--db-path', file, '--skip-migrations'], {
      home: home.home,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('missing migrations 0001_init');
    expect(r.stderr).toContain('kubiya proxy migrate');
  });
});
