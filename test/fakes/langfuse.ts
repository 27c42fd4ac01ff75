/**
 * A local fake Langfuse speaking its public ingestion API: `POST /api/public/ingestion` with HTTP basic
 * auth (public key : secret key; anything else gets 401 JSON, as Langfuse answers), `{"batch": [...]}`
 * answered 207 with a success per event. Records every accepted event; `mode` makes it fail or hang.
 */
import type http from 'node:http';
import { type RecordingFake, sendJson, startFake } from './fake-server.js';

export interface IngestedEvent {
  id: string;
  type: string;
  timestamp: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface FakeLangfuse extends RecordingFake {
  publicKey: string;
  secretKey: string;
  /** every event of every accepted batch, in order */
  events: IngestedEvent[];
  /** accepted batches (one per POST) */
  batches: IngestedEvent[][];
  /** 'ok' answers 207; 'fail' answers 500; 'hang' never answers */
  mode: 'ok' | 'fail' | 'hang';
  traces(): IngestedEvent[];
  generations(): IngestedEvent[];
  /** wait (up to 5 s) until `ok` holds */
  until(ok: () => boolean): Promise<void>;
}

export async function startFakeLangfuse(publicKey = 'pk-lf-test-0001', secretKey = 'sk-lf-test-secret-0001') {
  const events: IngestedEvent[] = [];
  const batches: IngestedEvent[][] = [];
  const hanging: http.ServerResponse[] = [];
  const expected = `Basic ${Buffer.from(`${publicKey}:${secretKey}`).toString('base64')}`;
  const fake = (await startFake((call, res) => {
    if (call.method !== 'POST' || call.path !== '/api/public/ingestion') {
      return sendJson(res, 404, { message: 'Not found' });
    }
    if (call.headers.authorization !== expected) {
      return sendJson(res, 401, {
        message: "Invalid credentials. Confirm that you've configured the correct host.",
        error: 'Unauthorized',
      });
    }
    if (f.mode === 'hang') {
      hanging.push(res);
      return;
    }
    if (f.mode === 'fail') return sendJson(res, 500, { message: 'Internal Server Error' });
    const batch = call.body?.batch;
    if (!Array.isArray(batch)) return sendJson(res, 400, { message: 'Invalid request data', errors: ['batch'] });
    batches.push(batch);
    events.push(...batch);
    sendJson(res, 207, { successes: batch.map((e: IngestedEvent) => ({ id: e.id, status: 201 })), errors: [] });
  })) as FakeLangfuse;
  const f = fake;
  const close = fake.close;
  return Object.assign(fake, {
    publicKey,
    secretKey,
    events,
    batches,
    mode: 'ok' as const,
    traces: () => events.filter((e) => e.type === 'trace-create'),
    generations: () => events.filter((e) => e.type === 'generation-create'),
    async until(ok: () => boolean) {
      const t0 = Date.now();
      while (!ok() && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    },
    close: async () => {
      for (const r of hanging) r.destroy();
      await close();
    },
  }) as FakeLangfuse;
}
