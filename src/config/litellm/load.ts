import fs from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../../errors.js';
import { didYouMean } from '../../util/did-you-mean.js';
import { expandHome } from '../../util/paths.js';
import * as K from './keys.js';
import { litellmConfigSchema, type LiteLLMConfig } from './schema.js';
import { isSecretKey, secretRefName } from './secrets.js';

/** Where a config came from. Every form goes through the same loader, so they load identically. */
export type ConfigSource =
  | { kind: 'file'; path: string }
  | { kind: 'text'; text: string; label: string }
  | { kind: 'object'; value: unknown; label: string };

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

interface Parsed {
  value: unknown;
  lineOf?: (keyPath: (string | number)[]) => { line: number; column: number } | undefined;
}

/** Load, check and resolve a LiteLLM config from any source. Throws ConfigError on what cannot be served. */
export function loadLiteLLMConfig(source: ConfigSource, opts: LoadOptions = {}): LoadedConfig {
  const label = source.kind === 'file' ? source.path : source.label;
  const parsed = parseSource(source, label);
  const value = parsed.value;
  if (value === null || value === undefined) {
    throw new ConfigError(label, '', 'the config is empty: expected a mapping with a model_list');
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(label, '', `expected a mapping at the top level (model_list, litellm_settings, ...), found ${describe(value)}`);
  }
  const raw = value as Record<string, unknown>;
  const warnings: ConfigWarning[] = [];
  const work = structuredClone(raw);

  checkKeys(work, '', K.TOP_LEVEL, warnings);
  for (const section of ['litellm_settings', 'router_settings', 'general_settings'] as const) {
    const set = { litellm_settings: K.LITELLM_SETTINGS, router_settings: K.ROUTER_SETTINGS, general_settings: K.GENERAL_SETTINGS }[section];
    const v = work[section];
    if (v === null) delete work[section]; // an empty `section:` in YAML
    else if (isMap(v)) checkKeys(v, section, set, warnings);
  }
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
  const secretValues = new Set<string>(Object.entries(environment).filter(([k]) => isSecretKey(k)).map(([, v]) => v));
  const resolvedTree = resolveRefs(work, '', env, warnings, secretValues, label) as Record<string, unknown>;
  delete resolvedTree.environment_variables;

  const result = litellmConfigSchema.safeParse(resolvedTree);
  if (!result.success) throw zodToConfigError(result.error, label, resolvedTree, parsed.lineOf);
  result.data.environment_variables = environment;
  return { source: label, raw, config: result.data, warnings, secretValues: [...secretValues], environment };
}

function parseSource(source: ConfigSource, label: string): Parsed {
  if (source.kind === 'object') {
    if (typeof source.value === 'string') return parseText(source.value, label, false);
    return { value: structuredClone(source.value) };
  }
  if (source.kind === 'text') return parseText(source.text, label, false);
  const file = path.resolve(expandHome(source.path));
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory, not a file' : String((e as Error).message);
    throw new ConfigError(label, '', `cannot read the config file: ${why}`);
  }
  return parseText(text, label, !file.endsWith('.json'));
}

function parseText(text: string, label: string, yamlFirst: boolean): Parsed {
  const trimmed = text.trim();
  if (!yamlFirst || trimmed.startsWith('{')) {
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
      try {
        return { value: JSON.parse(trimmed) };
      } catch (e) {
        if (!yamlFirst) throw jsonError(text, label, e as Error);
      }
    } else if (!yamlFirst && trimmed === '') {
      return { value: undefined };
    }
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, version: '1.1' }) // LiteLLM reads YAML 1.1 (PyYAML);
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    const pos = err.linePos?.[0];
    throw new ConfigError(label, '', `YAML syntax error: ${err.message.split('\n')[0]}`, { line: pos?.line, column: pos?.col });
  }
  return { value: doc.toJS({ maxAliasCount: 1000 }), lineOf: (p) => yamlLineOf(doc, lineCounter, p) };
}

