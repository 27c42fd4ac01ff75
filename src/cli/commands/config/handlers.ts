import path from 'node:path';
import { stringify } from 'yaml';
import { UserError } from '../../../errors.js';
import { formatTable, parseOutputMode, printJson, warn, type OutputMode } from '../../output.js';
import { loadKubiyaConfig, type KubiyaContext } from '../../../config/contexts/index.js';
import * as edit from '../../../config/contexts/edit.js';
import { contextJson, maskedDocument } from './present.js';

interface OutputOpts {
  output?: string;
}

function mode(opts: OutputOpts): OutputMode {
  try {
    return parseOutputMode(opts.output);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function proxySummary(c: KubiyaContext): string {
  const p = c.litellmProxy;
  if (!p || p.enabled === undefined) return '-';
  if (!p.enabled) return 'disabled';
  const src = p.configFile ? `file ${p.configFile}` : p.configJson !== undefined ? 'inline json' : 'no config';
  return `enabled (${src}${p.model ? `, model ${p.model}` : ''})`;
}

/** Handlers of `kubiya config ...`, keyed by the name index.ts registers them under. */
export const handlers = {
  getContexts(opts: OutputOpts): void {
    const m = mode(opts);
    const cfg = loadKubiyaConfig();
    const current = cfg.effectiveName().name;
    if (m === 'json') {
      printJson({ currentContext: current ?? null, contexts: cfg.contexts.map((c) => ({ current: c.name === current, ...contextJson(c) })) });
      return;
    }
    if (cfg.contexts.length === 0) {
      say(`No contexts in ${cfg.path}. Create one with: kubiya config set-context NAME --api-url URL --token KEY`);
      return;
    }
    const rows = cfg.contexts.map((c) => [c.name === current ? '*' : '', c.name, c.apiUrl ?? '', c.organization ?? '', c.user ?? '', proxySummary(c)]);
    say(formatTable(['CURRENT', 'NAME', 'API-URL', 'ORGANIZATION', 'USER', 'LOCAL-PROXY'], rows));
  },

  currentContext(opts: OutputOpts): void {
    const m = mode(opts);
    const cfg = loadKubiyaConfig();
    const eff = cfg.effectiveName();
    if (m === 'json') {
      printJson({ currentContext: eff.name ?? null, from: eff.from, file: cfg.path });
      if (!eff.name) process.exitCode = 1; // as in text mode: "none set" is a failure scripts can test
      return;
    }
    if (!eff.name) throw new UserError('current-context is not set', { exitCode: 1, hint: 'Set one with: kubiya config use-context NAME' });
    say(eff.name);
  },

  useContext(name: string): void {
    const cfg = loadKubiyaConfig();
    edit.useContext(cfg, name);
    cfg.save();
    say(`Switched to context "${name}".`);
  },

  setContext(name: string, opts: edit.ContextPatch): void {
    const cfg = loadKubiyaConfig();
    const result = edit.setContext(cfg, name, opts);
    cfg.save();
    say(`Context "${name}" ${result}.`);
  },

  setProxy(opts: { context?: string; enable?: boolean; disable?: boolean; configFile?: string; configJson?: string; model?: string }): void {
    if (opts.enable && opts.disable) throw new UserError('set-proxy: --enable and --disable cannot be used together');
    if (!opts.enable && !opts.disable) throw new UserError('set-proxy: say --enable or --disable');
    if (opts.configFile !== undefined && opts.configJson !== undefined) {
      throw new UserError('set-proxy: give --config-file or --config-json, not both');
    }
    if (opts.configFile !== undefined && opts.configFile.trim() === '') throw new UserError('--config-file must not be empty');
    if (opts.configJson !== undefined) checkJson(opts.configJson);
    const cfg = loadKubiyaConfig();
    const name = opts.context ?? cfg.effectiveName().name;
    if (!name) throw new UserError('set-proxy: no current context; pass --context NAME or run kubiya config use-context NAME');
    // a relative path means "from here" on the command line; in the file it would mean "from ~/.kubiya"
    const configFile = opts.configFile === undefined || opts.configFile.startsWith('~') ? opts.configFile : path.resolve(opts.configFile);
    edit.setProxy(cfg, name, { enabled: !!opts.enable, configFile, configJson: opts.configJson, model: opts.model });
    cfg.save();
    const c = cfg.require(name);
    if (c.litellmProxy?.enabled && !c.litellmProxy.configFile && c.litellmProxy.configJson === undefined) {
      warn(`context "${name}" enables the local proxy without a config; worker start will use the queue's config or fail`);
    }
    say(`Context "${name}": local proxy ${proxySummary(c)}.`);
  },

  deleteContext(name: string): void {
    const cfg = loadKubiyaConfig();
    const wasCurrent = edit.deleteContext(cfg, name);
    cfg.save();
    say(`Deleted context "${name}".`);
    if (wasCurrent) warn(`"${name}" was the current context; none is current now (kubiya config use-context NAME)`);
  },

  renameContext(from: string, to: string): void {
    const cfg = loadKubiyaConfig();
    edit.renameContext(cfg, from, to);
    cfg.save();
    say(`Context "${from}" renamed to "${to}".`);
  },

  view(opts: OutputOpts & { raw?: boolean }): void {
    const m = mode(opts);
    const cfg = loadKubiyaConfig();
    const data = opts.raw ? (cfg.doc.toJS() ?? {}) : maskedDocument(cfg);
    if (m === 'json') printJson(data);
    else if (opts.raw) process.stdout.write(cfg.doc.toString({ lineWidth: 0 }));
    else process.stdout.write(stringify(data, { lineWidth: 0 }));
  },
};

function checkJson(text: string): void {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new UserError(`--config-json: not valid JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new UserError('--config-json: expected a JSON object such as {"model_list": [...]}');
  }
}
