/**
 * Incremental AWS event-stream framing (`application/vnd.amazon.eventstream`): bytes in, whole
 * messages out. Each message starts with its total length (4 bytes, big-endian); the codec from
 * @smithy/eventstream-codec checks both CRCs and parses the headers. Only one partial message is
 * ever held.
 */
import { EventStreamCodec, type Message } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';

/** A decoded event: its headers as plain strings and its payload as text. */
export interface StreamEvent {
  messageType: string;
  eventType?: string;
  exceptionType?: string;
  errorCode?: string;
  errorMessage?: string;
  payload: string;
}

const MAX_MESSAGE = 16 * 1024 * 1024;

/** Splits an event stream into messages and decodes them. Throws on a corrupt frame. */
export class EventStreamDecoder {
  private readonly codec = new EventStreamCodec(toUtf8, fromUtf8);
  private buf: Uint8Array = new Uint8Array(0);

  /** Feed bytes; returns the events they completed. */
  push(bytes: Uint8Array): StreamEvent[] {
    this.buf = this.buf.length === 0 ? bytes : concat(this.buf, bytes);
    const out: StreamEvent[] = [];
    let off = 0;
    while (this.buf.length - off >= 4) {
      const view = new DataView(this.buf.buffer, this.buf.byteOffset + off, 4);
      const total = view.getUint32(0, false);
      if (total < 16 || total > MAX_MESSAGE) throw new Error(`event-stream frame with an impossible length ${total}`);
      if (this.buf.length - off < total) break;
      out.push(toEvent(this.codec.decode(this.buf.subarray(off, off + total))));
      off += total;
    }
    // keep only the partial frame (copied, so the network buffer can go)
    this.buf = off === 0 ? this.buf : this.buf.slice(off);
    return out;
  }

  /** Bytes of an incomplete frame left at the end (0 when the stream ended on a boundary). */
  get pending(): number {
    return this.buf.length;
  }
}

function header(m: Message, name: string): string | undefined {
  const h = m.headers[name];
  return h && h.type === 'string' ? h.value : undefined;
}

function toEvent(m: Message): StreamEvent {
  return {
    messageType: header(m, ':message-type') ?? 'event',
    eventType: header(m, ':event-type'),
    exceptionType: header(m, ':exception-type'),
    errorCode: header(m, ':error-code'),
    errorMessage: header(m, ':error-message'),
    payload: toUtf8(m.body),
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
