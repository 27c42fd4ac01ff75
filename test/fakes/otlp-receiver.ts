/**
 * A local fake OpenTelemetry collector speaking OTLP/HTTP: `POST /v1/traces`. JSON bodies
 * (`http/json`) are decoded into flat spans (attributes as plain values, resource attributes kept per
 * span); protobuf bodies (`http/protobuf`) are recorded raw. `mode` makes it fail.
 */
import { type RecordedCall, type RecordingFake, sendJson, startFake } from './fake-server.js';

export interface ReceivedSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  startMs: number;
  endMs: number;
  status: { code?: number; message?: string };
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
  /** the headers of the POST that carried it */
  headers: RecordedCall['headers'];
}

export interface FakeOtlpReceiver extends RecordingFake {
  spans: ReceivedSpan[];
  /** 'ok' answers 200 `{}`; 'fail' answers 500 */
  mode: 'ok' | 'fail';
  /** wait (up to 5 s) until `ok` holds */
  until(ok: () => boolean): Promise<void>;
}

type Any = any;

/** An OTLP AnyValue as a plain value (int64 arrive as strings in OTLP JSON). */
function plainOf(v: Any): unknown {
  if (v == null) return undefined;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('arrayValue' in v) return (v.arrayValue.values ?? []).map(plainOf);
  return undefined;
}

const attrs = (list: Any[] | undefined) => Object.fromEntries((list ?? []).map((a: Any) => [a.key, plainOf(a.value)]));

export async function startFakeOtlpReceiver(): Promise<FakeOtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const fake = (await startFake((call, res) => {
    if (call.method !== 'POST' || call.path !== '/v1/traces') return sendJson(res, 404, {});
    if (f.mode === 'fail') return sendJson(res, 500, {}); // not retryable in OTLP
    for (const rs of call.body?.resourceSpans ?? []) {
      const resource = attrs(rs.resource?.attributes);
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          spans.push({
            name: s.name,
            kind: s.kind,
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId || undefined,
            startMs: Number(BigInt(s.startTimeUnixNano) / 1_000_000n),
            endMs: Number(BigInt(s.endTimeUnixNano) / 1_000_000n),
            status: s.status ?? {},
            attributes: attrs(s.attributes),
            resource,
            headers: call.headers,
          });
        }
      }
    }
    sendJson(res, 200, {});
  })) as FakeOtlpReceiver;
  const f = fake;
  return Object.assign(fake, {
    spans,
    mode: 'ok' as const,
    async until(ok: () => boolean) {
      const t0 = Date.now();
      while (!ok() && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    },
  }) as FakeOtlpReceiver;
}
