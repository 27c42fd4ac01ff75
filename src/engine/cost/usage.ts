/**
 * The `usage` object of a whole OpenAI-shape answer kept as raw bytes (passthrough), without parsing the
 * whole answer: OpenAI writes `usage` last, so the last `"usage"` key is found from the end and only its
 * object is parsed. Undefined when there is none or it cannot be read (the caller then parses the answer).
 */
const KEY = Buffer.from('"usage"');
const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export function rawUsage(raw: Buffer): Record<string, unknown> | undefined {
  const at = raw.lastIndexOf(KEY);
  if (at === -1) return undefined;
  let i = at + KEY.length;
  // `"usage"` then optional spaces, `:`, optional spaces, `{`
  while (i < raw.length && raw[i] !== OPEN) {
    const c = raw[i];
    if (c !== 0x3a && c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return undefined;
    i++;
  }
  const start = i;
  let depth = 0;
  let inString = false;
  for (; i < raw.length; i++) {
    const c = raw[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN) depth++;
    else if (c === CLOSE && --depth === 0) {
      try {
        const u = JSON.parse(raw.toString('utf8', start, i + 1)) as unknown;
        return u && typeof u === 'object' && !Array.isArray(u) ? (u as Record<string, unknown>) : undefined;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
