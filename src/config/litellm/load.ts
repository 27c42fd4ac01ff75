import type { z } from 'zod';
import { ConfigError } from '../../errors.js';
import { didYouMean } from '../../util/did-you-mean.js';
import * as K from './keys.js';
import { type ConfigSource, type Parsed, parseSource, sourceLabel } from './parse.js';
import { type LiteLLMConfig, litellmConfigSchema } from './schema.js';
import { isSecretEnvName, isSecretKey, resolveSecretRefs, secretRefName } from './secrets.js';

export type { ConfigSource } from './parse.js';

export interface ConfigWarning {
  /** key path, e.g. `model_list[2].litellm_params.s3_bucket_name` */
  path: string;
  message: string;
}

export interface LoadedConfig {
  /** a label for messages: the file path, `--proxy-config-json`, `queue settings`, ... */
  source: string;
  /** the config as written (references unresolved): what a snapshot keeps */
  raw: Record<string, unknown>;
  /** the typed config with every secret reference resolved */
  config: LiteLLMConfig;
  warnings: ConfigWarning[];
  /** resolved secret values, so any output can mask them */
  secretValues: string[];
  /** `environment_variables` from the config, to apply to the engine's environment */
  environment: Record<string, string>;
}

export interface LoadOptions {
  /** the environment secret references resolve against (default: process.env) */
  env?: NodeJS.ProcessEnv;
}

/** Load, check and resolve a LiteLLM config from any source. Throws ConfigError on what cannot be served. */
export function loadLiteLLMConfig(source: ConfigSource, opts: LoadOptions = {}): LoadedConfig {
  const label = sourceLabel(source);
  const parsed = parseSource(source);
  const value = parsed.value;
  if (value === null || value === undefined) {
    throw new ConfigError(label, '', 'the config is empty: expected a mapping with a model_list');
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(
      label,
      '',
      `expected a mapping at the top level (model_list, litellm_settings, ...), found ${describe(value)}`,
    );
  }
  const raw = value as Record<string, unknown>;
  const warnings: ConfigWarning[] = [];
  const work = structuredClone(raw);

  checkKeys(work, '', K.TOP_LEVEL, warnings);
  for (const section of ['litellm_settings', 'router_settings', 'general_settings'] as const) {
    const set = {
      litellm_settings: K.LITELLM_SETTINGS,
      router_settings: K.ROUTER_SETTINGS,
      general_settings: K.GENERAL_SETTINGS,
    }[section];
    const v = work[section];
    if (v === null)
      delete work[section]; // an empty `section:` in YAML
    else if (isMap(v)) checkKeys(v, section, set, warnings);
  }
  if (isMap(work.litellm_settings)) checkCallbacks(work.litellm_settings, warnings);
  const cp = isMap(work.litellm_settings) ? work.litellm_settings.cache_params : undefined;
  if (isMap(cp)) checkKeys(cp, 'litellm_settings.cache_params', K.CACHE_PARAMS, warnings);
  if (work.model_list === null) work.model_list = [];
  if (Array.isArray(work.model_list)) work.model_list = checkModelList(work.model_list, warnings);

  // environment_variables first, so references may point at them.
  const baseEnv = opts.env ?? process.env;
  const environment: Record<string, string> = {};
  const envBlock = work.environment_variables;
  if (isMap(envBlock)) {
    for (const [k, v] of Object.entries(envBlock)) {
      if (v === null || v === undefined) continue;
      const ref = secretRefName(v);
      const resolved = ref ? baseEnv[ref] : String(v);
      if (resolved !== undefined) environment[k] = resolved;
      else warnings.push({ path: `environment_variables.${k}`, message: `refers to ${ref}, which is not set` });
    }
  }
  const env = { ...baseEnv, ...environment };
  const secretValues = new Set<string>(
    Object.entries(environment)
      .filter(([k]) => isSecretKey(k) || isSecretEnvName(k))
      .map(([, v]) => v),
  );
  const unset = new Map<string, string>();
  const refs = { env, warnings, secrets: secretValues, label, unset };
  const resolvedTree = resolveSecretRefs(work, '', refs) as Record<string, unknown>;
  delete resolvedTree.environment_variables;

  const result = litellmConfigSchema.safeParse(resolvedTree);
  if (!result.success)
    throw zodToConfigError(result.error, {
      label,
      tree: resolvedTree,
      lineOf: parsed.lineOf,
      unset,
      secrets: secretValues,
    });
  result.data.environment_variables = environment;
  return { source: label, raw, config: result.data, warnings, secretValues: [...secretValues], environment };
}

function checkModelList(list: unknown[], warnings: ConfigWarning[]): unknown[] {
  const kept: unknown[] = [];
  list.forEach((entry, i) => {
    const p = `model_list[${i}]`;
    if (!isMap(entry)) {
      kept.push(entry); // the schema reports the type error with its path
      return;
    }
    checkKeys(entry, p, { supported: [...K.MODEL_ENTRY.supported, 'rpm', 'tpm'], later: [] }, warnings);
    const params = entry.litellm_params;
    if (params === undefined || params === null) {
      warnings.push({
        path: `${p}.litellm_params`,
        message:
          `missing, so model "${String(entry.model_name ?? '?')}" is not served ` +
          '(expected litellm_params.model, e.g. openai/gpt-4o)',
      });
      return;
    }
    if (isMap(params)) {
      // LiteLLM also takes rpm/tpm beside litellm_params; they belong inside it.
      for (const k of ['rpm', 'tpm'] as const)
        if (entry[k] !== undefined && params[k] === undefined) params[k] = entry[k];
      checkKeys(params, `${p}.litellm_params`, K.LITELLM_PARAMS, warnings, true);
    }
    if (isMap(entry.model_info)) checkKeys(entry.model_info, `${p}.model_info`, K.MODEL_INFO, warnings, true);
    kept.push(entry);
  });
  return kept;
}

