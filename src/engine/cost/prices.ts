/**
 * Model prices: LiteLLM's model price map (the compact copy in prices.json, see NOTICE.md, or the file
 * at LITELLM_MODEL_COST_MAP_URL), compiled once at start-up into one `ModelPrice` per model name.
 * Deployments get theirs at route-table build (`deploymentPrice`), so a request's cost is arithmetic only.
 */
import { readFile } from 'node:fs/promises';

/** One tier: prices that apply once the prompt has more than `above` tokens. */
export interface PriceTier {
  above: number;
  input?: number;
  output?: number;
  cacheRead?: number;
  cacheCreation?: number;
  cacheCreation1h?: number;
}

/** USD per token (or per second) of one model, as the cost formula reads it. */
export interface ModelPrice {
  input: number;
  output: number;
  cacheRead?: number;
  cacheCreation?: number;
  /** a cache write kept an hour (Anthropic's 1-hour TTL); absent: priced as `cacheCreation` */
  cacheCreation1h?: number;
  reasoning?: number;
  inputPerSecond?: number;
  outputPerSecond?: number;
  /** per-unit prices of the media endpoints: per image made, per rerank query, per character spoken */
  perImage?: number;
  perQuery?: number;
  perCharacter?: number;
  /** highest threshold first */
  tiers?: PriceTier[];
  maxInputTokens?: number;
  maxOutputTokens?: number;
  provider?: string;
  mode?: string;
  /** the map entry's `supports_*` flags, for /model_group/info (the bundled copy predates keeping them) */
  supports?: Record<string, boolean>;
  /** the map key it came from, or 'model_info' / 'litellm_params' for an override */
  source: string;
}

/** Where a PriceMap reads its raw entries: a parsed object, or the bundled file read lazily (`entriesOfText`). */
interface RawEntries {
  has(name: string): boolean;
  get(name: string): unknown;
  names(): Iterable<string>;
}

/**
 * A price map: LiteLLM's format (model name -> entry), parsed once; an entry is compiled the first time it is
 * looked up (a config names a handful of models out of thousands, so start-up compiles only those).
 */
export class PriceMap {
  private readonly compiled = new Map<string, ModelPrice | null>();
  private count?: number;

  constructor(private readonly raw: RawEntries) {}

  /** The price of a model name exactly as the map keys it; undefined when it has none. */
  get(name: string): ModelPrice | undefined {
    let p = this.compiled.get(name);
    if (p === undefined) {
      // names the map lacks are not remembered (/spend/calculate may ask for any name)
      if (name === 'sample_spec' || !this.raw.has(name)) return undefined;
      const e = this.raw.get(name);
      p = (isEntry(e) && compileEntry(name, e)) || null;
      this.compiled.set(name, p);
    }
    return p ?? undefined;
  }

  /** No model in it has a price (stops at the first that has one). */
  get empty(): boolean {
    for (const name of this.raw.names()) if (this.get(name)) return false;
    return true;
  }

  /** How many models have a price (compiles every entry: for checks and tests, not requests). */
  get size(): number {
    if (this.count === undefined) {
      let n = 0;
      for (const name of this.raw.names()) if (this.get(name)) n++;
      this.count = n;
    }
    return this.count;
  }
}

const isEntry = (e: unknown): e is Record<string, unknown> => !!e && typeof e === 'object' && !Array.isArray(e);

/** The cost fields /v1/model/info shows, LiteLLM's names -> ModelPrice's. */
export const PRICE_FIELDS = {
  input_cost_per_token: 'input',
  output_cost_per_token: 'output',
  cache_read_input_token_cost: 'cacheRead',
  cache_creation_input_token_cost: 'cacheCreation',
  cache_creation_input_token_cost_above_1hr: 'cacheCreation1h',
  output_cost_per_reasoning_token: 'reasoning',
  input_cost_per_second: 'inputPerSecond',
  output_cost_per_second: 'outputPerSecond',
  output_cost_per_image: 'perImage',
  input_cost_per_query: 'perQuery',
  input_cost_per_character: 'perCharacter',
} as const;

