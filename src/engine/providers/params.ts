import { badRequest } from '../errors.js';

/** Small readers for `litellm_params` values that every adapter needs at load time. */

/** A non-blank string, trimmed; anything else is undefined (so `??` chains fall through to defaults). */
export function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

/** A headers-like mapping with lower-cased names and string values (`extra_headers`, `headers`). */
export function lowerKeys(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) if (x != null) out[k.toLowerCase()] = String(x);
  return out;
}

/** An assistant message's `tool_calls[].function.arguments` (a JSON string) as an object; bad JSON is a 400. */
export function toolArguments(args: unknown, messageIndex: number): unknown {
  if (typeof args !== 'string') return args ?? {};
  try {
    return JSON.parse(args || '{}');
  } catch {
    throw badRequest(`messages[${messageIndex}].tool_calls: function.arguments is not valid JSON`, 'messages');
  }
}
