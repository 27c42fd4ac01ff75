import { loadLiteLLMConfig } from '../../../config/litellm/load.js';
import { inspectConfig } from '../../../engine/index.js';
import { formatTable, parseOutputMode, printJson } from '../../output.js';
import { configPath } from './config-path.js';

/** `kubiya proxy validate`: load the config as `proxy start` would, list the models and warnings. */
export async function proxyValidate(file: string | undefined, opts: { config?: string; output?: string }): Promise<void> {
  const mode = parseOutputMode(opts.output);
  const loaded = loadLiteLLMConfig({ kind: 'file', path: configPath(file ?? opts.config) });
  const seen = await inspectConfig(loaded, process.env);
  const { warnings } = seen;
  const models = seen.deployments.map((d) => ({
    model_name: d.modelName,
    model: d.model,
    provider: d.mock ? 'mock_response' : d.provider ?? '',
    api_base: d.mock ? '' : d.apiBase ?? '',
    model_id: d.id,
  }));
  const aliases = seen.aliases.map((a) => ({ alias: a.alias, model_name: a.target, hidden: a.hidden }));
  const ok = models.length > 0;
  if (mode === 'json') {
    printJson({ source: loaded.source, ok, models, aliases, warnings });
  } else {
    process.stdout.write(`${loaded.source}: ${models.length} deployment${models.length === 1 ? '' : 's'} in ${new Set(models.map((m) => m.model_name)).size} model group(s)\n\n`);
    if (models.length) process.stdout.write(`${formatTable(['MODEL NAME', 'MODEL', 'PROVIDER', 'API BASE'], models.map((m) => [m.model_name, m.model, m.provider, m.api_base]))}\n`);
    for (const a of aliases) process.stdout.write(`alias ${a.alias} -> ${a.model_name}${a.hidden ? ' (hidden)' : ''}\n`);
    if (warnings.length) {
      process.stdout.write(`\n${warnings.length} warning${warnings.length === 1 ? '' : 's'}:\n`);
      for (const w of warnings) process.stdout.write(`  ${w.path}: ${w.message}\n`);
    }
    if (!ok) process.stderr.write('error: no model in this config can be served\n');
  }
  if (!ok) process.exitCode = 1;
}
