import { GatewayError, toGatewayError } from '../errors.js';
import type { JsonObject, OpenAIChunk } from '../wire.js';

/** Called once when a started stream ends: with what broke it, if anything, and the usage it reported. */
export type StreamEnd = (err: GatewayError | undefined, usage: JsonObject | undefined) => void;

/**
 * Wait for a stream's first decoded chunks before anything is sent to the client: until then a
 * stream that breaks, or sends nothing within `firstTokenMs` (stream_timeout), is a failed attempt
 * (`abort` cancels the upstream; the caller retries or falls back). Resolves with the stream to
 * write (first chunks included); `onEnd` hears once how it ended. `configuredMs` (the stream_timeout as
 * configured, when `firstTokenMs` is what is left of it) is what the timeout error names.
 */
export async function firstChunks(
  chunks: AsyncIterable<OpenAIChunk[]>, firstTokenMs: number, abort: () => void, label: string, onEnd: StreamEnd, configuredMs = firstTokenMs,
): Promise<AsyncIterable<OpenAIChunk[]>> {
  const it = chunks[Symbol.asyncIterator]();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort();
  }, Math.max(1, firstTokenMs));
  let first: IteratorResult<OpenAIChunk[]>;
  try {
    first = await it.next();
    // a role-only opening chunk (OpenAI's `{role, content: ""}`, Anthropic's message_start) is no token
    // yet: hold it until one comes, so a stream that breaks right after it still falls back
    while (!first.done && first.value.every(isPreamble)) {
      const next = await it.next();
      if (next.done) break;
      first = { done: false, value: first.value.concat(next.value) };
    }
  } catch (e) {
    if (!timedOut) throw e;
    throw new GatewayError(504, { message: `${label} sent no first token within the stream timeout (${configuredMs / 1000}s)`, code: 'timeout', errorClass: 'timeout', provider: label });
  } finally {
    clearTimeout(timer);
  }
  return tracked(first.done ? undefined : first.value, it, onEnd);
}

/** A chunk with nothing for the client yet: choices whose delta is only a role and/or empty content, no finish_reason, no usage. */
function isPreamble(c: OpenAIChunk): boolean {
  const choices = c.choices;
  if (c.usage || !Array.isArray(choices) || choices.length === 0) return false;
  for (const ch of choices as JsonObject[]) {
    if (ch.finish_reason != null || (typeof ch.text === 'string' && ch.text !== '')) return false;
    const d = ch.delta as JsonObject | undefined;
    if (d) for (const k in d) if (k !== 'role' && !(k === 'content' && (d.content === '' || d.content == null))) return false;
  }
  return true;
}

/** The stream with its first batch in front, reporting its end (a plain iterator: no extra generator hop per batch). */
function tracked(first: OpenAIChunk[] | undefined, it: AsyncIterator<OpenAIChunk[]>, onEnd: StreamEnd): AsyncIterable<OpenAIChunk[]> {
  let pending = first;
  let usage: JsonObject | undefined;
  let ended = false;
  const finish = (err?: GatewayError) => {
    if (ended) return;
    ended = true;
    onEnd(err, usage);
  };
  const see = (batch: OpenAIChunk[]) => {
    const u = batch[batch.length - 1]?.usage;
    if (u && typeof u === 'object') usage = u as JsonObject;
  };
  if (!first) finish();
  const iterator: AsyncIterator<OpenAIChunk[]> = {
    async next() {
      if (pending !== undefined) {
        const value = pending;
        pending = undefined;
        see(value);
        return { value, done: false };
      }
      if (ended) return { value: undefined, done: true };
      try {
        const r = await it.next();
        if (r.done) finish();
        else see(r.value);
        return r;
      } catch (e) {
        finish(toGatewayError(e));
        throw e;
      }
    },
    async return(v?: unknown) {
      finish();
      return it.return ? it.return(v as undefined) : { value: undefined, done: true };
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}
