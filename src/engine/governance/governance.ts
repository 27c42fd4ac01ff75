/**
 * The governance runtime of one engine: the store, the settings read from the config, an injectable clock,
 * and change notices (a management call that blocks, deletes or edits something tells this engine's caches
 * at once; other engines see it when their cache entry expires). Built by `startGovernance` when a master
 * key is set; each part (virtual-key auth, admission, the spend writer) is given this object.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { LoadedConfig } from '../../config/litellm/load.js';
import type { PriceMap } from '../cost/prices.js';
import type { EngineLogger } from '../observability/logger.js';
import type { RouteTable } from '../router/table.js';
import { type GovernanceDb, type GovernanceDbOptions, openGovernanceDb } from './db/open.js';
import type { GovernanceAlertHooks } from './types.js';

export interface GovernanceSettings {
  /** sha256 hex of the master key (spend logs name the master key's calls by it) */
  masterKeyHash: string;
  /** how long a key's record is trusted before it is read again (general_settings.user_api_key_cache_ttl, s) */
  authCacheTtlMs: number;
  /** proxy-wide budget (litellm_settings.max_budget, USD) and its window (litellm_settings.budget_duration) */
  proxyMaxBudget?: number;
  proxyBudgetDuration?: string;
  /** IANA zone budget resets align to (litellm_settings.timezone, default UTC) */
  timezone: string;
  /** general_settings.store_prompts_in_spend_logs */
  storePrompts: boolean;
  /** general_settings.disable_spend_logs: no rows (spend is still counted) */
  disableSpendLogs: boolean;
  /** general_settings.maximum_spend_logs_retention_period, in ms; undefined: keep every row */
  spendLogsRetentionMs?: number;
  /** how often queued spend is written (general_settings.proxy_batch_write_at, s; ours defaults to 1 s) */
  batchWriteMs: number;
  /** general_settings.allow_requests_on_db_unavailable */
  allowRequestsOnDbUnavailable: boolean;
}

/** What a management call changed, for the caches that hold it. `id` undefined: every entity of the kind. */
export interface Change {
  kind: 'key' | 'user' | 'team' | 'budget' | 'end_user' | 'org' | 'all';
  id?: string;
}

export interface Governance {
  readonly store: GovernanceDb;
  readonly settings: GovernanceSettings;
  readonly logger: EngineLogger;
  /** the engine's models (names, groups, access groups) and prices; replaced when the model API changes them */
  table: RouteTable;
  readonly prices: PriceMap;
  /** epoch ms; tests replace it to cross a budget window */
  now(): number;
  /** tell this engine's caches that something changed */
  changed(c: Change): void;
  /** listen to changes; returns the unsubscribe */
  onChange(fn: (c: Change) => void): () => void;
  /** run at close, in order added: flush queued writes, stop timers */
  onClose(fn: () => Promise<void> | void): void;
  close(): Promise<void>;
  /** budget and key events for the alerts (general_settings.alerting); unset: no alerts */
  alerts?: GovernanceAlertHooks;
}

export interface StartGovernanceOptions {
  loaded: LoadedConfig;
  env: NodeJS.ProcessEnv;
  masterKeyHash: string;
  logger: EngineLogger;
  table: RouteTable;
  prices: PriceMap;
  /** the store (tests, or a caller that opened it); default: from the config and environment */
  db?: GovernanceDbOptions;
  now?: () => number;
}

/**
 * Where the store lives: DATABASE_URL, else general_settings.database_url (Postgres); else the SQLite file
 * KUBIYA_DB_PATH, else ~/.kubiya/proxy/governance.db. Migrations run unless DISABLE_SCHEMA_UPDATE=true or
 * general_settings.disable_prisma_schema_update (LiteLLM's switches) or KUBIYA_SKIP_MIGRATIONS=1.
 */
