/**
 * `kubiya proxy import-litellm --from postgresql://...`: copy a LiteLLM proxy's database (keys as their
 * hashes, users, teams, members, budgets, end users, organisations, spend) into the store `proxy start`
 * uses, so every key that worked against LiteLLM works against our engine.
 *
 * The source is `--from`, never `--database-url`: on `proxy start` and `proxy migrate` that flag names OUR
 * store, and LiteLLM's own DATABASE_URL is likely set in the shell of someone moving off it. So
 * `--database-url` is refused here with a message saying which flag means what, and a destination that is
 * the LiteLLM database itself is refused too.
 */
import { UserError } from '../../../errors.js';
import { defineCommand, type Handler } from '../../command.js';

export interface ImportLiteLLMOptions {
  from?: string;
  to?: string;
  dbPath?: string;
  config?: string;
  dryRun?: boolean;
  /** refused: see the module comment */
  databaseUrl?: string;
}

export const proxyImportLiteLLM: Handler<ImportLiteLLMOptions> = async (ctx, opts) => {
  if (opts.databaseUrl !== undefined)
    throw new UserError(
      '--database-url is ambiguous for import-litellm (on proxy start it names our store): ' +
        'give the LiteLLM database as --from postgresql://... ' +
        'and our store as --to postgresql://... or --db-path <file>',
    );
  if (!opts.from)
    throw new UserError('import-litellm needs the LiteLLM database: --from postgresql://user:pass@host:5432/litellm');
  // the engine's modules load only when the command runs (help stays fast)
  const [{ openGovernanceDb, publicDbUrl, StoreError }, { storeLocation }, { openLiteLLMSource }, { importLiteLLM }] =
    await Promise.all([
      import('../../../engine/governance/db/open.js'),
      import('../../../engine/governance/governance.js'),
      import('../../../engine/governance/import/source.js'),
      import('../../../engine/governance/import/run.js'),
    ]);
  const fail = (e: unknown): never => {
    if (e instanceof StoreError) throw new UserError(e.message, { exitCode: 1 });
    throw e;
  };

  let where: { url?: string; path?: string };
  if (opts.to) where = { url: opts.to };
  else if (opts.dbPath) where = { path: opts.dbPath };
  else {
    const [{ loadLiteLLMConfig }, { configSource }, { EMPTY }] = await Promise.all([
      import('../../../config/litellm/load.js'),
      import('./config-path.js'),
      import('./migrate.js'),
    ]);
    const file = opts.config ?? ctx.env.CONFIG_FILE_PATH;
    const loaded = file ? loadLiteLLMConfig(configSource(file, ctx), { env: ctx.env }) : EMPTY;
    const at = storeLocation(loaded, ctx.env);
    where = at.url ? { url: at.url } : { path: at.path };
  }
  if (where.url && sameDatabase(where.url, opts.from))
    throw new UserError(
      `the destination is the LiteLLM database itself (${publicDbUrl(where.url)}; $DATABASE_URL still LiteLLM's?): ` +
        'name our store with --to postgresql://... (another database) or --db-path <file>',
    );
  // our store (proxy start) does not read Prisma's ?schema=: an import there would land where no engine looks
  if (where.url && /[?&]schema=/.test(where.url))
    throw new UserError(
      `our store's URL cannot use Prisma's ?schema= (proxy start would not see it): ` +
        'use ?options=-c%20search_path%3D<schema>, or give the schema its own database',
    );
  const destination = where.url ? publicDbUrl(where.url) : where.path!;

  const source = await openLiteLLMSource(opts.from).catch(fail);
  let counts: Awaited<ReturnType<typeof importLiteLLM>>;
  try {
    if (opts.dryRun) counts = await importLiteLLM(source, undefined, { dryRun: true }).catch(fail);
    else {
      const dest = await openGovernanceDb({ ...where, migrate: true }).catch(fail);
      try {
        counts = await importLiteLLM(source, dest).catch(fail);
      } finally {
        await dest.close();
      }
    }
  } finally {
    await source.close();
  }
  if (ctx.output === 'json') {
    ctx.out.json({ source: source.where, destination, dryRun: opts.dryRun === true, counts });
    return 0;
  }
  ctx.out.line(
    opts.dryRun
      ? `dry run: ${source.where} would import into ${destination} (nothing written):`
      : `imported ${source.where} into ${destination}:`,
  );
  const width = Math.max(...Object.keys(counts).map((k) => k.length));
  for (const [k, n] of Object.entries(counts)) ctx.out.line(`  ${k.padEnd(width)}  ${n}`);
  return 0;
};

/** Whether two Postgres URLs name the same database and schema (host, port, database, schema). */
export function sameDatabase(a: string, b: string): boolean {
  const id = (url: string) => {
    try {
      const u = new URL(url);
      const opt = /search_path\s*=\s*"?([^"\s,]+)/.exec(u.searchParams.get('options') ?? '')?.[1];
      const schema = u.searchParams.get('schema') ?? opt ?? 'public';
      const host = (u.hostname || 'localhost').replace(/^127\.0\.0\.1$|^\[::1\]$/, 'localhost').toLowerCase();
      return [host, u.port || '5432', decodeURIComponent(u.pathname.slice(1)), schema].join('\n');
    } catch {
      return url;
    }
  };
  return id(a) === id(b);
}

export const proxyImportLiteLLMCommand = defineCommand<ImportLiteLLMOptions>({
  name: 'import-litellm',
  description:
    "Copy a LiteLLM proxy's database (virtual keys, users, teams, budgets, end users, orgs, spend) into the " +
    'store proxy start uses, so its keys keep working',
  options: [
    {
      flags: '--from <url>',
      description:
        "the LiteLLM database to read (postgresql://...; LiteLLM's DATABASE_URL, ?schema= honoured); never written to",
    },
    {
      flags: '--to <url>',
      description: 'our store when it is Postgres (default: $DATABASE_URL, general_settings.database_url)',
    },
    {
      flags: '--db-path <file>',
      description:
        'our store when it is a SQLite file (default when no Postgres is named: $KUBIYA_DB_PATH or ' +
        '~/.kubiya/proxy/governance.db); wins over $DATABASE_URL',
    },
    { flags: '-c, --config <file>', description: 'LiteLLM config whose general_settings.database_url is our store' },
    { flags: '--dry-run', description: 'read and count what would be imported; write nothing' },
    { flags: '--database-url <url>', hidden: true },
  ],
  output: 'text or json',
  notes:
    'Keys carry over as LiteLLM stores them (the sha256 of the key), so clients keep their sk-... keys. ' +
    "Re-running is safe: rows are upserted by id, LiteLLM's values win for the rows it has, rows only in our " +
    "store stay, nothing is duplicated. Import before moving traffic: a re-import resets spend to LiteLLM's.",
  examples: [
    'kubiya proxy import-litellm --from postgresql://llm:pass@db:5432/litellm --dry-run',
    'kubiya proxy import-litellm --from "$LITELLM_DATABASE_URL" --db-path ~/.kubiya/proxy/governance.db',
    'kubiya proxy import-litellm --from postgresql://llm@old-db/litellm --to postgresql://llm@new-db/kubiya',
  ],
  handler: async () => proxyImportLiteLLM,
});
