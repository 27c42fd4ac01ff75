import type { GatewayError } from '../errors.js';
import type { JsonObject, OpenAIChunk, StreamDecoder } from '../wire.js';
import type { Exchange } from './client.js';

/** What a stream tells the attempt that owns it. */
export interface StreamOwner {
  /** The error a read failure becomes (the owner knows its deadlines). */
  errorOf(e: unknown): GatewayError;
  /** The stream ended: with what broke it, or `abandoned` when the reader stopped first; with the usage it reported. */
  ended(err: GatewayError | undefined, abandoned: boolean, usage: JsonObject | undefined): void;
}

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };

/**
 * The decoded stream of one attempt, read chunk by chunk from the upstream exchange (or a mock's
 * batches). `start()` is the first-token gate; after it, the reader gets the held chunks first, and
 * the owner hears exactly once how the stream ended: when it runs out, breaks, or is returned early.
 * One object per stream: it is its own iterator (no generator hop per batch).
 */
export class AttemptStream implements AsyncIterable<OpenAIChunk[]>, AsyncIterator<OpenAIChunk[]> {
  private pending?: OpenAIChunk[];
  private usage?: JsonObject;
  /** the upstream body is still being read */
  private reading: boolean;
  private ended = false;
  private readonly source?: AsyncGenerator<Buffer[]>;

  constructor(
    private readonly owner: StreamOwner,
    ex: Exchange | undefined,
    private readonly decoder?: StreamDecoder,
    batch?: OpenAIChunk[],
  ) {
    this.source = ex?.chunks();
    this.reading = ex !== undefined;
    if (batch !== undefined) this.hold(batch);
  }

  [Symbol.asyncIterator](): AsyncIterator<OpenAIChunk[]> {
    return this;
  }

  /**
   * Read until the first chunk with content for the client (or the end), holding what came. Failures
   * reject (the owner settles them): nothing has reached the client yet, so the router may try again.
   */
  async start(): Promise<void> {
    let first = await this.read();
    // a role-only opening chunk (OpenAI's `{role, content: ""}`, Anthropic's message_start) is no token
    // yet: hold it until one comes, so a stream that breaks right after it still fails over
    while (first?.every(isPreamble)) {
      const next = await this.read();
      if (next === undefined) break;
      first = first.concat(next);
    }
    if (first !== undefined) this.hold(first);
  }

  async next(): Promise<IteratorResult<OpenAIChunk[]>> {
    const held = this.pending;
    if (held !== undefined) {
      this.pending = undefined;
      return { value: held, done: false };
    }
    let batch: OpenAIChunk[] | undefined;
    try {
      batch = await this.read();
    } catch (e) {
      this.reading = false;
      const err = this.owner.errorOf(e);
      this.end(err, false);
      throw err;
    }
    if (batch === undefined) {
      this.end(undefined, false);
      return DONE;
    }
    this.see(batch);
    return { value: batch, done: false };
  }

  /** The reader stopped early (the client left): stop the upstream read, settle as abandoned. */
  async return(): Promise<IteratorResult<OpenAIChunk[]>> {
    const abandoned = this.reading || this.pending !== undefined;
    this.reading = false;
    this.pending = undefined;
    this.end(undefined, abandoned);
    return DONE;
  }

  /** The next decoded batch; undefined at the end (a decoder's closing chunks come as one last batch). */
  private async read(): Promise<OpenAIChunk[] | undefined> {
    while (this.reading) {
      const r = await this.source!.next();
      if (r.done) {
        this.reading = false;
        const last = this.decoder!.end();
        return last.length > 0 ? last : undefined;
      }
      let out: OpenAIChunk[] | undefined;
      for (const buf of r.value) for (const c of this.decoder!.push(buf)) (out ??= []).push(c);
      if (out !== undefined) return out;
    }
    return undefined;
  }

  private hold(batch: OpenAIChunk[]): void {
    this.pending = batch;
    this.see(batch);
  }

  /** Keep the usage a batch ends with (a usage chunk comes last). */
  private see(batch: OpenAIChunk[]): void {
    const u = batch[batch.length - 1]?.usage;
    if (u && typeof u === 'object') this.usage = u as JsonObject;
  }

  private end(err: GatewayError | undefined, abandoned: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.owner.ended(err, abandoned, this.usage);
  }
}

/** A chunk with nothing for the client yet: choices whose delta is only a role and/or empty content. */
function isPreamble(c: OpenAIChunk): boolean {
  const choices = c.choices;
  if (c.usage || !Array.isArray(choices) || choices.length === 0) return false;
  for (const ch of choices as JsonObject[]) {
    if (ch.finish_reason != null || (typeof ch.text === 'string' && ch.text !== '')) return false;
    const d = ch.delta as JsonObject | undefined;
    if (!d) continue;
    for (const k in d) if (k !== 'role' && !(k === 'content' && (d.content === '' || d.content == null))) return false;
  }
  return true;
}
