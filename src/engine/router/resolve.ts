import type { ModelGroup } from '../deployment.js';
import { GatewayError } from '../errors.js';
import type { RouteTable } from './table.js';

/** A requested model name resolved to its group; `captures` fill the `*` of wildcard deployments. */
export interface Resolved {
  group: ModelGroup;
  captures?: string[];
}

/** Exact model_name, then model_group_alias, then wildcard patterns (most specific first). */
export function resolveModel(table: RouteTable, name: string): Resolved | undefined {
  const g = table.groups.get(name);
  if (g) return { group: g };
  const alias = table.aliases.get(name);
  if (alias) return resolveModel(table, alias.target);
  for (const w of table.wildcards) {
    const m = w.regex.exec(name);
    if (m) return { group: w.group, captures: m.slice(1) };
  }
  // a bare name through a provider wildcard: `gpt-4` with only `openai/*` configured (LiteLLM infers the
  // provider from its model map the same way)
  if (table.wildcards.length > 0 && !name.includes('/')) {
    const provider = table.providerOf?.(name);
    // the map's provider names are LiteLLM's prefixes, or a variant of one (vertex_ai-language-models, cohere_chat)
    for (const p of provider ? new Set([provider, provider.split('-')[0], provider.replace(/_chat$/, '')]) : []) {
      const full = `${p}/${name}`;
      for (const w of table.wildcards) {
        const m = w.regex.exec(full);
        if (m) return { group: w.group, captures: m.slice(1) };
      }
    }
  }
  return undefined;
}

/** The upstream model for a deployment model template and the captured parts of the requested name. */
export function substitute(template: string, captures: string[] | undefined): string {
  if (!captures || !template.includes('*')) return template;
  let i = 0;
  return template.replace(/\*/g, () => captures[Math.min(i++, captures.length - 1)] ?? '');
}

/** 400 naming the models that do exist. */
export function unknownModel(table: RouteTable, name: string): GatewayError {
  const names = [
    ...table.groups.keys(),
    ...[...table.aliases].filter(([, a]) => !a.hidden).map(([k]) => k),
    ...table.wildcards.map((w) => w.pattern),
  ];
  const shown = names.slice(0, 30).join(', ') + (names.length > 30 ? `, ... (${names.length - 30} more)` : '');
  return new GatewayError(400, {
    message:
      `Invalid model name passed in model=${name}. ` +
      `Available models: ${shown || '(none configured)'}. Call /v1/models to list them.`,
    param: 'model',
    code: 'model_not_found',
    errorClass: 'bad_request',
  });
}
