/** The flags that name the governance store (virtual keys, budgets, spend), shared by `proxy start` and `migrate`. */
export interface StoreFlags {
  databaseUrl?: string;
  dbPath?: string;
  skipMigrations?: boolean;
}

export const STORE_OPTIONS = [
  {
    flags: '--database-url <url>',
    description:
      'Postgres for virtual keys, budgets and spend, shared by every engine (default: $DATABASE_URL, ' +
      'general_settings.database_url, else a local SQLite file)',
  },
  {
    flags: '--db-path <file>',
    description:
      'the local SQLite file when no Postgres is named (default: $KUBIYA_DB_PATH or ~/.kubiya/proxy/governance.db)',
  },
  {
    flags: '--skip-migrations',
    description: 'do not migrate the store at start (a separate `kubiya proxy migrate` job does); refuse if behind',
  },
];

/** The environment the engine reads its store from, with the flags applied (flags win). */
export function storeEnv(env: NodeJS.ProcessEnv, f: StoreFlags): NodeJS.ProcessEnv {
  const out = { ...env };
  if (f.databaseUrl) out.DATABASE_URL = f.databaseUrl;
  if (f.dbPath) out.KUBIYA_DB_PATH = f.dbPath;
  if (f.skipMigrations) out.KUBIYA_SKIP_MIGRATIONS = '1';
  return out;
}
