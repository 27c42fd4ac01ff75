import { createHash } from 'node:crypto';
import { FORWARDED_PARAMS } from '../../config/litellm/keys.js';
import type { ConfigWarning, LoadedConfig } from '../../config/litellm/load.js';
import type { ModelEntry } from '../../config/litellm/schema.js';
import { isSecretKey } from '../../config/litellm/secrets.js';
import { deploymentPrice, type PricedModel, priceInfo, priceWildcard } from '../cost/cost.js';
import type { PriceMap } from '../cost/prices.js';
import type { Deployment, ModelGroup, WildcardRoute } from '../deployment.js';
import { isProviderId, loadAdapter } from '../providers/registry.js';
import { splitProvider } from '../providers/resolve.js';
import type { ProviderAdapter, ProviderId } from '../providers/types.js';
import { OTHER_LITELLM_PROVIDERS } from '../providers/unsupported.js';
import type { JsonObject } from '../wire.js';

export type { Deployment, ModelGroup, WildcardRoute } from '../deployment.js';

import { catalogEntry, encodingFor } from './model-catalog.js';
import { checkFallbackNames, num, type RouterSettings, readRouterSettings } from './settings.js';

export interface RouteTable {
  groups: Map<string, ModelGroup>;
  /** alias -> target group name (router_settings.model_group_alias) */
  aliases: Map<string, { target: string; hidden: boolean }>;
  wildcards: WildcardRoute[];
  deployments: Deployment[];
  warnings: ConfigWarning[];
  /** retries, fallbacks, cooldowns, strategy (router_settings / litellm_settings) */
  settings: RouterSettings;
  /**
   * The provider LiteLLM's model map names for a bare model name (`gpt-4` -> openai), so a provider wildcard
   * (`openai/*`) serves it as LiteLLM's router does; undefined without a price map or for unknown names
   */
  providerOf?: (model: string) => string | undefined;
}

// provider-specific litellm_params (keep_alive, thinking, max_new_tokens, ...) reach adapters through spec.params

const DEFAULT_TIMEOUT_S = 600;

/** A model entry from outside the config file (the model API: `/model/new`), with its key path for warnings. */
export interface ExtraEntry {
  entry: ModelEntry;
  /** e.g. `db_model[<id>]` */
  at: string;
}

/** What a rebuild at run time adds to the config: more entries, and the table it replaces. */
export interface BuildOptions {
  /** served after the config's entries; shown with `model_info.db_model: true` */
  extra?: readonly ExtraEntry[];
  /**
   * the table being replaced: a deployment whose entry and key path are unchanged is reused as it is (the
   * router state keeps its cooldowns, usage and latency), and the router settings object is kept
   */
  previous?: RouteTable;
}

/** What each deployment was built from (its entry and key path), so a rebuild can reuse unchanged ones. */
const builtFrom = new WeakMap<Deployment, string>();

/**
 * Build the routing table from a loaded config: resolve providers, load and prepare their adapters,
 * compile wildcard patterns and weights. Models that cannot be served become warnings, never crashes.
 * With `prices` (the engine's price map) each deployment gets its price; a model without one is warned once.
 */
