/**
 * `kubiya proxy import-litellm`: a LiteLLM-shaped database (LiteLLM's table and column names and types, as
 * its schema.prisma creates them, in a schema of its own) with sample rows, imported into SQLite and
 * Postgres stores; then the keys are used with their original plaintext through the openai SDK.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importLiteLLM } from '../../../src/engine/governance/import/run.js';
import { openLiteLLMSource } from '../../../src/engine/governance/import/source.js';
import { type CliHome, makeHome } from '../config-run.js';
import { startTestEngine, type TestEngine } from '../engine-helpers.js';
import { CONFIG, chat, client, MASTER } from './key-helpers.js';
import { STORES, TEST_PG_URL, type TestStore, testStore } from './stores.js';

const sha = (k: string) => createHash('sha256').update(k).digest('hex');
const schema = `ll_${randomBytes(6).toString('hex')}`;
const FROM = `${TEST_PG_URL}?schema=${schema}`;

// the keys as their owners hold them; LiteLLM stored only their sha256
const TEAM_KEY = 'sk-litellm-team-key-0001';
const OLD_TEAM_KEY = 'sk-litellm-team-key-old1';
const PERSONAL_KEY = 'sk-litellm-personal-0002';
const BLOCKED_KEY = 'sk-litellm-blocked-00003';
const SPENT_KEY = 'sk-litellm-spent-000004';
const MEMBER_KEY = 'sk-litellm-member-00005';

const FUTURE = '2999-01-01 00:00:00';

/**
 * LiteLLM's tables as Prisma creates them from schema.prisma (String: TEXT, Float: DOUBLE PRECISION, BigInt,
 * DateTime: TIMESTAMP(3), Json: JSONB, String[]: TEXT[]), with only the columns the import reads.
 */
