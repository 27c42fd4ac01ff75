/**
 * The cost of one call, LiteLLM's formula (generic_cost_per_token): text prompt tokens (prompt minus
 * cache reads and cache writes) at the input price, cache reads and writes at their own prices,
 * reasoning tokens at the reasoning price (else the output price), the rest of the completion at the
 * output price; a tier's prices (`..._above_200k_tokens`, `_above_128k_tokens`) once the prompt passes
 * it; a per-second price (input_cost_per_second) bills the call's duration (or the audio's) instead; the media
 * endpoints' per-unit prices (per image, rerank query, character) add their units.
 */
import type { Deployment } from '../deployment.js';
import { substitute } from '../router/resolve.js';
import type { TokenUsage } from '../upstream/result.js';
import { type ModelPrice, PRICE_FIELDS, type PriceMap } from './prices.js';

/** USD for `u` at price `p`; `durationMs` is the upstream call's duration (per-second prices). */
export function callCost(p: ModelPrice, u: TokenUsage, durationMs: number): number {
  // the media endpoints' units (media/units.ts): images, rerank queries, characters spoken
  let units = 0;
  if (u.images && p.perImage) units += u.images * p.perImage;
  if (u.queries && p.perQuery) units += u.queries * p.perQuery;
  if (u.characters && p.perCharacter) units += u.characters * p.perCharacter;
  const perSecond = (p.inputPerSecond ?? 0) + (p.outputPerSecond ?? 0);
  // audio bills the seconds transcribed when the answer says how long it was, else the call's duration
  if (perSecond > 0) return units + perSecond * (u.seconds ?? durationMs / 1000);
  let input = p.input;
  let output = p.output;
  // a model without cache prices bills its cached tokens as plain prompt tokens (never free)
  let cacheRead = p.cacheRead ?? input;
  let cacheCreation = p.cacheCreation ?? input;
  let cacheCreation1h = p.cacheCreation1h;
  const tiers = p.tiers;
  if (tiers !== undefined) {
    for (const t of tiers) {
      if (u.prompt <= t.above) continue;
      input = t.input ?? input;
      output = t.output ?? output;
      cacheRead = t.cacheRead ?? (p.cacheRead === undefined ? input : cacheRead);
      cacheCreation = t.cacheCreation ?? (p.cacheCreation === undefined ? input : cacheCreation);
      cacheCreation1h = t.cacheCreation1h ?? cacheCreation1h;
      break;
    }
  }
  const textPrompt = Math.max(0, u.prompt - u.cached - u.cacheCreation);
  const textCompletion = Math.max(0, u.completion - u.reasoning);
  // writes kept an hour (Anthropic's 1-hour cache TTL) at their own price, when the model has one
  const hour = u.cacheCreation1h === undefined ? 0 : Math.min(u.cacheCreation1h, u.cacheCreation);
  return (
    units +
    textPrompt * input +
    u.cached * cacheRead +
    (u.cacheCreation - hour) * cacheCreation +
    hour * (cacheCreation1h ?? cacheCreation) +
    textCompletion * output +
    u.reasoning * (p.reasoning ?? output)
  );
}

/** What a deployment's price is looked up by (all from its config entry). */
export interface PricedModel {
  /** litellm_params.model as written, e.g. `bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0` */
  litellmModel: string;
  /** the provider prefix (or custom_llm_provider), e.g. `bedrock` */
  provider?: string;
  /** the model without its provider prefix */
  model: string;
  info: Record<string, unknown>;
  params: Record<string, unknown>;
}

/**
 * A deployment's price, once at load: the map's entry for `model_info.base_model`, else the model as
 * written, `<provider>/<model>` or the bare model; then the cost keys of `model_info` and
 * `litellm_params` (in that order of precedence) override it. Undefined: the model has no price.
 */
export function deploymentPrice(prices: PriceMap, m: PricedModel): ModelPrice | undefined {
  let found: ModelPrice | undefined;
  for (const name of candidates(m)) if ((found = prices.get(name))) break;
  let over: ModelPrice | undefined;
  for (const [src, o] of [
    ['model_info', m.info],
    ['litellm_params', m.params],
  ] as const) {
    for (const [k, field] of Object.entries(PRICE_FIELDS)) {
      const v = num(o[k]);
      if (v === undefined) continue;
      over ??= { ...(found ?? { input: 0, output: 0 }), source: src };
      // model_info wins over litellm_params
      if (src === 'litellm_params' && num(m.info[k]) !== undefined) continue;
      over[field] = v;
      if (field === 'input' || field === 'output') over.tiers = undefined; // a fixed override has no tiers
    }
  }
  return over ?? found;
}