export async function buildRouteTable(
  loaded: LoadedConfig,
  env: Readonly<Record<string, string | undefined>> = process.env,
  prices?: PriceMap,
  opts: BuildOptions = {},
): Promise<RouteTable> {
  const cfg = loaded.config;
  const warnings: ConfigWarning[] = [];
  const fullEnv = { ...env, ...loaded.environment };
  const rs = cfg.router_settings;
  const ls = cfg.litellm_settings;
  const gs = cfg.general_settings as Record<string, unknown>;
  const globalTimeout = num(rs.timeout) ?? num(ls.request_timeout) ?? num(gs.request_timeout) ?? DEFAULT_TIMEOUT_S;
  const globalStreamTimeout = num(rs.stream_timeout) ?? num((ls as Record<string, unknown>).stream_timeout);
  const indexes = originalIndexes(loaded.raw.model_list);

  const deployments: Deployment[] = [];
  const unpriced = new Set<string>();
  const reusable = new Map<string, Deployment>();
  for (const d of opts.previous?.deployments ?? []) {
    const from = builtFrom.get(d);
    if (from !== undefined) reusable.set(from, d);
  }
  const entries: { entry: ModelEntry; at: string; db: boolean }[] = cfg.model_list.map((entry, i) => ({
    entry,
    at: `model_list[${indexes[i] ?? i}]`,
    db: false,
  }));
  for (const x of opts.extra ?? []) entries.push({ ...x, db: true });
  for (const { entry, at, db } of entries) {
    const from = `${at}\0${JSON.stringify(entry)}`;
    const same = reusable.get(from);
    if (same) {
      deployments.push(same);
      continue;
    }
    const d = await buildDeployment(entry, at, fullEnv, warnings, {
      globalTimeout,
      globalStreamTimeout,
      dropParams: ls.drop_params === true,
      prices,
      unpriced,
      db,
    });
    if (!d) continue;
    builtFrom.set(d, from);
    deployments.push(d);
  }

  const byName = new Map<string, Deployment[]>();
  for (const d of deployments) {
    const list = byName.get(d.modelName);
    if (list) list.push(d);
    else byName.set(d.modelName, [d]);
  }
  const groups = new Map<string, ModelGroup>();
  const wildcards: WildcardRoute[] = [];
  for (const [name, list] of byName) {
    const group = makeGroup(name, list);
    if (name.includes('*')) {
      const regex = new RegExp(`^${name.split('*').map(escapeRegex).join('(.*)')}$`);
      wildcards.push({ pattern: name, regex, group, specificity: name.replace(/\*/g, '').length });
    } else groups.set(name, group);
  }
  wildcards.sort((a, b) => b.specificity - a.specificity);

  const aliases = new Map<string, { target: string; hidden: boolean }>();
  for (const [alias, v] of Object.entries(rs.model_group_alias ?? {})) {
    const target = typeof v === 'string' ? v : typeof v.model === 'string' ? v.model : undefined;
    const at = `router_settings.model_group_alias.${alias}`;
    if (!target) warnings.push({ path: at, message: 'expected a model name or {model: <name>, hidden: true|false}' });
    else if (!groups.has(target) && !wildcards.some((w) => w.regex.test(target)))
      warnings.push({ path: at, message: `points at "${target}", which no model_list entry serves` });
    else aliases.set(alias, { target, hidden: typeof v === 'object' && v.hidden === true });
  }
  // the config's router settings do not change at run time: a rebuild keeps the object requests hold
  const settings = opts.previous?.settings ?? readRouterSettings(cfg, warnings);
  checkFallbackNames(
    cfg,
    settings,
    (n) => groups.has(n) || aliases.has(n) || wildcards.some((w) => w.regex.test(n)),
    warnings,
  );
  const providerOf = prices ? (model: string) => prices.get(model)?.provider : undefined;
  return { groups, aliases, wildcards, deployments, warnings, settings, providerOf };
}

interface Globals {
  globalTimeout: number;
  globalStreamTimeout?: number;
  dropParams: boolean;
  prices?: PriceMap;
  /** models already warned about as unpriced (one warning per model) */
  unpriced: Set<string>;
  /** added through the model API (`model_info.db_model: true`) */
  db?: boolean;
}

