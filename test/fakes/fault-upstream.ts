/**
 * A small OpenAI-compatible fake for router tests: each request takes the next fault from a script
 * (then the default behaviour), and every call lands in a shared log with the fake's name and time,
 * so a test can assert which upstreams were called, in which order, how often and when.
 */
import type http from 'node:http';
import { startFake } from './fake-server.js';

export type RouterFault =
  | { kind: 'ok' }
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: unknown }
  | { kind: 'hang' }
  | { kind: 'reset' }
  /** stream `after` chunks, then destroy the connection (after: 0 cuts before the first byte) */
  | { kind: 'cut-stream'; after: number }
  | { kind: 'context-window' }
  | { kind: 'content-policy' }
  /** wait before answering (headers included) */
  | { kind: 'delay'; ms: number }
  /** send the stream's headers, then wait before the first chunk */
  | { kind: 'slow-first-token'; ms: number };

export interface Call {
  upstream: string;
  at: number;
  stream: boolean;
  model: unknown;
}

export interface FaultUpstream {
  name: string;
  url: string;
  /** api_base for a config */
  base: string;
  calls: Call[];
  /** faults for the next requests, in order; `fallback` afterwards (default: ok) */
  script(faults: RouterFault[], fallback?: RouterFault): void;
  close(): Promise<void>;
}

const POLICY_BODY = {
  error: {
    message: 'Your request was rejected as a result of our safety system.',
    type: 'invalid_request_error',
    code: 'content_policy_violation',
  },
};
const WINDOW_BODY = {
  error: {
    message: "This model's maximum context length is 8192 tokens.",
    type: 'invalid_request_error',
    code: 'context_length_exceeded',
  },
};

/** Start a named fake on 127.0.0.1; `log` is shared between fakes to see the order across them. */
export async function startFaultUpstream(name: string, log: Call[] = []): Promise<FaultUpstream> {
  let queue: RouterFault[] = [];
  let fallback: RouterFault = { kind: 'ok' };
  const calls: Call[] = [];
  const fake = await startFake((rec, res, req) => {
    const body = (rec.body ?? {}) as Record<string, unknown>; // health checks and the like send no JSON
    const call = { upstream: name, at: Date.now(), stream: body.stream === true, model: body.model };
    calls.push(call);
    log.push(call);
    return answer(queue.length ? queue.shift()! : fallback, body, req, res);
  });

  async function answer(
    f: RouterFault,
    body: Record<string, unknown>,
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ) {
    if (f.kind === 'delay') await new Promise((r) => setTimeout(r, f.ms));
    if (f.kind === 'hang') return;
    if (f.kind === 'reset') return void req.socket.destroy();
    if (f.kind === 'status' || f.kind === 'context-window' || f.kind === 'content-policy') {
      const status = f.kind === 'status' ? f.status : 400;
      const out =
        f.kind === 'status'
          ? (f.body ?? { error: { message: `${name} fails with ${status}`, type: 'fake', code: null } })
          : f.kind === 'context-window'
            ? WINDOW_BODY
            : POLICY_BODY;
      res.writeHead(status, { 'content-type': 'application/json', ...(f.kind === 'status' ? f.headers : {}) });
      return void res.end(JSON.stringify(out));
    }
    const text = `${name} says hi`;
    const created = Math.floor(Date.now() / 1000);
    if (body.stream !== true) {
      const s = JSON.stringify({
        id: `chatcmpl-${name}`,
        object: 'chat.completion',
        created,
        model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 },
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s) });
      return void res.end(s);
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
      id: `chatcmpl-${name}`,
      object: 'chat.completion.chunk',
      created,
      model: body.model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    const events = [
      chunk({ role: 'assistant', content: '' }),
      ...text.split(' ').map((w, i) => chunk({ content: (i ? ' ' : '') + w })),
      chunk({}, 'stop'),
    ];
    if (f.kind === 'cut-stream' && f.after === 0) {
      res.flushHeaders();
      await new Promise((r) => setTimeout(r, 20));
      return void req.socket.destroy();
    }
    if (f.kind === 'slow-first-token') {
      res.flushHeaders();
      await new Promise((r) => setTimeout(r, f.ms));
      if (res.destroyed) return;
    }
    for (let i = 0; i < events.length; i++) {
      if (f.kind === 'cut-stream' && i === f.after) {
        await new Promise((r) => setTimeout(r, 20)); // let the first chunks reach the engine
        return void req.socket.destroy();
      }
      res.write(`data: ${JSON.stringify(events[i])}\n\n`);
    }
    res.end('data: [DONE]\n\n');
  }

  return {
    name,
    url: fake.url,
    base: `${fake.url}/v1`,
    calls,
    script(faults, fb = { kind: 'ok' }) {
      queue = [...faults];
      fallback = fb;
    },
    close: fake.close,
  };
}