const TIER = new RegExp(
  '^(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost|' +
    'cache_creation_input_token_cost_above_1hr|cache_creation_input_token_cost)_above_(\\d+)k_tokens$',
);
const TIER_FIELD = {
  input_cost_per_token: 'input',
  output_cost_per_token: 'output',
  cache_read_input_token_cost: 'cacheRead',
  cache_creation_input_token_cost: 'cacheCreation',
  cache_creation_input_token_cost_above_1hr: 'cacheCreation1h',
} as const;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** One LiteLLM map entry -> ModelPrice; undefined when it has no per-token or per-second price. */
export function compileEntry(name: string, e: Record<string, unknown>): ModelPrice | undefined {
  const input = num(e.input_cost_per_token);
  const output = num(e.output_cost_per_token);
  const inputPerSecond = num(e.input_cost_per_second);
  const perImage = num(e.output_cost_per_image) ?? num(e.input_cost_per_image);
  const perQuery = num(e.input_cost_per_query);
  const perCharacter = num(e.input_cost_per_character);
  const perUnit = perImage ?? perQuery ?? perCharacter;
  if (input === undefined && output === undefined && inputPerSecond === undefined && perUnit === undefined)
    return undefined;
  const p: ModelPrice = { input: input ?? 0, output: output ?? 0, source: name };
  const cacheRead = num(e.cache_read_input_token_cost);
  const cacheCreation = num(e.cache_creation_input_token_cost);
  const cacheCreation1h = num(e.cache_creation_input_token_cost_above_1hr);
  const reasoning = num(e.output_cost_per_reasoning_token);
  const outputPerSecond = num(e.output_cost_per_second);
  if (cacheRead !== undefined) p.cacheRead = cacheRead;
  if (cacheCreation !== undefined) p.cacheCreation = cacheCreation;
  if (cacheCreation1h !== undefined) p.cacheCreation1h = cacheCreation1h;
  if (reasoning !== undefined) p.reasoning = reasoning;
  if (inputPerSecond !== undefined) p.inputPerSecond = inputPerSecond;
  if (outputPerSecond !== undefined) p.outputPerSecond = outputPerSecond;
  if (perImage !== undefined) p.perImage = perImage;
  if (perQuery !== undefined) p.perQuery = perQuery;
  if (perCharacter !== undefined) p.perCharacter = perCharacter;
  let tiers: Map<number, PriceTier> | undefined;
  for (const k in e) {
    const m = TIER.exec(k);
    const v = m ? num(e[k]) : undefined;
    if (!m || v === undefined) continue;
    const above = Number(m[2]) * 1000;
    tiers ??= new Map();
    let t = tiers.get(above);
    if (!t) tiers.set(above, (t = { above }));
    t[TIER_FIELD[m[1] as keyof typeof TIER_FIELD]] = v;
  }
  if (tiers) p.tiers = [...tiers.values()].sort((a, b) => b.above - a.above);
  const maxIn = num(e.max_input_tokens);
  const maxOut = num(e.max_output_tokens);
  if (maxIn !== undefined) p.maxInputTokens = maxIn;
  if (maxOut !== undefined) p.maxOutputTokens = maxOut;
  const provider = str(e.litellm_provider);
  const mode = str(e.mode);
  if (provider !== undefined) p.provider = provider;
  if (mode !== undefined) p.mode = mode;
  for (const k in e) {
    if (!k.startsWith('supports_') || typeof e[k] !== 'boolean') continue;
    p.supports ??= {};
    p.supports[k] = e[k] as boolean;
  }
  return p;
}

/** A whole map (LiteLLM's format: model name -> entry; other values such as `last_updated` are skipped). */
export function compilePriceMap(raw: unknown): PriceMap {
  return new PriceMap(entriesOfObject(raw));
}

function entriesOfObject(raw: unknown): RawEntries {
  const obj: Readonly<Record<string, unknown>> = isEntry(raw) ? raw : {};
  return { has: (n) => Object.hasOwn(obj, n), get: (n) => obj[n], names: () => Object.keys(obj) };
}

/**
 * The map from its JSON text. The build writes the bundled copy one model a line (`"name":{...},`, still plain
 * JSON): then only the names are read now, and an entry is parsed when its model is first looked up, instead of
 * parsing all ~2,600 entries (~680 KB) at every engine start. Any other layout is parsed whole.
 */
export function priceMapOfText(text: string): PriceMap {
  return new PriceMap(entriesOfLines(text) ?? entriesOfObject(JSON.parse(text)));
}

function entriesOfLines(text: string): RawEntries | undefined {
  if (!text.startsWith('{\n"')) return undefined;
  const at = new Map<string, [number, number]>();
  for (let i = 2; ; ) {
    const eol = text.indexOf('\n', i);
    if (eol < 0) return undefined;
    if (text.charCodeAt(i) === 0x7d /* } */) break;
    const q = text.indexOf('":', i);
    const end = text.charCodeAt(eol - 1) === 0x2c /* , */ ? eol - 1 : eol;
    // a name with an escape in it, or a line of another shape: not the layout the build writes
    if (text.charCodeAt(i) !== 0x22 || q < 0 || q > eol) return undefined;
    const name = text.slice(i + 1, q);
    if (name.includes('\\')) return undefined;
    at.set(name, [q + 2, end]);
    i = eol + 1;
  }
  return {
    has: (n) => at.has(n),
    get(n) {
      const r = at.get(n);
      return r && JSON.parse(text.slice(r[0], r[1]));
    },
    names: () => at.keys(),
  };
}

const BUNDLED = new URL('./prices.json', import.meta.url);
let bundled: Promise<PriceMap> | undefined;

/** The price table shipped with the product (read once per process, on first use; entries parsed as looked up). */
export function bundledPrices(): Promise<PriceMap> {
  return (bundled ??= readFile(BUNDLED, 'utf8').then(priceMapOfText));
}

export interface LoadPricesOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** told why the URL's map was not used (the bundled copy is used instead) */
  warn(message: string, fields: Record<string, unknown>): void;
  /** default 5000 */
  timeoutMs?: number;
}

/**
 * The price map for this engine: the one at LITELLM_MODEL_COST_MAP_URL when it is set (fetched once,
 * with a short timeout) unless LITELLM_LOCAL_MODEL_COST_MAP=True, else the bundled copy. A URL that
 * fails (network, status, not a map) falls back to the bundled copy with a warning.
 */
export async function loadPrices(opts: LoadPricesOptions): Promise<PriceMap> {
  const url = opts.env.LITELLM_MODEL_COST_MAP_URL;
  const local = /^(true|1|yes)$/i.test(opts.env.LITELLM_LOCAL_MODEL_COST_MAP ?? '');
  if (!url || local) return bundledPrices();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 5000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const map = compilePriceMap(await res.json());
    if (map.empty) throw new Error('no priced model in it');
    return map;
  } catch (e) {
    const why = e instanceof Error ? (e.name === 'TimeoutError' ? 'timed out' : e.message) : String(e);
    opts.warn('LITELLM_MODEL_COST_MAP_URL could not be used; using the bundled model price map', {
      url: redactUrl(url),
      error: why,
    });
    return bundledPrices();
  }
}

/** A URL without its credentials or query (which may carry a token). */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return '<invalid URL>';
  }
}