async function buildDeployment(
  entry: ModelEntry,
  at: string,
  env: Record<string, string | undefined>,
  warnings: ConfigWarning[],
  g: Globals,
): Promise<Deployment | undefined> {
  const p = entry.litellm_params as Record<string, unknown>;
  const info = (entry.model_info ?? {}) as Record<string, unknown>;
  const split = splitProvider(entry.litellm_params.model, entry.litellm_params.custom_llm_provider);
  const mock = entry.litellm_params.mock_response;
  const warn = (message: string) => warnings.push({ path: `${at}.litellm_params.model`, message });
  let adapter: ProviderAdapter | undefined;
  let state: unknown;
  let provider: ProviderId | undefined;
  if (isProviderId(split.provider)) {
    provider = split.provider;
    adapter = await loadAdapter(provider);
  }
  if (!adapter && mock === undefined) {
    const why =
      provider || OTHER_LITELLM_PROVIDERS.has(split.provider ?? '')
        ? `provider "${split.provider}" is not supported yet`
        : `unknown provider "${split.provider}" (expected a prefix such as openai/, ollama/, groq/, hosted_vllm/)`;
    warn(`${why}; model "${entry.model_name}" is not served`);
    return undefined;
  }
  if (adapter) {
    try {
      state = adapter.prepare({
        modelName: entry.model_name,
        provider: adapter.id,
        model: split.model,
        params: p,
        info,
        env,
        at,
        warn: mock === undefined ? warn : undefined,
      });
    } catch (e) {
      if (mock === undefined) {
        warnings.push({ path: at, message: `${(e as Error).message}; model "${entry.model_name}" is not served` });
        return undefined;
      }
      adapter = undefined;
    }
  }
  let healthState: unknown;
  const hcm = info.health_check_model;
  if (adapter && typeof hcm === 'string' && hcm !== '') {
    const model = hcm.startsWith(`${split.provider}/`) ? hcm.slice(String(split.provider).length + 1) : hcm;
    try {
      healthState = adapter.prepare({
        modelName: entry.model_name,
        provider: adapter.id,
        model,
        params: p,
        info,
        env,
        at,
      });
    } catch {
      /* the deployment's own state is checked instead */
    }
  }
  const timeoutS = num(p.timeout) ?? g.globalTimeout;
  const defaults: JsonObject = {};
  for (const k of FORWARDED_PARAMS) if (p[k] !== undefined) defaults[k] = p[k];
  const id =
    info.id !== undefined
      ? String(info.id)
      : createHash('sha256')
          .update(`${at}\0${entry.model_name}\0${entry.litellm_params.model}\0${String(p.api_base ?? '')}`)
          .digest('hex')
          .slice(0, 32);
  // a mock_response deployment calls nothing: no provider default URL (api.openai.com...) in /health or /model/info
  const apiBase =
    adapter && mock === undefined
      ? adapter.describe(state).api_base
      : typeof p.api_base === 'string'
        ? p.api_base
        : undefined;
  const known =
    catalogEntry(split.model) ?? (typeof info.base_model === 'string' ? catalogEntry(info.base_model) : undefined);
  const inCost = num(info.input_cost_per_token) ?? num(p.input_cost_per_token) ?? known?.inputCost;
  const outCost = num(info.output_cost_per_token) ?? num(p.output_cost_per_token) ?? known?.outputCost;
  let price: Deployment['price'];
  let priced: PricedModel | undefined;
  if (g.prices) {
    priced = {
      litellmModel: entry.litellm_params.model,
      provider: split.provider,
      model: split.model,
      info,
      params: p,
    };
    price = deploymentPrice(g.prices, priced) ?? null;
    const name = typeof info.base_model === 'string' ? info.base_model : entry.litellm_params.model;
    // a wildcard is priced per requested model; a mock calls nothing
    const perModel = entry.model_name.includes('*') && split.model.includes('*');
    if (price === null && !perModel && mock === undefined && !g.unpriced.has(name)) {
      g.unpriced.add(name);
      // the media models' price is per unit: name the key that applies
      const unit = UNIT_PRICE[modeOfModel(String(entry.litellm_params.model)) ?? ''];
      warnings.push({
        path: `${at}.litellm_params.model`,
        message:
          `no price known for "${name}": its calls cost 0 and are reported as unpriced ` +
          `(set ${unit ?? 'model_info.input_cost_per_token and output_cost_per_token'}, or model_info.base_model)`,
      });
    }
  }
  const tags = Array.isArray(p.tags)
    ? (p.tags as unknown[]).filter((t): t is string => typeof t === 'string')
    : undefined;
  const dep: Deployment = {
    id,
    modelName: entry.model_name,
    litellmModel: entry.litellm_params.model,
    at,
    provider,
    adapter,
    state,
    model: split.model,
    weight: 1,
    timeoutMs: timeoutS * 1000,
    streamTimeoutMs: (num(p.stream_timeout) ?? g.globalStreamTimeout ?? timeoutS) * 1000,
    defaults: Object.keys(defaults).length ? defaults : undefined,
    extraBody: p.extra_body && typeof p.extra_body === 'object' ? (p.extra_body as JsonObject) : undefined,
    dropParams: typeof p.drop_params === 'boolean' ? p.drop_params : g.dropParams,
    additionalDropParams: Array.isArray(p.additional_drop_params) ? (p.additional_drop_params as string[]) : [],
    mockResponse: mock,
    mode: typeof info.mode === 'string' ? info.mode : undefined,
    apiBase,
    publicInfo: publicInfo(entry, id, apiBase, provider, price, g.db === true),
    rpm: positive(p.rpm),
    tpm: positive(p.tpm),
    tags: tags?.length ? tags : undefined,
    numRetries: num(p.num_retries),
    // the price map (with the overrides) when one was loaded, else the small built-in catalog
    maxInputTokens:
      positive(info.max_input_tokens) ??
      positive(info.max_tokens) ??
      positive(price?.maxInputTokens) ??
      known?.maxInputTokens,
    cost: price
      ? price.input + price.output
      : inCost === undefined && outCost === undefined
        ? Infinity
        : (inCost ?? 0) + (outCost ?? 0),
    encoding: encodingFor(typeof info.base_model === 'string' ? info.base_model : split.model),
    price,
    healthState,
  };
  if (price === null && priced && g.prices && dep.modelName.includes('*')) priceWildcard(dep, priced, g.prices);
  return dep;
}