/** Warn about each callback name the engine does not implement yet (langfuse, otel, ...), by name. */
function checkCallbacks(ls: Record<string, unknown>, warnings: ConfigWarning[]): void {
  for (const key of ['callbacks', 'success_callback', 'failure_callback']) {
    const v = ls[key];
    const names = typeof v === 'string' ? [v] : Array.isArray(v) ? v : [];
    const later = names.filter((n) => typeof n !== 'string' || !K.IMPLEMENTED_CALLBACKS.includes(n));
    if (later.length === 0) continue;
    warnings.push({
      path: `litellm_settings.${key}`,
      message:
        `not supported yet; ignored: ${later.map((n) => JSON.stringify(n)).join(', ')} ` +
        `(implemented: ${K.IMPLEMENTED_CALLBACKS.join(', ')})`,
    });
  }
}

/** Warn about keys that are unknown (with a suggestion) or known but not implemented yet. */
function checkKeys(
  obj: Record<string, unknown>,
  at: string,
  set: K.KeySet,
  warnings: ConfigWarning[],
  quietUnknown = false,
) {
  for (const key of Object.keys(obj)) {
    if (set.supported.includes(key)) continue;
    const p = at ? `${at}.${key}` : key;
    if (set.later.includes(key)) {
      warnings.push({ path: p, message: 'not supported yet; ignored' });
      continue;
    }
    const guess = didYouMean(key, [...set.supported, ...set.later]);
    if (guess) warnings.push({ path: p, message: `unknown key; did you mean "${guess}"?` });
    else if (!quietUnknown) warnings.push({ path: p, message: 'unknown key; ignored' });
    else warnings.push({ path: p, message: 'unknown key; kept but not sent upstream' });
  }
}

/** Stands in for a secret value in error messages. */
const HIDDEN = Symbol('hidden secret');

interface ErrorCtx {
  label: string;
  tree: unknown;
  lineOf: Parsed['lineOf'];
  unset: Map<string, string>;
  /** resolved secrets: an error must never print one */
  secrets: Set<string>;
}

function zodToConfigError(err: z.ZodError, ctx: ErrorCtx): ConfigError {
  const issue = err.issues[0];
  const ipath = issue.path as (string | number)[];
  const keyPath = formatPath(ipath);
  const value = valueAt(ctx.tree, ipath);
  const last = ipath[ipath.length - 1];
  const scalar = value !== undefined && value !== null && typeof value !== 'object';
  const hidden = scalar && (ctx.secrets.has(String(value)) || (typeof last === 'string' && isSecretKey(last)));
  const found = hidden ? { [HIDDEN]: typeof value } : value;
  let problem: string;
  const unsetVar = ctx.unset.get(keyPath);
  if (unsetVar && found === undefined) {
    problem = `required, but it refers to the environment variable ${unsetVar}, which is not set`;
  } else if (issue.code === 'invalid_type') {
    problem =
      found === undefined
        ? `required: expected ${issue.expected}, found nothing${misspelling(ctx.tree, ipath)}`
        : `expected ${issue.expected}, found ${describe(found)}`;
  } else if (found === undefined && issue.code === 'invalid_union') {
    // model_name (string or number)
    problem = `required: expected a string, found nothing${misspelling(ctx.tree, ipath)}`;
  } else if (issue.code === 'too_small') {
    problem = `expected a non-empty value, found ${describe(found)}`;
  } else {
    problem = `${issue.message}${found === undefined ? '' : `, found ${describe(found)}`}`;
  }
  const extra =
    err.issues.length > 1 ? ` (and ${err.issues.length - 1} more problem${err.issues.length > 2 ? 's' : ''})` : '';
  const pos = ctx.lineOf?.(ipath);
  return new ConfigError(ctx.label, keyPath, problem + extra, pos ?? {});
}

/**
 * For a missing required key: a sibling key that looks like a typo of it,
 * e.g. ` (found "modle": did you mean "model"?)`.
 */
function misspelling(tree: unknown, p: (string | number)[]): string {
  const parent = valueAt(tree, p.slice(0, -1));
  const want = p[p.length - 1];
  if (!isMap(parent) || typeof want !== 'string') return '';
  const typo = Object.keys(parent).find((k) => didYouMean(k, [want]) === want);
  return typo ? ` (found "${typo}": did you mean "${want}"?)` : '';
}

/** `model_list[0].litellm_params.model` from ['model_list', 0, 'litellm_params', 'model']. */
export function formatPath(p: (string | number)[]): string {
  return p.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

function valueAt(tree: unknown, p: (string | number)[]): unknown {
  let cur: unknown = tree;
  for (const s of p) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[s];
  }
  return cur;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object' && HIDDEN in v)
    return `a ${(v as Record<symbol, string>)[HIDDEN]} (not shown: it is a secret)`;
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  return `${typeof v} ${String(v)}`;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
