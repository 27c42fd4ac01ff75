/**
 * What a loaded config can serve, as the engine itself would build it: the CLI's view of the route
 * table (`proxy validate`, `worker start` dry run and real start) without starting a server.
 */
import type { ConfigWarning, LoadedConfig } from '../config/litellm/load.js';
import { resolveModel } from './router/resolve.js';
import { buildRouteTable } from './router/table.js';

/** One servable `model_list` entry. */
export interface InspectedDeployment {
  /** the group name clients ask for */
  modelName: string;
  /** litellm_params.model as written */
  model: string;
  /** the provider id; undefined for a mock deployment whose provider is not served */
  provider?: string;
  /** true when the entry answers with litellm_params.mock_response (no upstream call) */
  mock: boolean;
  apiBase?: string;
  /** model_info.id or the stable hash the engine reports as `x-litellm-model-id` */
  id: string;
  /** key path, e.g. `model_list[2]` */
  path: string;
}

/** A `model_list` entry the engine would not serve, with the warnings that say why. */
export interface UnservedEntry {
  path: string;
  modelName?: string;
  reasons: ConfigWarning[];
}

/** The result of inspectConfig(). */
export interface ConfigInspection {
  /** the config's label: its file path, `--proxy-config-json`, `queue settings`, ... */
  source: string;
  deployments: InspectedDeployment[];
  /** distinct model names the engine serves, in config order */
  servedModels: string[];
  aliases: { alias: string; target: string; hidden: boolean }[];
  unserved: UnservedEntry[];
  /** every warning, the loader's and the route table's, each once, with its key path */
  warnings: ConfigWarning[];
  /** the route table's warnings the loader did not already give (provider, credentials, api_base) */
  routeWarnings: ConfigWarning[];
  /** the model group a request for `name` goes to (exact name, alias, wildcard), as the engine routes it */
  routeOf(name: string): string | undefined;
}

const key = (w: ConfigWarning) => `${w.path}: ${w.message}`;

/**
 * Build the engine's route table for `loaded` (provider adapters, credentials from `env`, api_base)
 * and report what it serves, what it does not and why. Never starts a server or calls upstream.
 */
export async function inspectConfig(
  loaded: LoadedConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ConfigInspection> {
  const table = await buildRouteTable(loaded, env);
  const seen = new Set(loaded.warnings.map(key));
  const routeWarnings = table.warnings.filter((w) => !seen.has(key(w)) && seen.add(key(w)));
  const warnings = [...loaded.warnings, ...routeWarnings];
  const deployments = table.deployments.map((d) => ({
    modelName: d.modelName,
    model: d.litellmModel,
    provider: d.provider,
    mock: d.mockResponse !== undefined,
    apiBase: d.apiBase,
    id: d.id,
    path: d.at,
  }));
  const aliases = [...table.aliases].map(([alias, a]) => ({ alias, target: a.target, hidden: a.hidden }));
  return {
    source: loaded.source,
    deployments,
    servedModels: [...new Set(deployments.map((d) => d.modelName))],
    aliases,
    unserved: unservedEntries(loaded, new Set(deployments.map((d) => d.path)), warnings),
    warnings,
    routeWarnings,
    routeOf: (name) => resolveModel(table, name)?.group.name,
  };
}

/** The entries of the config as written that no deployment came from, with the warnings under their path. */
function unservedEntries(loaded: LoadedConfig, served: Set<string>, warnings: ConfigWarning[]): UnservedEntry[] {
  const list = Array.isArray(loaded.raw.model_list) ? (loaded.raw.model_list as unknown[]) : [];
  const out: UnservedEntry[] = [];
  list.forEach((entry, i) => {
    const at = `model_list[${i}]`;
    if (served.has(at)) return;
    const name = (entry as { model_name?: unknown } | null)?.model_name;
    const reasons = warnings.filter((w) => w.path === at || w.path.startsWith(`${at}.`));
    out.push({ path: at, modelName: typeof name === 'string' ? name : undefined, reasons });
  });
  return out;
}
