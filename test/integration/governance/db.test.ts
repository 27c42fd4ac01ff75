import { statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../../src/engine/governance/db/migrations.js';
import { openGovernanceDb, publicDbUrl } from '../../../src/engine/governance/db/open.js';
import { STORES, type TestStore, testStore } from './stores.js';

describe.each(STORES)('governance database on %s', (kind) => {
  let store: TestStore;
  afterEach(async () => {
    await store?.cleanup();
  });

  it('creates every table at first open, and a second open applies nothing', async () => {
    store = await testStore(kind);
    const first = await store.open();
    expect(first.applied).toEqual(Object.keys(MIGRATIONS));
    const now = Date.now();
    await first.db
      .insertInto('keys')
      .values({ token: 'a'.repeat(64), key_name: 'sk-...abcd', created_at: now, updated_at: now })
      .execute();
    await first.close();
    const again = await store.open();
    expect(again.applied).toEqual([]);
    const row = await again.db.selectFrom('keys').selectAll().executeTakeFirstOrThrow();
    // defaults as the schema promises them: JSON text, 0/1 flags, numbers (not strings) for bigint columns
    expect(row).toMatchObject({ key_name: 'sk-...abcd', models: '[]', metadata: '{}', blocked: 0, spend: 0 });
    expect(typeof row.created_at).toBe('number');
    expect(row.created_at).toBe(now);
    await again.close();
  });

  it('engines starting at once apply the migrations exactly once', async () => {
    store = await testStore(kind);
    const opened = await Promise.all([store.open(), store.open(), store.open()]);
    expect(opened.flatMap((o) => o.applied)).toEqual(Object.keys(MIGRATIONS));
    await Promise.all(opened.map((o) => o.close()));
  });

  it('with migrations turned off, refuses a database that is behind and names what is missing', async () => {
    store = await testStore(kind);
    await expect(openGovernanceDb({ ...store.options, migrate: false })).rejects.toThrow(
      /missing migrations 0001_init\b.*kubiya proxy migrate/,
    );
  });
});

describe('governance database files and URLs', () => {
  it('creates the SQLite file readable by its owner only', async () => {
    const store = await testStore('sqlite');
    const db = await store.open();
    expect(statSync(store.options.path!).mode & 0o777).toBe(0o600);
    await db.close();
    await store.cleanup();
  });

  it('never shows a database password', () => {
    expect(publicDbUrl('postgresql://app:s3cret-pw@db.internal:5432/llm')).toBe(
      'postgresql://app:***@db.internal:5432/llm',
    );
  });

  it('names the database it cannot reach, without its password', async () => {
    await expect(openGovernanceDb({ url: 'postgresql://app:s3cret-pw@127.0.0.1:1/none' })).rejects.toThrow(
      /cannot reach the database at postgresql:\/\/app:\*\*\*@127\.0\.0\.1:1\/none/,
    );
  });
});
