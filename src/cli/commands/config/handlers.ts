import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import * as edit from '../../../config/contexts/edit.js';
import type { KubiyaContext } from '../../../config/contexts/index.js';
import { currentContext as currentStoreContext } from '../../../config/contexts/store.js';
import { UserError } from '../../../errors.js';
import { expandHome } from '../../../util/paths.js';
import type { Handler } from '../../command.js';
import { formatTable } from '../../output.js';
import { contextJson, maskedDocument } from './present.js';

/** The options of `config set-proxy`. */
export interface SetProxyOpts {
  context?: string;
  enable?: boolean;
  disable?: boolean;
  configFile?: string;
  configJson?: string;
  model?: string;
}

function proxySummary(c: KubiyaContext): string {
  const p = c.litellmProxy;
  if (!p || p.enabled === undefined) return '-';
  if (!p.enabled) return 'disabled';
  const src = p.configFile ? `file ${p.configFile}` : p.configJson !== undefined ? 'inline json' : 'no config';
  return `enabled (${src}${p.model ? `, model ${p.model}` : ''})`;
}

/** `config get-contexts`: a table (or JSON) of the contexts, `*` on the current one. */
export const getContexts: Handler<object> = async (ctx) => {
  const cfg = await ctx.configStore();
  const current = cfg.effectiveName(ctx.env).name;
  if (ctx.output === 'json') {
    ctx.out.json({
      currentContext: current ?? null,
      contexts: cfg.contexts.map((c) => ({ current: c.name === current, ...contextJson(c) })),
    });
    return;
  }
  if (cfg.contexts.length === 0) {
    ctx.out.line(
      `No contexts in ${cfg.path}. Create one with: kubiya config set-context NAME --api-url URL --token KEY`,
    );
    return;
  }
  const rows = cfg.contexts.map((c) => [
    c.name === current ? '*' : '',
    c.name,
    c.apiUrl ?? '',
    c.organization ?? '',
    c.user ?? '',
    proxySummary(c),
  ]);
  ctx.out.line(formatTable(['CURRENT', 'NAME', 'API-URL', 'ORGANIZATION', 'USER', 'LOCAL-PROXY'], rows));
};

/** `config current-context`: exit 1 when none is set, in text and in JSON. */
export const currentContext: Handler<object> = async (ctx) => {
  const cfg = await ctx.configStore();
  const eff = cfg.effectiveName(ctx.env);
  // a name that is not a context (a KUBIYA_CONTEXT typo) is the error worker start gives, not an answer
  if (eff.name) currentStoreContext(cfg, ctx.env);
  if (ctx.output === 'json') {
    ctx.out.json({ currentContext: eff.name ?? null, from: eff.from, file: cfg.path });
    return eff.name ? 0 : 1; // as in text mode: "none set" is a failure scripts can test
  }
  if (!eff.name)
    throw new UserError('current-context is not set', {
      exitCode: 1,
      hint: 'Set one with: kubiya config use-context NAME',
    });
  ctx.out.line(eff.name);
};

/** `config use-context NAME`. */
export const useContext: Handler<object, [string]> = async (ctx, _opts, name) => {
  const cfg = await ctx.configStore();
  edit.useContext(cfg, name);
  cfg.save();
  ctx.out.line(`Switched to context "${name}".`);
};

/** `config set-context NAME [--api-url ...]`: create or patch. */
export const setContext: Handler<edit.ContextPatch, [string]> = async (ctx, opts, name) => {
  const cfg = await ctx.configStore();
  const result = edit.setContext(cfg, name, opts);
  cfg.save();
  ctx.out.line(`Context "${name}" ${result}.`);
};

/** `config set-proxy --enable|--disable [--config-file F | --config-json J] [--model M]`. */
export const setProxy: Handler<SetProxyOpts> = async (ctx, opts) => {
  if (opts.enable && opts.disable) throw new UserError('set-proxy: --enable and --disable cannot be used together');
  if (!opts.enable && !opts.disable) throw new UserError('set-proxy: say --enable or --disable');
  if (opts.configFile !== undefined && opts.configJson !== undefined) {
    throw new UserError('set-proxy: give --config-file or --config-json, not both');
  }
  if (opts.configFile !== undefined && opts.configFile.trim() === '')
    throw new UserError('--config-file must not be empty');
  if (opts.configJson !== undefined) checkJson(opts.configJson);
  const cfg = await ctx.configStore();
  const name = opts.context ?? cfg.effectiveName(ctx.env).name;
  if (!name)
    throw new UserError('set-proxy: no current context; pass --context NAME or run kubiya config use-context NAME');
  // a relative path means "from here" on the command line; in the file it would mean "from ~/.kubiya"
  const configFile =
    opts.configFile === undefined || opts.configFile.startsWith('~')
      ? opts.configFile
      : path.resolve(ctx.cwd, opts.configFile);
  if (configFile !== undefined && !fs.existsSync(expandHome(configFile, ctx.env)))
    ctx.out.warn(`--config-file ${configFile} does not exist (yet); worker start fails until it does`);
  edit.setProxy(cfg, name, { enabled: !!opts.enable, configFile, configJson: opts.configJson, model: opts.model });
  cfg.save();
  const c = cfg.require(name);
  if (c.litellmProxy?.enabled && !c.litellmProxy.configFile && c.litellmProxy.configJson === undefined) {
    ctx.out.warn(
      `context "${name}" enables the local proxy without a config; worker start will use the queue's config or fail`,
    );
  }
  ctx.out.line(`Context "${name}": local proxy ${proxySummary(c)}.`);
};

/** `config delete-context NAME`. */
export const deleteContext: Handler<object, [string]> = async (ctx, _opts, name) => {
  const cfg = await ctx.configStore();
  const wasCurrent = edit.deleteContext(cfg, name);
  cfg.save();
  ctx.out.line(`Deleted context "${name}".`);
  if (wasCurrent)
    ctx.out.warn(`"${name}" was the current context; none is current now (kubiya config use-context NAME)`);
};

/** `config rename-context OLD NEW`. */
export const renameContext: Handler<object, [string, string]> = async (ctx, _opts, from, to) => {
  const cfg = await ctx.configStore();
  edit.renameContext(cfg, from, to);
  cfg.save();
  ctx.out.line(`Context "${from}" renamed to "${to}".`);
};

/** `config view [--raw]`: the file, masked unless --raw. */
export const view: Handler<{ raw?: boolean }> = async (ctx, opts) => {
  const cfg = await ctx.configStore();
  const data = opts.raw ? (cfg.doc.toJS() ?? {}) : maskedDocument(cfg);
  if (ctx.output === 'json') ctx.out.json(data);
  else ctx.stdout.write(opts.raw ? cfg.doc.toString({ lineWidth: 0 }) : stringify(data, { lineWidth: 0 }));
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
  // refused now rather than at the next `worker start`: a config without a model serves nothing
  const list = (v as { model_list?: unknown }).model_list;
  if (!Array.isArray(list) || list.length === 0)
    throw new UserError('--config-json: model_list is missing or empty, so the local proxy would serve no model', {
      hint: 'Give at least one entry: {"model_list": [{"model_name": "...", "litellm_params": {"model": "..."}}]}',
    });
}
