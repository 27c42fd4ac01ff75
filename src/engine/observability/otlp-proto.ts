/**
 * OTLP/HTTP protobuf for the OpenTelemetry sink: the `ExportTraceServiceRequest` encoding of its spans,
 * and an exporter that POSTs it. The SDK's serializer measures every message before writing it (two
 * passes over every string) and re-encodes each attribute key per span: per span it cost more than the
 * rest of the sink. Here a span is written in one pass (a nested message's length is patched in after
 * it, the rare long one shifted), keys are encoded once, strings by Buffer's native UTF-8 writer. The
 * bytes are the SDK serializer's own for the same spans (a test holds them equal).
 */
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { request } from 'undici';
import type { ByteBatches } from './byte-batches.js';

const LEN = 2; // wire type: length-delimited
const VARINT = 0;
const I64 = 1;
const I32 = 5;
const TWO_32 = 4294967296;
const INT64_MIN = -(2 ** 63);
const INT64_MAX = 2 ** 63;
// keys encoded once (field 1 of KeyValue, with its tag and length); client metadata keys vary: bounded
const keyCache = new Map<string, Buffer>();
const MAX_KEYS = 2000;

/** A growable buffer with protobuf writes; a nested message reserves one length byte and is patched after. */
class Writer {
  buf: Buffer;
  pos = 0;

