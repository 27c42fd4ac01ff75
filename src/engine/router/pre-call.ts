import type { Tiktoken } from 'js-tiktoken/lite';
import { contentText } from '../tokens.js';
import type { EndpointKind, JsonObject } from '../wire.js';

type EncodingName = 'o200k_base' | 'cl100k_base';
const loading = new Map<EncodingName, Promise<Tiktoken>>();

/**
 * The BPE tokenizer, loaded on first use only
 * (the ranks are megabytes: engines without pre-call checks never load them).
 */
function encoder(name: EncodingName): Promise<Tiktoken> {
  let p = loading.get(name);
  if (!p) {
    p = (async () => {
      const { Tiktoken } = await import('js-tiktoken/lite');
      const ranks =
        name === 'o200k_base'
          ? (await import('js-tiktoken/ranks/o200k_base')).default
          : (await import('js-tiktoken/ranks/cl100k_base')).default;
      return new Tiktoken(ranks);
    })();
    loading.set(name, p);
  }
  return p;
}

const ready = new Map<EncodingName, Tiktoken>();

/** The tokenizer if it is loaded; otherwise undefined, and it starts loading (for callers that never wait). */
export function loadedEncoder(name: EncodingName): Tiktoken | undefined {
  const enc = ready.get(name);
  if (enc) return enc;
  encoder(name).then((e) => ready.set(name, e), ignore);
  return undefined;
}

function ignore(): void {}

/**
 * Load the tokenizers `encodings` need before the engine listens: building one takes about a second of
 * CPU, which would otherwise stall every request in flight when the first pre-checked call arrives.
 */
export async function warmEncoders(encodings: Iterable<EncodingName>): Promise<void> {
  await Promise.all([...new Set(encodings)].map((e) => encoder(e)));
}

/**
 * Prompt tokens of a request as OpenAI counts them: for chat, 3 per message plus its role, content,
 * name and tool calls, plus 3 to prime the answer, plus the tool definitions; for completions and
 * embeddings, the prompt / input text.
 */
export async function countPromptTokens(kind: EndpointKind, body: JsonObject, encoding: EncodingName): Promise<number> {
  return countWith(await encoder(encoding), kind, body);
}

/** countPromptTokens with a tokenizer in hand. */
export function countWith(enc: Tiktoken, kind: EndpointKind, body: JsonObject): number {
  const n = (s: string) => (s === '' ? 0 : enc.encode(s, 'all').length);
  if (kind !== 'chat') {
    const p = kind === 'embedding' ? body.input : body.prompt;
    if (typeof p === 'string') return n(p);
    if (!Array.isArray(p)) return 0;
    let total = 0;
    for (const x of p) total += typeof x === 'string' ? n(x) : Array.isArray(x) ? x.length : 0;
    return total;
  }
  let total = 3;
  const messages = Array.isArray(body.messages) ? body.messages : [];
  for (const m of messages) {
    if (!m || typeof m !== 'object') continue;
    const msg = m as JsonObject;
    total += 3 + n(typeof msg.role === 'string' ? msg.role : '') + n(contentText(msg.content));
    if (typeof msg.name === 'string') total += 1 + n(msg.name);
    if (msg.tool_calls) total += n(JSON.stringify(msg.tool_calls));
  }
  if (body.tools) total += n(JSON.stringify(body.tools));
  return total;
}