function jsonError(text: string, label: string, e: Error): ConfigError {
  const m = /position (\d+)/.exec(e.message);
  if (m) {
    const upto = text.trim().slice(0, Number(m[1]));
    const line = upto.split('\n').length;
    const column = upto.length - upto.lastIndexOf('\n');
    return new ConfigError(label, '', `JSON syntax error: ${e.message}`, { line, column });
  }
  return new ConfigError(label, '', `JSON syntax error: ${e.message}`);
}

function yamlLineOf(doc: Document, lc: LineCounter, keyPath: (string | number)[]) {
  for (let n = keyPath.length; n > 0; n--) {
    const node = doc.getIn(keyPath.slice(0, n), true);
    if (isNode(node) && node.range) {
      const pos = lc.linePos(node.range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return undefined;
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
      warnings.push({ path: `${p}.litellm_params`, message: `missing, so model "${String(entry.model_name ?? '?')}" is not served (expected litellm_params.model, e.g. openai/gpt-4o)` });
      return;
    }
    if (isMap(params)) {
      // LiteLLM also takes rpm/tpm beside litellm_params; they belong inside it.
      for (const k of ['rpm', 'tpm'] as const) if (entry[k] !== undefined && params[k] === undefined) params[k] = entry[k];
      checkKeys(params, `${p}.litellm_params`, K.LITELLM_PARAMS, warnings, true);
    }
    if (isMap(entry.model_info)) checkKeys(entry.model_info, `${p}.model_info`, K.MODEL_INFO, warnings, true);
    kept.push(entry);
  });
  return kept;
}

/** Warn about keys that are unknown (with a suggestion) or known but not implemented yet. */
function checkKeys(obj: Record<string, unknown>, at: string, set: K.KeySet, warnings: ConfigWarning[], quietUnknown = false) {
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

function resolveRefs(v: unknown, at: string, env: NodeJS.ProcessEnv, warnings: ConfigWarning[], secrets: Set<string>, label: string): unknown {
  if (typeof v === 'string') {
    const ref = secretRefName(v);
    if (!ref) return v;
    const val = env[ref];
    if (val === undefined || val === '') {
      if (at === 'general_settings.master_key') {
        throw new ConfigError(label, at, `refers to the environment variable ${ref}, which is not set (refusing to start an open proxy)`);
      }
      warnings.push({ path: at, message: `refers to the environment variable ${ref}, which is not set` });
      return undefined;
    }
    secrets.add(val);
    return val;
  }
  if (Array.isArray(v)) return v.map((x, i) => resolveRefs(x, `${at}[${i}]`, env, warnings, secrets, label));
  if (isMap(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const r = resolveRefs(x, at ? `${at}.${k}` : k, env, warnings, secrets, label);
      if (r !== undefined) out[k] = r;
      if (typeof x === 'string' && !secretRefName(x) && isSecretKey(k) && x.length > 0) secrets.add(x);
    }
    return out;
  }
  return v;
}

function zodToConfigError(err: z.ZodError, label: string, tree: unknown, lineOf: Parsed['lineOf']): ConfigError {
  const issue = err.issues[0];
  const keyPath = formatPath(issue.path as (string | number)[]);
  const found = valueAt(tree, issue.path as (string | number)[]);
  let problem: string;
  if (issue.code === 'invalid_type') {
    problem = found === undefined ? `required: expected ${issue.expected}, found nothing` : `expected ${issue.expected}, found ${describe(found)}`;
  } else if (issue.code === 'too_small') {
    problem = `expected a non-empty value, found ${describe(found)}`;
  } else {
    problem = `${issue.message}${found === undefined ? '' : `, found ${describe(found)}`}`;
  }
  const extra = err.issues.length > 1 ? ` (and ${err.issues.length - 1} more problem${err.issues.length > 2 ? 's' : ''})` : '';
  const pos = lineOf?.(issue.path as (string | number)[]);
  return new ConfigError(label, keyPath, problem + extra, pos ?? {});
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
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  return `${typeof v} ${String(v)}`;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
