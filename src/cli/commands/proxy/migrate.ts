import { loadLiteLLMConfig } from '../../../config/litellm/load.js';
import { openGovernanceDb, StoreError } from '../../../engine/governance/db/open.js';
import { storeLocation } from '../../../engine/governance/governance.js';
import { UserError } from '../../../errors.js';
import type { Handler } from '../../command.js';
import { configSource } from './config-path.js';
import { type StoreFlags, storeEnv } from './store-flags.js';

/**
 * `kubiya proxy migrate`: apply the governance store's pending migrations and exit (for deployments whose
 * engines start with --skip-migrations while a separate job migrates, as LiteLLM's Helm PreSync job does).
 */
export const proxyMigrate: Handler<StoreFlags & { config?: string }> = async (ctx, opts) => {
  const env = storeEnv(ctx.env, opts);
  // the config is optional here: it may name general_settings.database_url
  const file = opts.config ?? env.CONFIG_FILE_PATH;
  const loaded = file ? loadLiteLLMConfig(configSource(file, ctx), { env }) : undefined;
  const where = loaded ? storeLocation(loaded, env) : storeLocation(EMPTY, env);
  let db: Awaited<ReturnType<typeof openGovernanceDb>>;
  try {
    db = await openGovernanceDb({ ...where, migrate: true });
  } catch (e) {
    if (e instanceof StoreError) throw new UserError(e.message, { exitCode: 1 });
    throw e;
  }
  await db.close();
  if (ctx.output === 'json') ctx.out.json({ database: db.where, dialect: db.dialect, applied: db.applied });
  else
    ctx.out.line(
      db.applied.length > 0
        ? `${db.where}: applied ${db.applied.join(', ')}`
        : `${db.where}: up to date (nothing to apply)`,
    );
  return 0;
};

/** A config with nothing in it: the store then comes from the environment alone. */
export const EMPTY = {
  config: {
    model_list: [],
    litellm_settings: {},
    router_settings: {},
    general_settings: {},
    environment_variables: {},
  },
} as unknown as Parameters<typeof storeLocation>[0];
