import { loadLiteLLMConfig } from '../../../config/litellm/load.js';
import { inspectConfig } from '../../../engine/index.js';
import type { Handler } from '../../command.js';
import { formatTable } from '../../output.js';
import { configSource } from './config-path.js';

/** `kubiya proxy validate`: load the config as `proxy start` would, list the models and warnings. */
export const proxyValidate: Handler<{ config?: string }, [string | undefined]> = async (ctx, opts, file) => {
  const loaded = loadLiteLLMConfig(configSource(file ?? opts.config, ctx), { env: ctx.env });
  const seen = await inspectConfig(loaded, ctx.env);
  const { warnings } = seen;
  const models = seen.deployments.map((d) => ({
    model_name: d.modelName,
    model: d.model,
    provider: d.mock ? 'mock_response' : (d.provider ?? ''),
    api_base: d.mock ? '' : (d.apiBase ?? ''),
    model_id: d.id,
  }));
  const aliases = seen.aliases.map((a) => ({ alias: a.alias, model_name: a.target, hidden: a.hidden }));
  const ok = models.length > 0;
  if (ctx.output === 'json') {
    ctx.out.json({ source: loaded.source, ok, models, aliases, warnings });
    return ok ? 0 : 1;
  }
  const groups = new Set(models.map((m) => m.model_name)).size;
  ctx.out.line(
    `${loaded.source}: ${models.length} deployment${models.length === 1 ? '' : 's'} in ${groups} model group(s)\n`,
  );
  if (models.length)
    ctx.out.line(
      formatTable(
        ['MODEL NAME', 'MODEL', 'PROVIDER', 'API BASE'],
        models.map((m) => [m.model_name, m.model, m.provider, m.api_base]),
      ),
    );
  for (const a of aliases) ctx.out.line(`alias ${a.alias} -> ${a.model_name}${a.hidden ? ' (hidden)' : ''}`);
  if (warnings.length) {
    ctx.out.line(`\n${warnings.length} warning${warnings.length === 1 ? '' : 's'}:`);
    for (const w of warnings) ctx.out.line(`  ${w.path}: ${w.message}`);
  }
  if (ok) return 0;
  ctx.stderr.write('error: no model in this config can be served\n');
  return 1;
};
