import { ANTHROPIC } from './anthropic/facts.js';
import { AZURE } from './azure/facts.js';
import { BEDROCK } from './bedrock/facts.js';
import { COHERE } from './cohere/facts.js';
import type { FolderFacts, ProviderFacts } from './facts.js';
import { GEMINI } from './gemini/facts.js';
import { HUGGINGFACE } from './huggingface/facts.js';
import { OLLAMA } from './ollama/facts.js';
import { OPENAI_COMPATIBLE } from './openai-compatible/facts.js';
import type { ProviderAdapter } from './types.js';
import { VERTEX } from './vertex/facts.js';

/** A provider folder: its facts (light, read at config load) and its adapter loader (imported on first use). */
interface Folder<F extends FolderFacts> {
  facts: F;
  load: (id: keyof F & string) => Promise<ProviderAdapter>;
}

function folder<F extends FolderFacts>(facts: F, load: Folder<F>['load']): Folder<F> {
  return { facts, load };
}

/**
 * Every provider the engine serves, one line per folder. Adapters are imported lazily so a config only
 * pays (at start-up, never per request) for the providers it uses.
 */
const FOLDERS = [
  folder(OPENAI_COMPATIBLE, async (id) => (await import('./openai-compatible/presets.js')).compatibleAdapter(id)),
  folder(OLLAMA, async (id) => (await import('./ollama/index.js')).ollamaAdapter(id)),
  folder(BEDROCK, async () => (await import('./bedrock/index.js')).bedrockAdapter),
  folder(AZURE, async (id) => (await import('./azure/index.js')).azureAdapterFor(id)),
  folder(VERTEX, async () => (await import('./vertex/index.js')).vertexAdapter),
  folder(ANTHROPIC, async () => (await import('./anthropic/index.js')).anthropicAdapter),
  folder(GEMINI, async () => (await import('./gemini/index.js')).geminiAdapter),
  folder(COHERE, async (id) => (await import('./cohere/index.js')).cohereAdapter(id)),
  folder(HUGGINGFACE, async () => (await import('./huggingface/index.js')).huggingfaceAdapter),
];

type IdsOf<T> = T extends Folder<infer F> ? keyof F & string : never;
/** A provider id the engine serves (a literal union, derived from the folders above). */
export type ProviderId = IdsOf<(typeof FOLDERS)[number]>;

const FACTS = new Map<ProviderId, ProviderFacts>();
const LOADERS = new Map<ProviderId, () => Promise<ProviderAdapter>>();
for (const f of FOLDERS as Folder<FolderFacts>[]) {
  for (const [id, facts] of Object.entries(f.facts)) {
    if (FACTS.has(id as ProviderId)) throw new Error(`provider id "${id}" is declared by two folders`);
    FACTS.set(id as ProviderId, facts);
    LOADERS.set(id as ProviderId, () => f.load(id));
  }
}

/** Every provider id the engine serves, in registry order. */
export const PROVIDER_IDS: readonly ProviderId[] = [...FACTS.keys()];

/** Whether a string names a provider the engine serves. */
export function isProviderId(p: string | undefined): p is ProviderId {
  return p !== undefined && FACTS.has(p as ProviderId);
}

/** The facts of a served provider. */
export function providerFacts(id: ProviderId): ProviderFacts {
  return FACTS.get(id)!;
}

/** The ids whose facts have a capability flag set, e.g. `providersWith('topK')`. */
export function providersWith(flag: 'topK'): ReadonlySet<string> {
  return new Set(PROVIDER_IDS.filter((id) => providerFacts(id)[flag] === true));
}

/** Every provider's own litellm_params keys (credentials, locations), registry order, no repeats. */
export function providerParamKeys(): string[] {
  return [...new Set(PROVIDER_IDS.flatMap((id) => providerFacts(id).params ?? []))];
}

const cache = new Map<ProviderId, Promise<ProviderAdapter>>();

/** The adapter for a provider id, or undefined when the engine does not serve that provider. */
export function loadAdapter(id: ProviderId): Promise<ProviderAdapter> | undefined {
  const load = LOADERS.get(id);
  if (!load) return undefined;
  let p = cache.get(id);
  if (!p) {
    p = load();
    cache.set(id, p);
  }
  return p;
}