const DDL = `
CREATE TABLE "LiteLLM_BudgetTable" (
  budget_id TEXT PRIMARY KEY, max_budget DOUBLE PRECISION, soft_budget DOUBLE PRECISION, max_parallel_requests INTEGER,
  tpm_limit BIGINT, rpm_limit BIGINT, model_max_budget JSONB, budget_duration TEXT, budget_reset_at TIMESTAMP(3),
  allowed_models TEXT[] DEFAULT ARRAY[]::TEXT[], created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  created_by TEXT NOT NULL, updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, updated_by TEXT NOT NULL);
CREATE TABLE "LiteLLM_OrganizationTable" (
  organization_id TEXT PRIMARY KEY, organization_alias TEXT NOT NULL, budget_id TEXT NOT NULL,
  metadata JSONB NOT NULL DEFAULT '{}', models TEXT[], spend DOUBLE PRECISION NOT NULL DEFAULT 0,
  created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, created_by TEXT NOT NULL,
  updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, updated_by TEXT NOT NULL);
CREATE TABLE "LiteLLM_UserTable" (
  user_id TEXT PRIMARY KEY, user_alias TEXT, organization_id TEXT, teams TEXT[] DEFAULT ARRAY[]::TEXT[], user_role TEXT,
  max_budget DOUBLE PRECISION, spend DOUBLE PRECISION NOT NULL DEFAULT 0, user_email TEXT, models TEXT[],
  metadata JSONB NOT NULL DEFAULT '{}', max_parallel_requests INTEGER, tpm_limit BIGINT, rpm_limit BIGINT,
  budget_duration TEXT, budget_reset_at TIMESTAMP(3), model_max_budget JSONB NOT NULL DEFAULT '{}',
  created_at TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE "LiteLLM_TeamTable" (
  team_id TEXT PRIMARY KEY, team_alias TEXT, organization_id TEXT, admins TEXT[], members TEXT[],
  members_with_roles JSONB NOT NULL DEFAULT '{}', metadata JSONB NOT NULL DEFAULT '{}', max_budget DOUBLE PRECISION,
  soft_budget DOUBLE PRECISION, spend DOUBLE PRECISION NOT NULL DEFAULT 0, models TEXT[], max_parallel_requests INTEGER,
  tpm_limit BIGINT, rpm_limit BIGINT, budget_duration TEXT, budget_reset_at TIMESTAMP(3),
  blocked BOOLEAN NOT NULL DEFAULT false, created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, model_max_budget JSONB NOT NULL DEFAULT '{}');
CREATE TABLE "LiteLLM_TeamMembership" (
  user_id TEXT NOT NULL, team_id TEXT NOT NULL, spend DOUBLE PRECISION NOT NULL DEFAULT 0,
  total_spend DOUBLE PRECISION NOT NULL DEFAULT 0, budget_id TEXT, PRIMARY KEY (user_id, team_id));
CREATE TABLE "LiteLLM_EndUserTable" (
  user_id TEXT PRIMARY KEY, alias TEXT, spend DOUBLE PRECISION NOT NULL DEFAULT 0, allowed_model_region TEXT,
  default_model TEXT, budget_id TEXT, blocked BOOLEAN NOT NULL DEFAULT false);
CREATE TABLE "LiteLLM_VerificationToken" (
  token TEXT PRIMARY KEY, key_name TEXT, key_alias TEXT, spend DOUBLE PRECISION NOT NULL DEFAULT 0,
  expires TIMESTAMP(3), models TEXT[], aliases JSONB NOT NULL DEFAULT '{}', user_id TEXT, team_id TEXT,
  max_parallel_requests INTEGER, metadata JSONB NOT NULL DEFAULT '{}', blocked BOOLEAN, tpm_limit BIGINT,
  rpm_limit BIGINT, max_budget DOUBLE PRECISION, budget_duration TEXT, budget_reset_at TIMESTAMP(3),
  model_max_budget JSONB NOT NULL DEFAULT '{}', budget_id TEXT, organization_id TEXT,
  created_at TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP, created_by TEXT,
  updated_at TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP, updated_by TEXT, last_active TIMESTAMP(3));
CREATE TABLE "LiteLLM_DeprecatedVerificationToken" (
  id TEXT PRIMARY KEY, token TEXT NOT NULL UNIQUE, active_token_id TEXT NOT NULL, revoke_at TIMESTAMP(3) NOT NULL,
  created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE "LiteLLM_SpendLogs" (
  request_id TEXT PRIMARY KEY, call_type TEXT NOT NULL, api_key TEXT NOT NULL DEFAULT '',
  spend DOUBLE PRECISION NOT NULL DEFAULT 0, total_tokens INTEGER NOT NULL DEFAULT 0,
  prompt_tokens INTEGER NOT NULL DEFAULT 0, completion_tokens INTEGER NOT NULL DEFAULT 0,
  "startTime" TIMESTAMP(3) NOT NULL, "endTime" TIMESTAMP(3) NOT NULL, request_duration_ms INTEGER,
  "completionStartTime" TIMESTAMP(3), model TEXT NOT NULL DEFAULT '', model_id TEXT DEFAULT '',
  model_group TEXT DEFAULT '', custom_llm_provider TEXT DEFAULT '', api_base TEXT DEFAULT '', "user" TEXT DEFAULT '',
  metadata JSONB DEFAULT '{}', cache_hit TEXT DEFAULT '', cache_key TEXT DEFAULT '', request_tags JSONB DEFAULT '[]',
  team_id TEXT, organization_id TEXT, end_user TEXT, messages JSONB DEFAULT '{}', response JSONB DEFAULT '{}',
  session_id TEXT, status TEXT);
CREATE TABLE "LiteLLM_DailyUserSpend" (
  id TEXT PRIMARY KEY, user_id TEXT, date TEXT NOT NULL, api_key TEXT NOT NULL, model TEXT, model_group TEXT,
  custom_llm_provider TEXT, mcp_namespaced_tool_name TEXT, endpoint TEXT, prompt_tokens BIGINT NOT NULL DEFAULT 0,
  completion_tokens BIGINT NOT NULL DEFAULT 0, cache_read_input_tokens BIGINT NOT NULL DEFAULT 0,
  cache_creation_input_tokens BIGINT NOT NULL DEFAULT 0, spend DOUBLE PRECISION NOT NULL DEFAULT 0,
  api_requests BIGINT NOT NULL DEFAULT 0, successful_requests BIGINT NOT NULL DEFAULT 0,
  failed_requests BIGINT NOT NULL DEFAULT 0, created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE "LiteLLM_DailyTeamSpend" (LIKE "LiteLLM_DailyUserSpend" INCLUDING ALL);
ALTER TABLE "LiteLLM_DailyTeamSpend" RENAME COLUMN user_id TO team_id;
`;

/** JSON for a Json column (node-postgres would turn a JS array into a Postgres array literal). */
const J = (v: unknown) => JSON.stringify(v);
const NONE: string[] = [];

