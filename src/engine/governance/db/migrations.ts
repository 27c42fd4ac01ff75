/**
 * Versioned migrations, one list for both dialects (Kysely's schema builder writes each dialect's SQL),
 * applied in order under one lock (see migrateToLatest), so several engines starting at once against one
 * store apply each migration exactly once. A migration, once released, never changes: a schema change is
 * a new entry at the end.
 */

import { type CreateTableBuilder, type Kysely, sql } from 'kysely';
import { noWait, whileLocked } from './no-wait.js';
import type { SqliteDatabase as Database } from './sqlite.js';

/** One schema change: `up` runs inside the migration run's lock (and, on Postgres, its transaction). */
export interface Migration {
  up(db: AnyDb): Promise<void>;
}

// biome-ignore lint/suspicious/noExplicitAny: migrations run before (and regardless of) the typed schema
type AnyDb = Kysely<any>;

const money = 'double precision';
const ms = 'bigint';

/** Columns every budget-bearing table has (schema.ts: BudgetColumns and LimitColumns). */
function budgetAndLimits(t: CreateTable): CreateTable {
  return t
    .addColumn('max_budget', money)
    .addColumn('soft_budget', money)
    .addColumn('budget_duration', 'text')
    .addColumn('budget_reset_at', ms)
    .addColumn('tpm_limit', ms)
    .addColumn('rpm_limit', ms)
    .addColumn('max_parallel_requests', 'integer');
}
// biome-ignore lint/suspicious/noExplicitAny: the builder's column-name tracking is of no use here
type CreateTable = CreateTableBuilder<string, any>;

const json = (t: CreateTable, name: string, empty: '[]' | '{}'): CreateTable =>
  t.addColumn(name, 'text', (c) => c.notNull().defaultTo(empty));

