import type { GatewayError } from '../errors.js';
import type { JsonObject } from '../wire.js';
import type { RouterSettings } from './settings.js';

/** One step of a fallback chain: a model group, and for client-side fallbacks given as objects, body overrides. */
export interface FallbackTarget {
  model: string;
  overrides?: JsonObject;
}

/** Read a request-body fallback list: `["b", "c"]`, `[{"model": "b", "messages": [...]}]` or `[{"a": ["b"]}]`. */
function fromBody(v: unknown, names: readonly string[]): FallbackTarget[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: FallbackTarget[] = [];
  for (const item of v) {
    if (typeof item === 'string') out.push({ model: item });
    else if (item && typeof item === 'object' && !Array.isArray(item)) {
      const o = item as JsonObject;
      if (typeof o.model === 'string') {
        const { model, ...rest } = o;
        out.push({ model: model as string, overrides: Object.keys(rest).length ? rest : undefined });
      } else {
        for (const n of names) {
          const t = o[n];
          if (Array.isArray(t)) for (const x of t) if (typeof x === 'string') out.push({ model: x });
        }
      }
    }
  }
  return out;
}

function fromConfig(m: Map<string, string[]>, names: readonly string[]): FallbackTarget[] | undefined {
  for (const n of names) {
    const t = m.get(n);
    if (t) return t.map((model) => ({ model }));
  }
  return undefined;
}

/**
 * The model groups to try, in order, after `names` (the requested name, then its group) failed with `err`:
 * context window errors go to `context_window_fallbacks`, content policy errors to
 * `content_policy_fallbacks`, other upstream failures to `fallbacks` (the request's, else the config's
 * entry for the group, else its `*` entry, else `default_fallbacks`). A bad request has no fallbacks:
 * it would fail the same way anywhere. `disable_fallbacks: true` in the body turns them all off.
 */
export function fallbackChain(
  s: RouterSettings,
  names: readonly string[],
  err: GatewayError,
  body: JsonObject,
): FallbackTarget[] {
  if (body.disable_fallbacks === true) return [];
  switch (err.errorClass) {
    case 'context_window':
      return fromBody(body.context_window_fallbacks, names) ?? fromConfig(s.contextWindowFallbacks, names) ?? [];
    case 'content_policy':
      return fromBody(body.content_policy_fallbacks, names) ?? fromConfig(s.contentPolicyFallbacks, names) ?? [];
    case 'bad_request':
    case 'too_large':
    case 'internal':
      return [];
    default:
      return (
        fromBody(body.fallbacks, names) ??
        fromConfig(s.fallbacks, names) ??
        fromConfig(s.fallbacks, ['*']) ??
        s.defaultFallbacks.map((model) => ({ model }))
      );
  }
}
