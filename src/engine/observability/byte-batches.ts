/**
 * A sink's queue as bytes: items (a Langfuse event's JSON, an OTLP span's protobuf) are written, when queued,
 * into batch-sized buffers outside the JavaScript heap, each batch ready to POST as it is. Queued as strings or
 * small buffers, the items of a batch outlived a scavenge or two while it filled and was sent: the garbage
 * collector copied them, then promoted them (under load, more of its time than the sink's own work); bytes off
 * the heap are never traced or copied, a batch needs no join, and its buffer is reused.
 */

/** One batch: its bytes (head, items joined by the separator, tail) and how many items it holds. */
export interface ByteBatch {
  readonly bytes: Buffer;
  readonly count: number;
  /** the whole buffer the bytes are in (reused once the batch is released) */
  readonly buffer: Buffer;
}

export interface ByteBatchesOptions {
  /** items per batch at most */
  maxItems: number;
  /** bytes per batch at most (head and tail included), unless one item alone is bigger */
  maxBytes: number;
  /** written before the first item, between two items, after the last (e.g. `{"batch":[`, `,`, `]}`) */
  head?: string;
  separator?: string;
  tail?: string;
}

interface Open {
  buf: Buffer;
  pos: number;
  count: number;
}

// a batch's first buffer; it doubles as items come, up to maxBytes
const FIRST_BYTES = 64 * 1024;
// buffers kept for reuse: no more, and none bigger (a rare huge batch's memory goes back)
const SPARE_BUFFERS = 2;
const SPARE_MAX_BYTES = 1024 * 1024;

export class ByteBatches {
  private readonly ready: ByteBatch[] = [];
  private open: Open | undefined;
  private readonly spare: Buffer[] = [];
  private readonly head: Buffer;
  private readonly separator: Buffer;
  private readonly tail: Buffer;
  /** items queued, in every batch (ready or still filling) */
  count = 0;

  constructor(private readonly o: ByteBatchesOptions) {
    this.head = Buffer.from(o.head ?? '');
    this.separator = Buffer.from(o.separator ?? '');
    this.tail = Buffer.from(o.tail ?? '');
  }

  /** Queue a string as UTF-8; true when this made a batch ready (full, or closed as the item did not fit). */
  pushString(s: string): boolean {
    const ready = this.ready.length;
    const n = Buffer.byteLength(s, 'utf8');
    const b = this.room(n);
    b.pos += b.buf.write(s, b.pos, n, 'utf8');
    this.added(b);
    return this.ready.length > ready;
  }

  /** Queue bytes (`src` from `start` to `end`, copied); true when this made a batch ready. */
  pushBytes(src: Buffer, start: number, end: number): boolean {
    const ready = this.ready.length;
    const b = this.room(end - start);
    b.pos += src.copy(b.buf, b.pos, start, end);
    this.added(b);
    return this.ready.length > ready;
  }

  /** Make the batch still filling ready to send as it is (items queued later start a new one). */
  seal(): void {
    if (this.open !== undefined && this.open.count > 0) this.close();
  }

  /** The oldest batch ready to send (full, or sealed); undefined when none. */
  take(): ByteBatch | undefined {
    const batch = this.ready.shift();
    if (batch !== undefined) this.count -= batch.count;
    return batch;
  }

  /** Hand a sent batch's buffer back for reuse (only once nothing can still be reading its bytes). */
  release(batch: ByteBatch): void {
    const buf = batch.buffer;
    if (this.spare.length < SPARE_BUFFERS && buf.length <= SPARE_MAX_BYTES) this.spare.push(buf);
  }

  /** Forget every queued item; returns how many there were. */
  clear(): number {
    const n = this.count;
    this.ready.length = 0;
    this.open = undefined;
    this.count = 0;
    return n;
  }

  /** The open batch with room for `n` more bytes (and the separator and tail): grown, or a new one. */
  private room(n: number): Open {
    let b = this.open;
    const extra = (b !== undefined && b.count > 0 ? this.separator.length : 0) + n + this.tail.length;
    if (b !== undefined && b.count > 0 && b.pos + extra > this.o.maxBytes) {
      this.close();
      b = undefined;
    }
    if (b === undefined) {
      const need = this.head.length + n + this.tail.length;
      const spare = this.spare.length > 0 && this.spare[this.spare.length - 1]!.length >= need;
      const buf = spare ? this.spare.pop()! : Buffer.allocUnsafeSlow(Math.max(FIRST_BYTES, need));
      b = this.open = { buf, pos: this.head.copy(buf, 0), count: 0 };
    } else if (b.pos + extra > b.buf.length) {
      const need = b.pos + extra;
      const bigger = Buffer.allocUnsafeSlow(Math.max(Math.min(b.buf.length * 2, this.o.maxBytes), need));
      b.buf.copy(bigger, 0, 0, b.pos);
      b.buf = bigger;
    }
    if (b.count > 0) b.pos += this.separator.copy(b.buf, b.pos);
    return b;
  }

  private added(b: Open): void {
    b.count++;
    this.count++;
    if (b.count >= this.o.maxItems) this.close();
  }

  private close(): void {
    const b = this.open!;
    this.open = undefined;
    b.pos += this.tail.copy(b.buf, b.pos);
    this.ready.push({ bytes: b.buf.subarray(0, b.pos), count: b.count, buffer: b.buf });
  }
}