  /** `size`: a first guess of the bytes needed (growing copies, and a big buffer is memory the GC counts) */
  constructor(size = 256) {
    this.buf = Buffer.allocUnsafe(size);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  /** A non-negative integer below 2^53. */
  varint(v: number): void {
    this.ensure(10);
    const b = this.buf;
    if (v < 0x80) {
      b[this.pos++] = v;
      return;
    }
    if (v < 0x80000000) {
      while (v >= 0x80) {
        b[this.pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      b[this.pos++] = v;
      return;
    }
    while (v >= 0x80) {
      b[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    b[this.pos++] = v;
  }

  /** An int64 as protobuf writes it (negatives as ten bytes of two's complement). */
  int64(v: number): void {
    if (v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
      this.varint(v);
      return;
    }
    let u = BigInt.asUintN(64, BigInt(v));
    this.ensure(10);
    while (u >= 0x80n) {
      this.buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
  }

  string(s: string): void {
    // short ASCII (most values) byte by byte: cheaper than a call into Buffer's native writer
    const len = s.length;
    if (len < 0x80) {
      this.ensure(len + 1);
      const b = this.buf;
      const start = this.pos;
      b[start] = len;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        b[start + 1 + i] = c;
      }
      if (i === len) {
        this.pos = start + 1 + len;
        return;
      }
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.varint(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, n, 'utf8');
  }

  /** Bytes from hex (trace and span ids). */
  hex(h: string): void {
    const n = h.length >> 1;
    this.varint(n);
    this.ensure(n);
    this.pos += this.buf.write(h, this.pos, n, 'hex');
  }

  raw(b: Buffer): void {
    const n = b.length;
    this.ensure(n);
    if (n < 64) {
      const out = this.buf;
      for (let i = 0; i < n; i++) out[this.pos + i] = b[i]!;
    } else b.copy(this.buf, this.pos);
    this.pos += n;
  }

  fixed32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }

  double(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** [seconds, nanoseconds] as fixed64 nanoseconds (exact: seconds are split so no product passes 2^53). */
  hrTime(t: readonly [number, number]): void {
    const [s, ns] = t;
    const low16 = (s & 0xffff) * 1e9;
    const high = Math.floor(s / 0x10000) * 1e9; // times 2^16
    const lo = (low16 % TWO_32) + (high % 0x10000) * 0x10000 + ns;
    const hi = Math.floor(low16 / TWO_32) + Math.floor(high / 0x10000) + Math.floor(lo / TWO_32);
    this.ensure(8);
    this.buf.writeUInt32LE(lo % TWO_32, this.pos);
    this.buf.writeUInt32LE(hi % TWO_32, this.pos + 4);
    this.pos += 8;
  }

  /** Start a length-delimited field: its tag, one reserved length byte; returns where the content starts. */
  open(field: number): number {
    this.tag(field, LEN);
    this.ensure(1);
    this.pos++;
    return this.pos;
  }

  /** Write the length of the field opened at `start`, moving its content when the length needs more bytes. */
  close(start: number): void {
    const len = this.pos - start;
    if (len < 0x80) {
      this.buf[start - 1] = len;
      return;
    }
    let extra = 0;
    for (let v = len; v >= 0x80; v = Math.floor(v / 0x80)) extra++;
    this.ensure(extra);
    this.buf.copyWithin(start + extra, start, this.pos);
    this.pos += extra;
    let at = start - 1;
    let v = len;
    while (v >= 0x80) {
      this.buf[at++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[at] = v;
  }
}

function keyBytes(key: string): Buffer {
  let b = keyCache.get(key);
  if (b === undefined) {
    const n = Buffer.byteLength(key, 'utf8');
    const w = new Writer();
    w.tag(1, LEN);
    w.varint(n);
    w.ensure(n);
    w.pos += w.buf.write(key, w.pos, n, 'utf8');
    b = Buffer.from(w.buf.subarray(0, w.pos));
    if (keyCache.size < MAX_KEYS) keyCache.set(key, b);
  }
  return b;
}

/** An AnyValue's fields (the SDK's choices: integers in int64 range as int_value, other numbers as double). */
function anyValue(w: Writer, v: AttributeValue | null | undefined): void {
  if (typeof v === 'string') {
    w.tag(1, LEN);
    w.string(v);
  } else if (typeof v === 'boolean') {
    w.tag(2, VARINT);
    w.varint(v ? 1 : 0);
  } else if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= INT64_MIN && v < INT64_MAX) {
      w.tag(3, VARINT);
      w.int64(v);
    } else {
      w.tag(4, I64);
      w.double(v);
    }
  } else if (Array.isArray(v)) {
    const arr = w.open(5);
    for (const item of v) {
      const at = w.open(1);
      anyValue(w, item);
      w.close(at);
    }
    w.close(arr);
  }
}

function attributes(w: Writer, attrs: Attributes, field: number): void {
  for (const k in attrs) if (Object.hasOwn(attrs, k)) keyValue(w, field, k, attrs[k]);
}

/** One KeyValue (an attribute) as field `field`. */
function keyValue(w: Writer, field: number, k: string, v: AttributeValue | undefined): void {
  const kv = w.open(field);
  w.raw(keyBytes(k));
  const val = w.open(2);
  anyValue(w, v);
  w.close(val);
  w.close(kv);
}

/** Attributes given one by one to `put` (instead of a span's attributes object). */
export type AttributeSource = (put: (key: string, value: AttributeValue) => void) => void;

// the writer and put function of the span being queued with an AttributeSource (one at a time, synchronously)
let putTo: Writer | undefined;
const putAttribute = (k: string, v: AttributeValue): void => keyValue(putTo!, 9, k, v);

function span(w: Writer, s: ReadableSpan, source?: AttributeSource): void {
  const at = w.open(2);
  const ctx = s.spanContext();
  w.tag(1, LEN);
  w.hex(ctx.traceId);
  w.tag(2, LEN);
  w.hex(ctx.spanId);
  const parent = s.parentSpanContext;
  if (parent?.spanId) {
    w.tag(4, LEN);
    w.hex(parent.spanId);
  }
  w.tag(5, LEN);
  w.string(s.name);
  const kind = s.kind == null ? 0 : s.kind + 1;
  if (kind !== 0) {
    w.tag(6, VARINT);
    w.varint(kind);
  }
  w.tag(7, I64);
  w.hrTime(s.startTime);
  w.tag(8, I64);
  w.hrTime(s.endTime);
  if (source === undefined) attributes(w, s.attributes, 9);
  else {
    putTo = w;
    source(putAttribute);
    putTo = undefined;
  }
  w.tag(10, VARINT);
  w.varint(s.droppedAttributesCount);
  // the sink's spans have no events or links; their dropped counts are written all the same, as the SDK does
  w.tag(12, VARINT);
  w.varint(s.droppedEventsCount);
  w.tag(14, VARINT);
  w.varint(s.droppedLinksCount);
  const st = w.open(15);
  if (s.status.message) {
    w.tag(2, LEN);
    w.string(s.status.message);
  }
  w.tag(3, VARINT);
  w.varint(s.status.code);
  w.close(st);
  w.tag(16, I32);
  w.fixed32((ctx.traceFlags & 0xff) | 0x100 | (parent?.isRemote ? 0x200 : 0));
  w.close(at);
}

// one scratch writer for single spans (the result is copied out: small copies come from Buffer's pool)
const scratch = new Writer(4096);

/**
 * One span as its bytes inside ScopeSpans (field 2: tag, length, Span), to queue instead of the span: the
 * garbage collector then sees one small buffer per queued span, not an object graph.
 */
export function encodeSpan(s: ReadableSpan): Buffer {
  scratch.pos = 0;
  span(scratch, s);
  return Buffer.from(scratch.buf.subarray(0, scratch.pos));
}

/**
 * Queue one span's bytes (encodeSpan's, without the copy) in a sink's byte batches, its attributes from
 * `source` when given (written as they come) rather than `s.attributes`; true when a batch filled.
 */
export function queueSpan(q: ByteBatches, s: ReadableSpan, source?: AttributeSource): boolean {
  scratch.pos = 0;
  span(scratch, s, source);
  return q.pushBytes(scratch.buf, 0, scratch.pos);
}

/** The shared head of a request: its resource and scope, written around the encoded spans. */
export interface SpanSource {
  readonly resource: { readonly attributes: Attributes };
  readonly instrumentationScope: { readonly name: string; readonly version?: string };
}

/** The OTLP `ExportTraceServiceRequest` of encoded spans (encodeSpan) that share `head`'s resource and scope. */
export function encodeRequest(head: SpanSource, parts: readonly Buffer[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const w = new Writer(1024 + size);
  const rs = w.open(1);
  const res = w.open(1);
  attributes(w, head.resource.attributes, 1);
  w.tag(2, VARINT);
  w.varint(0);
  w.close(res);
  const ss = w.open(2);
  const scope = head.instrumentationScope;
  const sc = w.open(1);
  w.tag(1, LEN);
  w.string(scope.name);
  if (scope.version) {
    w.tag(2, LEN);
    w.string(scope.version);
  }
  w.close(sc);
  for (const p of parts) w.raw(p);
  w.close(ss);
  w.close(rs);
  return new Uint8Array(w.buf.buffer, w.buf.byteOffset, w.pos);
}

/**
 * The OTLP `ExportTraceServiceRequest` of spans that share one resource and one scope (the sink's own):
 * the bytes the SDK's ProtobufTraceSerializer writes for them.
 */
export function encodeTraceRequest(spans: readonly ReadableSpan[]): Uint8Array {
  if (spans.length === 0) return new Uint8Array(0);
  return encodeRequest(spans[0]!, spans.map(encodeSpan));
}

const RETRYABLE = new Set([429, 502, 503, 504]);

/**
 * A SpanExporter for OTLP/HTTP protobuf: one POST per batch (`content-type: application/x-protobuf`, the
 * configured headers), a retryable answer (429, 502, 503, 504) or a transport error retried once after
 * 250 ms; anything else than 2xx fails the batch. `shutdown()` aborts a POST in flight.
 */
export class OtlpProtoExporter implements SpanExporter {
  private readonly abort = new AbortController();

  constructor(
    private readonly url: string,
    private readonly headers: Record<string, string>,
    private readonly timeoutMs: number,
  ) {}

  export(spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    this.send(encodeTraceRequest(spans), done);
  }

  /** Export spans already encoded (encodeSpan), under `head`'s resource and scope. */
  exportEncoded(head: SpanSource, parts: readonly Buffer[], done: (r: ExportResult) => void): void {
    this.send(encodeRequest(head, parts), done);
  }

  private send(body: Uint8Array, done: (r: ExportResult) => void): void {
    this.post(body)
      .then((err) => (err?.retry ? delay(250).then(() => this.post(body)) : err))
      .then((err) =>
        done(
          err === undefined ? { code: ExportResultCode.SUCCESS } : { code: ExportResultCode.FAILED, error: err.error },
        ),
      );
  }

  shutdown(): Promise<void> {
    this.abort.abort();
    return Promise.resolve();
  }

  /** One POST: undefined when the collector took it. */
  private async post(body: Uint8Array): Promise<{ error: Error; retry: boolean } | undefined> {
    if (this.abort.signal.aborted) return { error: new Error('exporter shut down'), retry: false };
    try {
      const res = await request(this.url, {
        method: 'POST',
        headers: { ...this.headers, 'content-type': 'application/x-protobuf' },
        body,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: this.abort.signal,
      });
      await res.body.dump();
      if (res.statusCode >= 200 && res.statusCode < 300) return undefined;
      return { error: new Error(`HTTP ${res.statusCode}`), retry: RETRYABLE.has(res.statusCode) };
    } catch (e) {
      return { error: e instanceof Error ? e : new Error(String(e)), retry: !this.abort.signal.aborted };
    }
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());