export function storeLocation(
  loaded: LoadedConfig,
  env: NodeJS.ProcessEnv,
): { url?: string; path?: string; migrate: boolean } {
  const gs = loaded.config.general_settings as Record<string, unknown>;
  const url = env.DATABASE_URL || (typeof gs.database_url === 'string' ? gs.database_url : undefined) || undefined;
  const off = (v: unknown) => v === true || (typeof v === 'string' && /^(1|true|yes)$/i.test(v));
  const migrate = !(
    off(env.DISABLE_SCHEMA_UPDATE) ||
    off(env.KUBIYA_SKIP_MIGRATIONS) ||
    off(gs.disable_prisma_schema_update)
  );
  if (url) return { url, migrate };
  const home = env.HOME || homedir();
  return { path: env.KUBIYA_DB_PATH || join(home, '.kubiya', 'proxy', 'governance.db'), migrate };
}

const DURATION_S = /^(\d+)(s|m|h|d|w)?$/;

/** `7d`, `24h`, `30m`, `3600` (s) -> ms; undefined when absent or malformed. */
export function durationMs(v: unknown): number | undefined {
  if (typeof v === 'number' && v > 0) return v * 1000;
  if (typeof v !== 'string') return undefined;
  const m = DURATION_S.exec(v.trim());
  if (!m) return undefined;
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] ?? 's'] ?? 1;
  return Number(m[1]) * unit * 1000;
}

/** Read the governance settings from the config (LiteLLM's keys and defaults, ours where noted). */
export function governanceSettings(loaded: LoadedConfig, masterKeyHash: string): GovernanceSettings {
  const gs = loaded.config.general_settings as Record<string, unknown>;
  const ls = loaded.config.litellm_settings as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  return {
    masterKeyHash,
    // LiteLLM's default is 60 s; ours is 5 s so a block or delete reaches every engine within seconds
    authCacheTtlMs: (num(gs.user_api_key_cache_ttl) ?? 5) * 1000,
    proxyMaxBudget: num(ls.max_budget),
    proxyBudgetDuration: typeof ls.budget_duration === 'string' ? ls.budget_duration : undefined,
    timezone: typeof ls.timezone === 'string' && ls.timezone !== '' ? ls.timezone : 'UTC',
    storePrompts: gs.store_prompts_in_spend_logs === true,
    disableSpendLogs: gs.disable_spend_logs === true,
    spendLogsRetentionMs: durationMs(gs.maximum_spend_logs_retention_period),
    batchWriteMs: (num(gs.proxy_batch_write_at) ?? 1) * 1000,
    allowRequestsOnDbUnavailable: gs.allow_requests_on_db_unavailable === true,
  };
}

/** Open the store (migrating it) and build the runtime. Throws naming the database when it cannot. */
export async function startGovernance(opts: StartGovernanceOptions): Promise<Governance> {
  const where = opts.db ?? storeLocation(opts.loaded, opts.env);
  const store = await openGovernanceDb(where);
  const listeners = new Set<(c: Change) => void>();
  const closers: Array<() => Promise<void> | void> = [];
  let closed: Promise<void> | undefined;
  const g: Governance = {
    store,
    settings: governanceSettings(opts.loaded, opts.masterKeyHash),
    logger: opts.logger,
    table: opts.table,
    prices: opts.prices,
    now: opts.now ?? Date.now,
    changed(c) {
      for (const fn of listeners) fn(c);
    },
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    onClose(fn) {
      closers.push(fn);
    },
    close() {
      closed ??= (async () => {
        for (const fn of closers) {
          try {
            await fn();
          } catch (e) {
            opts.logger.warn({ error: (e as Error).message }, 'governance shutdown step failed');
          }
        }
        await store.close();
      })();
      return closed;
    },
  };
  if (store.applied.length > 0) opts.logger.info({ db: store.where, applied: store.applied.join(',') }, 'migrated');
  opts.logger.info(
    { db: store.where, dialect: store.dialect, ...(store.sqliteDriver ? { driver: store.sqliteDriver } : {}) },
    'virtual keys and spend tracking on',
  );
  return g;
}