/** LiteLLM's rows: budgets, an org, users, a team with members, end users, keys, an old key, spend logs. */
const SAMPLE: Record<string, Record<string, unknown>[]> = {
  LiteLLM_BudgetTable: [
    { budget_id: 'b-member', max_budget: 2, budget_duration: '30d', budget_reset_at: FUTURE },
    { budget_id: 'b-key', max_budget: 50, soft_budget: 40, rpm_limit: 7 },
    { budget_id: 'b-customer', max_budget: 0.5 },
    { budget_id: 'b-org', max_budget: 1000 },
  ].map((b) => ({ ...b, created_by: 'admin', updated_by: 'admin' })),
  LiteLLM_OrganizationTable: [
    {
      organization_id: 'o1',
      organization_alias: 'Org One',
      budget_id: 'b-org',
      models: ['gpt-a', 'gpt-b'],
      spend: 1.35,
      created_by: 'admin',
      updated_by: 'admin',
    },
  ],
  LiteLLM_UserTable: [
    {
      user_id: 'u1',
      user_alias: 'Ada',
      user_email: 'ada@example.com',
      user_role: 'internal_user',
      organization_id: 'o1',
      max_budget: 100,
      spend: 1.25,
      models: NONE,
      tpm_limit: 100000,
      rpm_limit: 60,
      budget_duration: '7d',
    },
    { user_id: 'u2', user_alias: 'Bo', user_email: 'bo@example.com', user_role: 'proxy_admin_viewer', spend: 0.1 },
    { user_id: 'u3', user_alias: 'Cy', models: NONE },
  ],
  LiteLLM_TeamTable: [
    {
      team_id: 't1',
      team_alias: 'Team One',
      organization_id: 'o1',
      members_with_roles: J([
        { role: 'admin', user_id: 'u1', user_email: 'ada@example.com' },
        { role: 'user', user_id: 'u3' },
        { role: 'user', user_id: null, user_email: 'nobody@example.com' },
      ]),
      metadata: J({ tags: ['team-tag'], model_rpm_limit: { 'gpt-a': 30 } }),
      max_budget: 20,
      soft_budget: 15,
      spend: 1.25,
      models: ['gpt-a', 'gpt-b'],
      tpm_limit: 500000,
      rpm_limit: 300,
      budget_duration: '30d',
      budget_reset_at: FUTURE,
    },
  ],
  LiteLLM_TeamMembership: [
    { user_id: 'u1', team_id: 't1', spend: 0.5, budget_id: 'b-member' },
    { user_id: 'u3', team_id: 't1', spend: 3, budget_id: 'b-member' },
  ],
  LiteLLM_EndUserTable: [
    { user_id: 'c-spent', alias: 'Spent Customer', spend: 1, budget_id: 'b-customer' },
    { user_id: 'c-blocked', blocked: true, default_model: 'gpt-a' },
  ],
  LiteLLM_VerificationToken: [
    {
      token: sha(TEAM_KEY),
      key_name: 'sk-...0001',
      key_alias: 'team-key',
      spend: 1.25,
      expires: FUTURE,
      models: ['gpt-a'],
      user_id: 'u1',
      team_id: 't1',
      metadata: J({ tags: ['prod'], model_rpm_limit: { 'gpt-a': 5 } }),
      blocked: false,
      tpm_limit: 10000,
      rpm_limit: 100,
      max_budget: 10,
      budget_duration: '30d',
      budget_reset_at: FUTURE,
      model_max_budget: J({ 'gpt-a': { budget_limit: 5, time_period: '30d' } }),
      max_parallel_requests: 4,
    },
    {
      token: sha(PERSONAL_KEY),
      key_name: 'sk-...0002',
      key_alias: 'personal',
      spend: 0.1,
      models: NONE,
      aliases: J({ fast: 'gpt-b' }),
      user_id: 'u2',
      budget_id: 'b-key',
    },
    { token: sha(BLOCKED_KEY), key_name: 'sk-...0003', models: NONE, blocked: true },
    { token: sha(SPENT_KEY), key_name: 'sk-...0004', key_alias: 'spent', spend: 2, models: NONE, max_budget: 1 },
    { token: sha(MEMBER_KEY), key_name: 'sk-...0005', key_alias: 'member', models: NONE, user_id: 'u3', team_id: 't1' },
  ],
  LiteLLM_DeprecatedVerificationToken: [
    { id: 'd1', token: sha(OLD_TEAM_KEY), active_token_id: sha(TEAM_KEY), revoke_at: FUTURE },
  ],
  LiteLLM_SpendLogs: [
    {
      request_id: 'r1',
      call_type: 'acompletion',
      api_key: sha(TEAM_KEY),
      spend: 0.5,
      total_tokens: 30,
      prompt_tokens: 10,
      completion_tokens: 20,
      startTime: '2026-11-01 10:00:00',
      endTime: '2026-11-01 10:00:01.5',
      request_duration_ms: 1500,
      model: 'gpt-a',
      model_group: 'gpt-a',
      custom_llm_provider: 'openai',
      user: 'u1',
      metadata: J({ user_api_key_alias: 'team-key' }),
      cache_hit: 'False',
      request_tags: J(['prod']),
      team_id: 't1',
      organization_id: 'o1',
      status: 'success',
    },
    {
      request_id: 'r2',
      call_type: 'acompletion',
      api_key: sha(TEAM_KEY),
      spend: 0.75,
      total_tokens: 45,
      prompt_tokens: 15,
      completion_tokens: 30,
      // no duration recorded: it comes from the times
      startTime: '2026-11-02 23:59:59',
      endTime: '2026-11-03 00:00:01',
      model: 'gpt-a',
      model_group: 'gpt-a',
      custom_llm_provider: 'openai',
      user: 'u1',
      cache_hit: 'True',
      request_tags: J(['prod', 'batch']),
      team_id: 't1',
      organization_id: 'o1',
      status: 'success',
    },
    {
      request_id: 'r3',
      call_type: 'aembedding',
      api_key: sha(PERSONAL_KEY),
      spend: 0.1,
      total_tokens: 8,
      prompt_tokens: 8,
      startTime: '2026-11-02 12:00:00',
      endTime: '2026-11-02 12:00:00.2',
      request_duration_ms: 200,
      model: 'emb',
      user: 'u2',
      end_user: 'c-spent',
      status: 'success',
    },
    {
      request_id: 'r4',
      call_type: 'acompletion',
      api_key: sha(PERSONAL_KEY),
      startTime: '2026-11-02 12:01:00',
      endTime: '2026-11-02 12:01:00.1',
      request_duration_ms: 100,
      model: 'gpt-b',
      model_group: 'gpt-b',
      custom_llm_provider: 'openai',
      user: 'u2',
      status: 'failure',
    },
  ],
  // LiteLLM's rollups: 2026-10-15 has no log left (retention), 2026-11-01 is covered by the logs above
  LiteLLM_DailyUserSpend: [
    { id: 'du1', user_id: 'u1', date: '2026-10-15', spend: 4, api_requests: 8, successful_requests: 8 },
    { id: 'du2', user_id: 'u1', date: '2026-11-01', spend: 99, api_requests: 1, successful_requests: 1 },
  ].map((r) => ({ ...r, api_key: sha(TEAM_KEY), model: 'gpt-a', model_group: 'gpt-a', endpoint: '/chat/completions' })),
  LiteLLM_DailyTeamSpend: [
    { id: 'dt1', team_id: 't1', date: '2026-10-15', spend: 4, api_requests: 8, successful_requests: 8 },
    { id: 'dt2', team_id: 't1', date: '2026-11-01', spend: 99, api_requests: 1, successful_requests: 1 },
  ].map((r) => ({ ...r, api_key: sha(TEAM_KEY), model: 'gpt-a', model_group: 'gpt-a', endpoint: '/chat/completions' })),
};