/** A wildcard deployment (`model_name: gpt-*`, `openai/gpt-*`) is priced per requested model. */
interface WildcardPricing {
  regex: RegExp;
  model: PricedModel;
  prices: PriceMap;
  /** requested model -> price (bounded: clients choose the names) */
  cache: Map<string, ModelPrice | null>;
}
const wildcards = new WeakMap<Deployment, WildcardPricing>();
const WILDCARD_CACHE = 1000;

/** Register a wildcard deployment (its `price` is null): its calls are priced by the model they asked for. */
export function priceWildcard(dep: Deployment, model: PricedModel, prices: PriceMap): void {
  const regex = new RegExp(`^${dep.modelName.split('*').map(escapeRegex).join('(.*)')}$`);
  wildcards.set(dep, { regex, model, prices, cache: new Map() });
}

/**
 * The price of a call a deployment answered for `requested` (the client's model name): the deployment's
 * own, or for a wildcard deployment the map's price of the model the name fills in. null: no price.
 */
export function priceOf(dep: Deployment, requested: unknown): ModelPrice | null | undefined {
  if (dep.price !== null) return dep.price;
  const w = wildcards.get(dep);
  if (w === undefined || typeof requested !== 'string') return null;
  let p = w.cache.get(requested);
  if (p !== undefined) return p;
  const match = w.regex.exec(requested);
  if (match) {
    const captures = match.slice(1);
    const m = w.model;
    const filled = { ...m, model: substitute(m.model, captures), litellmModel: substitute(m.litellmModel, captures) };
    p = deploymentPrice(w.prices, filled) ?? null;
  } else p = null;
  if (w.cache.size >= WILDCARD_CACHE) w.cache.clear();
  w.cache.set(requested, p);
  return p;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The names a deployment's model may have in the map, most specific first. */
export function candidates(m: PricedModel): string[] {
  const out: string[] = [];
  const add = (n: string | undefined) => {
    if (n && !out.includes(n)) out.push(n);
  };
  const base = typeof m.info.base_model === 'string' ? m.info.base_model : undefined;
  if (base) {
    add(base);
    if (m.provider) add(`${m.provider}/${base}`);
    const slash = base.indexOf('/');
    if (slash !== -1) add(base.slice(slash + 1));
  }
  add(m.litellmModel);
  if (m.provider) add(`${m.provider}/${m.model}`);
  add(m.model);
  // Bedrock's route prefixes (bedrock/converse/<id>, bedrock/invoke/<id>) are not part of the model id
  const route = /^(?:converse|invoke)\//.exec(m.model);
  if (route) add(m.model.slice(route[0].length));
  return out;
}

/** The price fields LiteLLM shows in /v1/model/info's model_info (its names), from a price. */
export function priceInfo(p: ModelPrice): Record<string, number | string | boolean> {
  const out: Record<string, number | string | boolean> = {};
  for (const [k, field] of Object.entries(PRICE_FIELDS)) {
    const v = p[field];
    if (v !== undefined) out[k] = v;
  }
  for (const t of p.tiers ?? []) {
    const sfx = `_above_${t.above / 1000}k_tokens`;
    if (t.input !== undefined) out[`input_cost_per_token${sfx}`] = t.input;
    if (t.output !== undefined) out[`output_cost_per_token${sfx}`] = t.output;
    if (t.cacheRead !== undefined) out[`cache_read_input_token_cost${sfx}`] = t.cacheRead;
    if (t.cacheCreation !== undefined) out[`cache_creation_input_token_cost${sfx}`] = t.cacheCreation;
    if (t.cacheCreation1h !== undefined) out[`cache_creation_input_token_cost_above_1hr${sfx}`] = t.cacheCreation1h;
  }
  if (p.maxInputTokens !== undefined) out.max_input_tokens = p.maxInputTokens;
  if (p.maxOutputTokens !== undefined) out.max_output_tokens = p.maxOutputTokens;
  if (p.mode !== undefined) out.mode = p.mode;
  if (p.supports) Object.assign(out, p.supports);
  return out;
}

const num = (v: unknown): number | undefined => {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined;
};