const v1: Migration = {
  async up(db: AnyDb) {
    let keys = db.schema
      .createTable('keys')
      .addColumn('token', 'text', (c) => c.primaryKey())
      .addColumn('key_name', 'text', (c) => c.notNull())
      .addColumn('key_alias', 'text')
      .addColumn('user_id', 'text')
      .addColumn('team_id', 'text')
      .addColumn('organization_id', 'text');
    keys = json(json(json(json(keys, 'models', '[]'), 'aliases', '{}'), 'metadata', '{}'), 'tags', '[]');
    keys = budgetAndLimits(keys)
      .addColumn('blocked', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('expires', ms)
      .addColumn('spend', money, (c) => c.notNull().defaultTo(0));
    keys = json(json(json(keys, 'model_max_budget', '{}'), 'model_rpm_limit', '{}'), 'model_tpm_limit', '{}');
    await keys
      .addColumn('budget_id', 'text')
      .addColumn('key_type', 'text', (c) => c.notNull().defaultTo('default'))
      .addColumn('created_at', ms, (c) => c.notNull())
      .addColumn('created_by', 'text')
      .addColumn('updated_at', ms, (c) => c.notNull())
      .addColumn('updated_by', 'text')
      .addColumn('last_active', ms)
      .execute();
    await db.schema.createIndex('keys_user_team').on('keys').columns(['user_id', 'team_id']).execute();
    await db.schema.createIndex('keys_team').on('keys').column('team_id').execute();
    await db.schema.createIndex('keys_alias').on('keys').column('key_alias').execute();
    await db.schema.createIndex('keys_reset').on('keys').columns(['budget_reset_at', 'expires']).execute();

    await db.schema
      .createTable('deprecated_keys')
      .addColumn('token', 'text', (c) => c.primaryKey())
      .addColumn('active_token', 'text', (c) => c.notNull())
      .addColumn('revoke_at', ms, (c) => c.notNull())
      .addColumn('created_at', ms, (c) => c.notNull())
      .execute();

    let users = db.schema
      .createTable('users')
      .addColumn('user_id', 'text', (c) => c.primaryKey())
      .addColumn('user_alias', 'text')
      .addColumn('user_email', 'text')
      .addColumn('user_role', 'text', (c) => c.notNull().defaultTo('internal_user'))
      .addColumn('organization_id', 'text');
    users = budgetAndLimits(json(json(users, 'models', '[]'), 'metadata', '{}'));
    users = json(
      users.addColumn('spend', money, (c) => c.notNull().defaultTo(0)),
      'model_max_budget',
      '{}',
    );
    await users
      .addColumn('created_at', ms, (c) => c.notNull())
      .addColumn('updated_at', ms, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('users_email').on('users').column('user_email').execute();

    let teams = db.schema
      .createTable('teams')
      .addColumn('team_id', 'text', (c) => c.primaryKey())
      .addColumn('team_alias', 'text')
      .addColumn('organization_id', 'text');
    teams = budgetAndLimits(json(json(json(teams, 'models', '[]'), 'metadata', '{}'), 'tags', '[]'));
    teams = teams
      .addColumn('blocked', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('spend', money, (c) => c.notNull().defaultTo(0));
    teams = json(json(json(teams, 'model_max_budget', '{}'), 'model_rpm_limit', '{}'), 'model_tpm_limit', '{}');
    await json(teams, 'member_defaults', '{}')
      .addColumn('created_at', ms, (c) => c.notNull())
      .addColumn('updated_at', ms, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('team_members')
      .addColumn('team_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull().defaultTo('user'))
      .addColumn('spend', money, (c) => c.notNull().defaultTo(0))
      .addColumn('budget_id', 'text')
      .addColumn('created_at', ms, (c) => c.notNull())
      .addPrimaryKeyConstraint('team_members_pk', ['team_id', 'user_id'])
      .execute();
    await db.schema.createIndex('team_members_user').on('team_members').column('user_id').execute();

    const budgets = budgetAndLimits(
      db.schema.createTable('budgets').addColumn('budget_id', 'text', (c) => c.primaryKey()),
    );
    await json(budgets, 'model_max_budget', '{}')
      .addColumn('created_at', ms, (c) => c.notNull())
      .addColumn('created_by', 'text')
      .addColumn('updated_at', ms, (c) => c.notNull())
      .addColumn('updated_by', 'text')
      .execute();

    const endUsers = db.schema
      .createTable('end_users')
      .addColumn('user_id', 'text', (c) => c.primaryKey())
      .addColumn('alias', 'text')
      .addColumn('spend', money, (c) => c.notNull().defaultTo(0))
      .addColumn('budget_id', 'text')
      .addColumn('blocked', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('allowed_model_region', 'text')
      .addColumn('default_model', 'text');
    await json(endUsers, 'metadata', '{}')
      .addColumn('budget_reset_at', ms)
      .addColumn('created_at', ms, (c) => c.notNull())
      .addColumn('updated_at', ms, (c) => c.notNull())
      .execute();

    const orgs = db.schema
      .createTable('organizations')
      .addColumn('organization_id', 'text', (c) => c.primaryKey())
      .addColumn('organization_alias', 'text')
      .addColumn('budget_id', 'text');
    await json(json(orgs, 'models', '[]'), 'metadata', '{}')
      .addColumn('spend', money, (c) => c.notNull().defaultTo(0))
      .addColumn('budget_reset_at', ms)
      .addColumn('created_at', ms, (c) => c.notNull())
      .addColumn('updated_at', ms, (c) => c.notNull())
      .execute();

    const logs = db.schema
      .createTable('spend_logs')
      .addColumn('request_id', 'text', (c) => c.primaryKey())
      .addColumn('call_type', 'text', (c) => c.notNull())
      .addColumn('api_key', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('principal', 'text', (c) => c.notNull())
      .addColumn('spend', money, (c) => c.notNull().defaultTo(0))
      .addColumn('total_tokens', ms, (c) => c.notNull().defaultTo(0))
      .addColumn('prompt_tokens', ms, (c) => c.notNull().defaultTo(0))
      .addColumn('completion_tokens', ms, (c) => c.notNull().defaultTo(0))
      .addColumn('cache_read_input_tokens', ms, (c) => c.notNull().defaultTo(0))
      .addColumn('cache_creation_input_tokens', ms, (c) => c.notNull().defaultTo(0))
      .addColumn('start_time', ms, (c) => c.notNull())
      .addColumn('end_time', ms, (c) => c.notNull())
      .addColumn('request_duration_ms', money, (c) => c.notNull())
      .addColumn('completion_start_time', ms)
      .addColumn('model', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('model_id', 'text')
      .addColumn('model_group', 'text')
      .addColumn('custom_llm_provider', 'text')
      .addColumn('api_base', 'text')
      .addColumn('user_id', 'text')
      .addColumn('team_id', 'text')
      .addColumn('organization_id', 'text')
      .addColumn('end_user', 'text')
      .addColumn('key_alias', 'text');
    await json(json(logs, 'metadata', '{}'), 'request_tags', '[]')
      .addColumn('cache_hit', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('http_status', 'integer', (c) => c.notNull())
      .addColumn('messages', 'text')
      .addColumn('response', 'text')
      .addColumn('session_id', 'text')
      .execute();
    // the report queries' access paths: by time, and by key/user/team/end user within a time range
    await db.schema.createIndex('spend_logs_time').on('spend_logs').column('start_time').execute();
    for (const col of ['api_key', 'user_id', 'team_id', 'end_user']) {
      await db.schema.createIndex(`spend_logs_${col}_time`).on('spend_logs').columns([col, 'start_time']).execute();
    }

    await db.schema
      .createTable('daily_spend')
      .addColumn('entity_type', 'text', (c) => c.notNull())
      .addColumn('entity_id', 'text', (c) => c.notNull())
      .addColumn('date', 'text', (c) => c.notNull())
      .addColumn('api_key', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('model', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('model_group', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('custom_llm_provider', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('endpoint', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('prompt_tokens', ms, (c) => c.notNull().defaultTo(0))
      .addColumn('completion_tokens', ms, (c) => c.notNull().defaultTo(0))
      .addColumn('cache_read_input_tokens', ms, (c) => c.notNull().defaultTo(0))
      .addColumn('cache_creation_input_tokens', ms, (c) => c.notNull().defaultTo(0))
      .addColumn('spend', money, (c) => c.notNull().defaultTo(0))
      .addColumn('api_requests', ms, (c) => c.notNull().defaultTo(0))
      .addColumn('successful_requests', ms, (c) => c.notNull().defaultTo(0))
      .addColumn('failed_requests', ms, (c) => c.notNull().defaultTo(0))
      .addUniqueConstraint('daily_spend_unique', [
        'entity_type',
        'entity_id',
        'date',
        'api_key',
        'model',
        'custom_llm_provider',
        'endpoint',
      ])
      .execute();
    await db.schema.createIndex('daily_spend_date').on('daily_spend').columns(['date', 'entity_type']).execute();

    await db.schema
      .createTable('model_spend')
      .addColumn('entity_type', 'text', (c) => c.notNull())
      .addColumn('entity_id', 'text', (c) => c.notNull())
      .addColumn('model', 'text', (c) => c.notNull())
      .addColumn('spend', money, (c) => c.notNull().defaultTo(0))
      .addColumn('budget_reset_at', ms)
      .addPrimaryKeyConstraint('model_spend_pk', ['entity_type', 'entity_id', 'model'])
      .execute();
  },
};

/**
 * Spend reports: a covering index for a month of rollups by entity (`/spend/logs?summarize`,
 * `/global/spend/report`), so they read the index alone.
 */
const spend: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createIndex('daily_spend_report')
      .on('daily_spend')
      .columns(['entity_type', 'date', 'entity_id', 'api_key', 'model', 'spend', 'prompt_tokens', 'completion_tokens'])
      .execute();
  },
};

/**
 * Models added through the model API (`/model/new` with `general_settings.store_model_in_db`), LiteLLM's
 * LiteLLM_ProxyModelTable, and the one-row version every change bumps (engines poll it to apply changes).
 */
const proxyModels: Migration = {
  async up(db: AnyDb) {
    await json(
      json(
        db.schema
          .createTable('proxy_models')
          .addColumn('model_id', 'text', (c) => c.primaryKey())
          .addColumn('model_name', 'text', (c) => c.notNull()),
        'litellm_params',
        '{}',
      ),
      'model_info',
      '{}',
    )
      .addColumn('created_at', ms, (c) => c.notNull())
      .addColumn('created_by', 'text')
      .addColumn('updated_at', ms, (c) => c.notNull())
      .addColumn('updated_by', 'text')
      .execute();
    await db.schema
      .createTable('proxy_model_version')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('version', ms, (c) => c.notNull())
      .execute();
    await db.insertInto('proxy_model_version').values({ id: 1, version: 0 }).execute();
  },
};

/**
 * A key's `allowed_cache_controls` (LiteLLM's column of the same name): the `cache` controls its requests may
 * send; `[]` allows all.
 */
const cacheControls: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .alterTable('keys')
      .addColumn('allowed_cache_controls', 'text', (c) => c.notNull().defaultTo('[]'))
      .execute();
  },
};

/**
 * The Responses API's stored responses (`/v1/responses` with `store` on): one row per response, its turn's
 * input items and the response it continued, for `GET /v1/responses/{id}` and `previous_response_id`.
 */
const responses: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('responses')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('owner', 'text')
      .addColumn('previous_id', 'text')
      .addColumn('response', 'text', (c) => c.notNull())
      .addColumn('input', 'text', (c) => c.notNull())
      .addColumn('created_at', ms, (c) => c.notNull())
      .execute();
  },
};

/** Every migration, in order; the name is what the migration table records (never rename one). */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_init': v1,
  '0002_spend': spend,
  '0003_proxy_models': proxyModels,
  '0004_cache_controls': cacheControls,
  '0005_responses': responses,
};

/**
 * Apply every pending migration; throws naming the one that failed. Returns the names applied now.
 * Our own runner rather than Kysely's Migrator: that one looks for its tables by listing every table of
 * every Postgres schema, which fails when another schema is dropped meanwhile and can find another
 * schema's tables. Here the record table is created if missing in the current schema, and one lock is held
 * for the whole run: Postgres, a transaction-scoped advisory lock; SQLite (`sqlite`: the file's handle),
 * `BEGIN IMMEDIATE`, the file's write lock. Each migration and its record commit together.
 */
export async function migrateToLatest(db: AnyDb, sqlite?: Database): Promise<string[]> {
  if (sqlite) {
    await beginImmediate(sqlite);
    try {
      const applied = await applyPending(db);
      sqlite.exec('COMMIT');
      return applied;
    } catch (e) {
      sqlite.exec('ROLLBACK');
      throw e;
    }
  }
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`.execute(trx);
    return applyPending(trx);
  });
}

// the advisory lock's key (any constant; "kubiya" in ASCII)
const MIGRATION_LOCK = 0x6b7562697961;

async function applyPending(db: AnyDb): Promise<string[]> {
  await db.schema
    .createTable(RECORD)
    .ifNotExists()
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('applied_at', ms, (c) => c.notNull())
    .execute();
  const done = new Set((await db.selectFrom(RECORD).select('name').execute()).map((r) => r.name as string));
  const applied: string[] = [];
  for (const [name, m] of Object.entries(MIGRATIONS)) {
    if (done.has(name)) continue;
    try {
      await m.up(db);
    } catch (e) {
      throw new Error(`database migration ${name} failed: ${(e as Error).message}`);
    }
    await db.insertInto(RECORD).values({ name, applied_at: Date.now() }).execute();
    applied.push(name);
  }
  return applied;
}

const RECORD = 'kubiya_migration';

/**
 * BEGIN IMMEDIATE without blocking the event loop (db/no-wait.ts): when another process holds the lock, poll,
 * up to 30 s.
 */
async function beginImmediate(sqlite: Database): Promise<void> {
  await whileLocked(() => noWait(sqlite, () => sqlite.exec('BEGIN IMMEDIATE')), 30_000);
}

/** Names of migrations not yet applied (for `--skip-migrations` start-up checks). */
export async function pendingMigrations(db: AnyDb): Promise<string[]> {
  let done: Set<string>;
  try {
    done = new Set((await db.selectFrom(RECORD).select('name').execute()).map((r) => r.name as string));
  } catch {
    done = new Set(); // no record table: nothing applied yet
  }
  return Object.keys(MIGRATIONS).filter((n) => !done.has(n));
}
