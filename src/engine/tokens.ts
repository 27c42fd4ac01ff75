/**
 * Cheap token estimates for when no upstream counts them (mock responses, upstreams that omit usage).
 * A BPE tokenizer would cost start-up time and memory; this rule of thumb (a word or punctuation mark
 * is a token, long words one per ~4 characters) lands within ~15% of cl100k on English text.
 */
const PIECE = /[A-Za-z]+|\d{1,3}|[^\sA-Za-z\d]/g;

/** Estimated tokens in a piece of text. */
export function estimateTokens(text: string): number {
  let n = 0;
  for (const m of text.matchAll(PIECE)) {
    const len = m[0].length;
    n += len > 6 ? Math.ceil(len / 4) : 1;
  }
  return n;
}

/** Text of a message `content` (string or list of parts). */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    let s = '';
    for (const p of content)
      if (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string')
        s += `${(p as { text: string }).text} `;
    return s;
  }
  return content == null ? '' : JSON.stringify(content);
}

/** Estimated prompt tokens of a chat request, counted the way OpenAI bills them (per-message overhead). */
export function estimateChatPromptTokens(body: Record<string, unknown>): number {
  let n = 3;
  const messages = Array.isArray(body.messages) ? body.messages : [];
  for (const m of messages) {
    if (!m || typeof m !== 'object') continue;
    const msg = m as Record<string, unknown>;
    n += 3 + estimateTokens(contentText(msg.content));
    if (typeof msg.name === 'string') n += 1;
    if (msg.tool_calls) n += estimateTokens(JSON.stringify(msg.tool_calls));
  }
  if (body.tools) n += estimateTokens(JSON.stringify(body.tools));
  return n;
}

/** Estimated prompt tokens of a completions / embeddings `prompt` or `input`. */
export function estimatePromptTokens(prompt: unknown): number {
  if (typeof prompt === 'string') return estimateTokens(prompt);
  if (Array.isArray(prompt)) {
    let n = 0;
    for (const p of prompt) n += typeof p === 'string' ? estimateTokens(p) : Array.isArray(p) ? p.length : 1;
    return n;
  }
  return 0;
}

/** Usage in OpenAI shape from two counts. */
export function usageOf(
  prompt: number,
  completion: number,
): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}