/** Weights by LiteLLM's simple-shuffle rule: `weight`, else `rpm`, else `tpm`, else uniform. */
function makeGroup(name: string, list: Deployment[]): ModelGroup {
  const raw = (k: 'weight' | 'rpm' | 'tpm') => list.map((d) => num((d.publicInfo.litellm_params as JsonObject)[k]));
  let weights: (number | undefined)[] | undefined;
  for (const k of ['weight', 'rpm', 'tpm'] as const) {
    const w = raw(k);
    if (w.some((x) => x !== undefined)) {
      weights = w;
      break;
    }
  }
  const cumulative: number[] = [];
  let total = 0;
  if (weights && list.length > 1) {
    list.forEach((d, i) => {
      d.weight = Math.max(0, weights![i] ?? 0);
      total += d.weight;
      cumulative.push(total);
    });
    if (total === 0) cumulative.length = 0;
  }
  const retries = list.map((d) => d.numRetries).filter((n): n is number => n !== undefined);
  return {
    name,
    deployments: list,
    cumulative,
    totalWeight: cumulative.length ? total : list.length,
    numRetries: retries.length ? Math.max(...retries) : undefined,
    limited: list.some((d) => d.rpm !== undefined || d.tpm !== undefined),
  };
}

/** litellm_params without secrets or header values, for /v1/model/info. */
function publicInfo(
  entry: ModelEntry,
  id: string,
  apiBase: string | undefined,
  provider: ProviderId | undefined,
  price: Deployment['price'],
  db: boolean,
): JsonObject {
  const params: JsonObject = {};
  for (const [k, v] of Object.entries(entry.litellm_params)) {
    if (isSecretKey(k) || k.startsWith('aws_') || k === 'vertex_credentials' || k === 'client_secret') continue;
    if ((k === 'extra_headers' || k === 'headers') && v && typeof v === 'object') {
      params[k] = Object.fromEntries(Object.keys(v).map((h) => [h, '****']));
      continue;
    }
    params[k] = v;
  }
  if (apiBase) params.api_base = apiBase;
  const fromMap = price ? priceInfo(price) : price === null ? { unpriced: true } : {};
  // no mode from the price map or the config: the one the model's name implies (rerank, whisper, dall-e, ...)
  const mode = fromMap.mode === undefined ? modeOfModel(String(entry.litellm_params.model)) : undefined;
  return {
    model_name: entry.model_name,
    litellm_params: params,
    model_info: {
      // the price map's fields (LiteLLM's names) under what the config says; `unpriced` when none is known
      ...fromMap,
      ...(mode ? { mode } : {}),
      ...(entry.model_info ?? {}),
      id,
      litellm_provider: provider ?? null,
      db_model: db,
    },
  };
}

/** The per-unit price key of each media mode, for the "no price known" warning. */
const UNIT_PRICE: Record<string, string> = {
  image_generation: 'model_info.output_cost_per_image',
  rerank: 'model_info.input_cost_per_query',
  audio_speech: 'model_info.input_cost_per_character',
  audio_transcription: 'model_info.input_cost_per_second',
};

/**
 * The endpoint a model serves, by its name, for models the price map does not list: LiteLLM's mode names
 * (rerank, moderation, audio_transcription, audio_speech, image_generation, embedding); undefined otherwise.
 */
export function modeOfModel(model: string): string | undefined {
  const m = model.toLowerCase();
  if (m.includes('rerank')) return 'rerank';
  if (m.includes('moderation')) return 'moderation';
  if (/whisper|transcribe|[-_/]stt\b/.test(m)) return 'audio_transcription';
  if (/\btts\b|-tts|playai|speech/.test(m)) return 'audio_speech';
  if (/dall-e|gpt-image|imagen|imagegeneration|stable-diffusion|stability\.|titan-image|nova-canvas|\bsd3|flux/.test(m))
    return 'image_generation';
  if (m.includes('embed')) return 'embedding';
  return undefined;
}

/** The original `model_list` index of each entry the loader kept (it drops entries without litellm_params). */
function originalIndexes(rawList: unknown): number[] {
  if (!Array.isArray(rawList)) return [];
  const out: number[] = [];
  rawList.forEach((e, i) => {
    const dropped =
      e && typeof e === 'object' && !Array.isArray(e) && (e as Record<string, unknown>).litellm_params == null;
    if (!dropped) out.push(i);
  });
  return out;
}

function positive(v: unknown): number | undefined {
  const n = num(v);
  return n !== undefined && n > 0 ? n : undefined;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
