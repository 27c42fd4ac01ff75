/**
 * A config reload in a running engine (`POST /kubiya/reload`, SIGHUP on `proxy start`): the config file is read
 * again and its models and router settings are served from the next request on, on the same port, with the same
 * keys accepted. What is built once at start (authentication and the master key, governance, callbacks, the
 * cache, client limits) is not rebuilt: a change there is reported as needing a restart. A config that cannot be
 * loaded, or that would serve no model, is refused and the old one stays in force.
 */
import type { LoadedConfig } from '../config/litellm/load.js';
import type { EngineContext } from './context.js';
import type { ModelRegistry } from './models/registry.js';

/** What a reload did. */
export interface ReloadReport {
  /** the model groups served now */
  models: string[];
  /** sections that changed but only take effect when the engine starts again */
  restart_needed: string[];
  /** the new config's warnings (key paths), as the log has them */
  warnings: string[];
}

/** Sections read once at start: a change is reported, not applied. */
const START_ONLY = ['general_settings', 'litellm_settings'] as const;

export class ConfigReloader {
  constructor(
    private readonly ctx: EngineContext,
    private readonly models: ModelRegistry,
    private loaded: LoadedConfig,
    /** reads the config again (the file `proxy start` was given) */
    private readonly load: () => LoadedConfig,
  ) {}

  /** Load the config again and serve it; rejects with the reason (the old config stays in force). */
  async reload(): Promise<ReloadReport> {
    const next = this.load();
    const table = await this.models.reloadConfig(next, (t) => {
      if (t.deployments.length > 0 || this.ctx.table.deployments.length === 0) return;
      const w = t.warnings[0];
      throw new Error(`the new config serves no model${w ? ` (${w.path}: ${w.message})` : ''}`);
    });
    // the new config's secrets are masked from now on (a new array: maskers are cached per array)
    const known = new Set(this.ctx.secretValues);
    const fresh = next.secretValues.filter((s) => !known.has(s));
    if (fresh.length > 0) this.ctx.secretValues = [...this.ctx.secretValues, ...fresh];
    const before = this.loaded.raw;
    const restart = START_ONLY.filter((k) => JSON.stringify(before[k] ?? {}) !== JSON.stringify(next.raw[k] ?? {}));
    this.loaded = next;
    const warnings = [...next.warnings, ...table.warnings].map((w) => `${w.path}: ${w.message}`);
    const models = [...table.groups.keys(), ...table.wildcards.map((w) => w.group.name)];
    this.ctx.logger.info(
      { models: models.join(','), restart_needed: restart.join(',') || undefined },
      'config reloaded: serving its models from the next request on',
    );
    for (const w of warnings) this.ctx.logger.warn({}, w);
    return { models, restart_needed: restart, warnings };
  }
}