async function insertSample(c: pg.Client): Promise<void> {
  for (const [table, rows] of Object.entries(SAMPLE))
    for (const row of rows) {
      const cols = Object.keys(row);
      const names = cols.map((k) => `"${k}"`).join(', ');
      const params = cols.map((_, i) => `$${i + 1}`).join(', ');
      await c.query(`INSERT INTO "${table}" (${names}) VALUES (${params})`, Object.values(row));
    }
}

const SOURCE_SPEND = 0.5 + 0.75 + 0.1;

let home: CliHome;
let admin: pg.Client;

beforeAll(async () => {
  home = makeHome();
  admin = new pg.Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.query(`SET search_path = ${schema}`);
  await admin.query(DDL);
  await insertSample(admin);
});
afterAll(async () => {
  await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin?.end();
  home?.cleanup();
});

/** The CLI's destination flags for a store: --db-path for SQLite, --to for Postgres. */
const toFlags = (s: TestStore) => (s.kind === 'sqlite' ? ['--db-path', s.options.path!] : ['--to', s.databaseUrl!]);

async function importInto(s: TestStore, ...extra: string[]) {
  const r = await home.run(['proxy', 'import-litellm', '--from', FROM, ...toFlags(s), '-o', 'json', ...extra], {});
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

const EXPECTED_COUNTS = {
  keys: 5,
  deprecated_keys: 1,
  users: 3,
  teams: 1,
  // u1 and u3: the member named by email alone has no user id to join keys to
  team_members: 2,
  budgets: 4,
  end_users: 2,
  organizations: 1,
  spend_logs: 4,
};

// the CLI opens the store by its flags (--db-path: better-sqlite3 here), so node:sqlite is not one of its targets
describe.each(STORES.filter((k) => k !== 'node:sqlite'))('import-litellm into %s', (kind) => {
  let store: TestStore;
  let engine: TestEngine | undefined;
  beforeAll(async () => {
    store = await testStore(kind);
  });
  afterAll(async () => {
    await engine?.close();
    await store?.cleanup();
  });

  it('--dry-run counts what would be imported and writes nothing', async () => {
    const out = await importInto(store, '--dry-run');
    expect(out).toMatchObject({ dryRun: true, counts: EXPECTED_COUNTS });
    expect(out.source).toBe(FROM);
    if (kind === 'sqlite') expect(fs.existsSync(store.options.path!)).toBe(false);
    else {
      const t = await admin.query('SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1', [
        store.options.schema,
      ]);
      expect(t.rows[0].n).toBe(0);
    }
  });

  it('imports everything; keys authenticate with their original plaintext and keep their limits', async () => {
    const out = await importInto(store);
    expect(out).toMatchObject({ dryRun: false, counts: EXPECTED_COUNTS });
    engine = await startTestEngine(CONFIG, { apiKey: MASTER, governance: store.options });

    expect(await chat(engine, TEAM_KEY, 'gpt-a')).toBe('from a');
    // the old hash inside its regenerate grace period still works
    expect(await chat(engine, OLD_TEAM_KEY, 'gpt-a')).toBe('from a');
    // the team key's models: gpt-a only
    const denied = await chat(engine, TEAM_KEY, 'gpt-c');
    expect(denied.status).toBe(403);
    expect(denied.error.type).toBe('key_model_access_denied');
    // a personal key with no model list
    expect(await chat(engine, PERSONAL_KEY, 'gpt-c')).toBe('from c');

    const blocked = await chat(engine, BLOCKED_KEY, 'gpt-a');
    expect(blocked.status).toBe(401);
    expect(blocked.error.message).toContain('Key is blocked');

    // spend carried over: 2 spent of a 1 budget
    const spent = await chat(engine, SPENT_KEY, 'gpt-a');
    expect(spent.status).toBe(429);
    expect(spent.error.type).toBe('budget_exceeded');
    // the membership budget: u3 spent 3 of the 2 its membership allows in t1
    const member = await chat(engine, MEMBER_KEY, 'gpt-a');
    expect(member.status).toBe(429);
    expect(member.error.message).toContain('User=u3 in Team=t1');

    // end users: the spent one over its budget, the blocked one refused
    const asCustomer = (user: string) =>
      client(engine!, PERSONAL_KEY)
        .chat.completions.create({ model: 'gpt-a', messages: [{ role: 'user', content: 'hi' }], user })
        .then((r) => r.choices[0].message.content)
        .catch((e) => e);
    expect((await asCustomer('c-spent')).status).toBe(429);
    expect((await asCustomer('c-blocked')).status).toBeGreaterThanOrEqual(400);
    expect(await asCustomer('someone-new')).toBe('from a');
  });

  it('carries budgets, limits, models, members and spend totals over', async () => {
    const db = await store.open();
    try {
      const key = await db.db
        .selectFrom('keys')
        .selectAll()
        .where('token', '=', sha(TEAM_KEY))
        .executeTakeFirstOrThrow();
      expect(key).toMatchObject({
        key_name: 'sk-...0001',
        key_alias: 'team-key',
        user_id: 'u1',
        team_id: 't1',
        max_budget: 10,
        budget_duration: '30d',
        budget_reset_at: Date.UTC(2999, 0, 1),
        expires: Date.UTC(2999, 0, 1),
        tpm_limit: 10000,
        rpm_limit: 100,
        max_parallel_requests: 4,
        blocked: 0,
      });
      expect(key.spend).toBeCloseTo(1.25, 10);
      expect(JSON.parse(key.models)).toEqual(['gpt-a']);
      expect(JSON.parse(key.tags)).toEqual(['prod']);
      expect(JSON.parse(key.model_rpm_limit)).toEqual({ 'gpt-a': 5 });
      expect(JSON.parse(key.model_max_budget)).toEqual({ 'gpt-a': { budget_limit: 5, time_period: '30d' } });
      const personal = await db.db
        .selectFrom('keys')
        .selectAll()
        .where('token', '=', sha(PERSONAL_KEY))
        .executeTakeFirstOrThrow();
      expect(personal.budget_id).toBe('b-key');
      expect(JSON.parse(personal.aliases)).toEqual({ fast: 'gpt-b' });

      const budget = await db.db
        .selectFrom('budgets')
        .selectAll()
        .where('budget_id', '=', 'b-key')
        .executeTakeFirstOrThrow();
      expect(budget).toMatchObject({ max_budget: 50, soft_budget: 40, rpm_limit: 7 });

      const users = await db.db.selectFrom('users').selectAll().orderBy('user_id').execute();
      expect(users.map((u) => [u.user_id, u.user_role, u.max_budget, u.budget_duration])).toEqual([
        ['u1', 'internal_user', 100, '7d'],
        ['u2', 'proxy_admin_viewer', null, null],
        ['u3', 'internal_user', null, null],
      ]);
      const team = await db.db.selectFrom('teams').selectAll().where('team_id', '=', 't1').executeTakeFirstOrThrow();
      expect(team).toMatchObject({ team_alias: 'Team One', organization_id: 'o1', max_budget: 20, soft_budget: 15 });
      expect(JSON.parse(team.models)).toEqual(['gpt-a', 'gpt-b']);
      expect(JSON.parse(team.tags)).toEqual(['team-tag']);
      const members = await db.db.selectFrom('team_members').selectAll().orderBy('user_id').execute();
      expect(members.map((m) => [m.user_id, m.role, m.spend, m.budget_id])).toEqual([
        ['u1', 'admin', 0.5, 'b-member'],
        ['u3', 'user', 3, 'b-member'],
      ]);
      const customers = await db.db.selectFrom('end_users').selectAll().orderBy('user_id').execute();
      expect(customers.map((c) => [c.user_id, c.blocked, c.budget_id, c.spend])).toEqual([
        ['c-blocked', 1, null, 0],
        ['c-spent', 0, 'b-customer', 1],
      ]);
      const org = await db.db.selectFrom('organizations').selectAll().executeTakeFirstOrThrow();
      expect(org).toMatchObject({ organization_id: 'o1', budget_id: 'b-org', spend: 1.35 });

      // spend: the logs and every rollup total what LiteLLM recorded (on its days: the engine above added today's)
      const DAYS = ['2026-11-01', '2026-11-02'];
      const logs = await db.db
        .selectFrom('spend_logs')
        .selectAll()
        .where('request_id', 'in', ['r1', 'r2', 'r3', 'r4'])
        .orderBy('request_id')
        .execute();
      expect(logs.map((l) => [l.request_id, l.status, l.http_status, l.user_id, l.cache_hit])).toEqual([
        ['r1', 'success', 200, 'u1', 0],
        ['r2', 'success', 200, 'u1', 1],
        ['r3', 'success', 200, 'u2', 0],
        ['r4', 'failure', 500, 'u2', 0],
      ]);
      expect(logs[0]).toMatchObject({
        start_time: Date.UTC(2026, 10, 1, 10),
        request_duration_ms: 1500,
        key_alias: 'team-key',
      });
      expect(logs[1].request_duration_ms).toBe(2000);
      const total = (rows: { spend: number }[]) => rows.reduce((s, r) => s + r.spend, 0);
      expect(total(logs)).toBeCloseTo(SOURCE_SPEND, 10);
      for (const type of ['key', 'user', 'model', 'org', 'team', 'end_user']) {
        const rows = await db.db
          .selectFrom('daily_spend')
          .select('spend')
          .where('entity_type', '=', type)
          .where('date', 'in', DAYS)
          .execute();
        expect(total(rows), type).toBeCloseTo(SOURCE_SPEND, 10);
      }
      const teamDays = await db.db
        .selectFrom('daily_spend')
        .select(['date', 'spend', 'api_requests', 'prompt_tokens'])
        .where('entity_type', '=', 'team')
        .where('entity_id', '=', 't1')
        .where('date', 'in', DAYS)
        .orderBy('date')
        .execute();
      expect(teamDays).toEqual([
        { date: '2026-11-01', spend: 0.5, api_requests: 1, prompt_tokens: 10 },
        { date: '2026-11-02', spend: 0.75, api_requests: 1, prompt_tokens: 15 },
      ]);
      // a day only LiteLLM's rollups remember: team, user, and the key and model made from the user rows
      const october = await db.db
        .selectFrom('daily_spend')
        .select(['entity_type', 'entity_id', 'spend', 'api_requests'])
        .where('date', '=', '2026-10-15')
        .orderBy('entity_type')
        .execute();
      expect(october).toEqual([
        { entity_type: 'key', entity_id: sha(TEAM_KEY), spend: 4, api_requests: 8 },
        { entity_type: 'model', entity_id: 'gpt-a', spend: 4, api_requests: 8 },
        { entity_type: 'team', entity_id: 't1', spend: 4, api_requests: 8 },
        { entity_type: 'user', entity_id: 'u1', spend: 4, api_requests: 8 },
      ]);
      const failed = await db.db
        .selectFrom('daily_spend')
        .select(['failed_requests'])
        .where('entity_type', '=', 'key')
        .where('model', '=', 'gpt-b')
        .where('date', 'in', DAYS)
        .executeTakeFirstOrThrow();
      expect(failed.failed_requests).toBe(1);
      const batch = await db.db
        .selectFrom('daily_spend')
        .select('spend')
        .where('entity_type', '=', 'tag')
        .where('entity_id', '=', 'batch')
        .execute();
      expect(total(batch)).toBeCloseTo(0.75, 10);
    } finally {
      await db.close();
    }
  });

  it("re-running is an upsert: no duplicates, LiteLLM's values win, rows only in our store stay", async () => {
    await engine?.close();
    engine = undefined;
    const db = await store.open();
    const countAll = async () => {
      const out: Record<string, number> = {};
      for (const t of [
        'keys',
        'users',
        'teams',
        'team_members',
        'budgets',
        'end_users',
        'spend_logs',
        'daily_spend',
      ] as const) {
        const r = await db.db
          .selectFrom(t)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        out[t] = Number(r.n);
      }
      return out;
    };
    try {
      // our engine's own key, and a local edit to an imported one
      await db.db
        .insertInto('users')
        .values({ user_id: 'ours-only', user_role: 'internal_user', created_at: 1, updated_at: 1 })
        .execute();
      await db.db.updateTable('keys').set({ max_budget: 999 }).where('token', '=', sha(TEAM_KEY)).execute();
      const before = await countAll();
      await admin.query(`UPDATE "LiteLLM_TeamTable" SET max_budget = 25 WHERE team_id = 't1'`);
      const out = await importInto(store);
      expect(out.counts).toMatchObject(EXPECTED_COUNTS);
      expect(await countAll()).toEqual(before);
      const key = await db.db
        .selectFrom('keys')
        .select('max_budget')
        .where('token', '=', sha(TEAM_KEY))
        .executeTakeFirstOrThrow();
      expect(key.max_budget).toBe(10);
      const team = await db.db
        .selectFrom('teams')
        .select('max_budget')
        .where('team_id', '=', 't1')
        .executeTakeFirstOrThrow();
      expect(team.max_budget).toBe(25);
      expect(
        await db.db.selectFrom('users').select('user_id').where('user_id', '=', 'ours-only').executeTakeFirst(),
      ).toBeDefined();
      const rollups = await db.db
        .selectFrom('daily_spend')
        .select('spend')
        .where('entity_type', '=', 'key')
        .where('date', 'in', ['2026-11-01', '2026-11-02'])
        .execute();
      expect(rollups.reduce((s, r) => s + r.spend, 0)).toBeCloseTo(SOURCE_SPEND, 10);
    } finally {
      await admin.query(`UPDATE "LiteLLM_TeamTable" SET max_budget = 20 WHERE team_id = 't1'`);
      await db.close();
    }
  });
});

describe('import-litellm errors', () => {
  it('an unreachable source: exit 1, the URL without its password', async () => {
    const r = await home.run(
      ['proxy', 'import-litellm', '--from', 'postgresql://llm:s3cret@127.0.0.1:1/litellm', '--dry-run'],
      {},
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot reach the LiteLLM database at postgresql://llm:***@127.0.0.1:1/litellm');
    expect(r.stderr).not.toContain('s3cret');
  });

  it('a database that is not LiteLLM’s: names the missing table', async () => {
    const empty = `ll_${randomBytes(6).toString('hex')}`;
    await admin.query(`CREATE SCHEMA ${empty}`);
    try {
      const r = await home.run(
        ['proxy', 'import-litellm', '--from', `${TEST_PG_URL}?schema=${empty}`, '--dry-run'],
        {},
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `is not a LiteLLM database: table "LiteLLM_VerificationToken" is missing from schema ${empty}`,
      );
    } finally {
      await admin.query(`DROP SCHEMA ${empty} CASCADE`);
    }
  });

  it('--database-url is refused as ambiguous; no source is a usage error', async () => {
    const amb = await home.run(['proxy', 'import-litellm', '--database-url', FROM], {});
    expect(amb.code).toBe(2);
    expect(amb.stderr).toContain('give the LiteLLM database as --from');
    const none = await home.run(['proxy', 'import-litellm'], {});
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--from postgresql://');
  });

  it('refuses to import into the LiteLLM database itself (DATABASE_URL still pointing at it)', async () => {
    const r = await home.run(['proxy', 'import-litellm', '--from', FROM], { DATABASE_URL: FROM });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('the destination is the LiteLLM database itself');
    // none of our tables were created next to LiteLLM's
    const t = await admin.query(
      `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'keys'`,
      [schema],
    );
    expect(t.rows[0].n).toBe(0);
  });

  it("refuses Prisma's ?schema= for our store (proxy start would not read it)", async () => {
    const r = await home.run(['proxy', 'import-litellm', '--from', FROM, '--to', `${TEST_PG_URL}?schema=mine`], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("our store's URL cannot use Prisma's ?schema=");
  });

  it('pages through every table without skipping or repeating a row (one row per page)', async () => {
    const source = await openLiteLLMSource(FROM);
    try {
      const { daily_spend, ...counts } = await importLiteLLM(source, undefined, { dryRun: true, pageSize: 1 });
      expect(counts).toEqual(EXPECTED_COUNTS);
      const whole = await importLiteLLM(source, undefined, { dryRun: true });
      expect(daily_spend).toBe(whole.daily_spend);
    } finally {
      await source.close();
    }
  });

  it('text output: one line per table, the source without its password', async () => {
    const file = `${home.home}/text.db`;
    const from = FROM.replace('postgres@', 'postgres:not-needed@');
    const r = await home.run(['proxy', 'import-litellm', '--from', from, '--db-path', file, '--dry-run'], {});
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`dry run: ${from.replace('not-needed', '***')} would import into ${file} (nothing written):`);
    expect(lines).toContain('  keys             5');
    expect(lines).toContain('  team_members     2');
    expect(r.stdout).not.toContain('not-needed');
  });

  it('without --to or --db-path: the store proxy start would use (-c config, else KUBIYA_DB_PATH)', async () => {
    const ours = `${TEST_PG_URL}?options=-c%20search_path%3Dours`;
    const cfg = `${home.home}/litellm.yaml`;
    fs.writeFileSync(cfg, `model_list: []\ngeneral_settings:\n  database_url: ${ours}\n`);
    const byConfig = await home.run(
      ['proxy', 'import-litellm', '--from', FROM, '-c', cfg, '--dry-run', '-o', 'json'],
      {},
    );
    expect(byConfig.code, byConfig.stderr).toBe(0);
    expect(JSON.parse(byConfig.stdout).destination).toBe(ours);
    const file = `${home.home}/env.db`;
    const byEnv = await home.run(['proxy', 'import-litellm', '--from', FROM, '--dry-run', '-o', 'json'], {
      KUBIYA_DB_PATH: file,
    });
    expect(JSON.parse(byEnv.stdout).destination).toBe(file);
  });

  it('--help teaches which flag is which', async () => {
    const r = await home.run(['proxy', 'import-litellm', '--help'], {});
    expect(r.stdout).toContain('--from <url>');
    expect(r.stdout).toContain('--db-path <file>');
    expect(r.stdout).not.toContain('--database-url');
  });
});
