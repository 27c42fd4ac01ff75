/**
 * The plumbing every contract fake shares: an http server on 127.0.0.1 that records each request,
 * holds the current script, never answers a `hang`, and destroys its sockets on close. A provider
 * fake only supplies `answer(call, script, res)` that writes its wire format.
 */
import http from 'node:http';
import { listenLoopback } from '../fakes/fake-server.js';
import type { ContractFake, RecordedCall, Script } from './harness.js';

export type Answer = (call: RecordedCall, script: Script, res: http.ServerResponse) => void | Promise<void>;

/** Start a scripted fake; `answer` is not called for `hang` scripts. */
export async function startScriptedFake(answer: Answer): Promise<ContractFake> {
  let current: Script = { type: 'text', text: 'ok', usage: { input: 1, output: 1 } };
  const calls: RecordedCall[] = [];
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (b: Buffer) => parts.push(b));
    req.on('end', () => {
      const raw = Buffer.concat(parts).toString('utf8');
      let body: unknown;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        body = undefined;
      }
      const call: RecordedCall = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body, raw };
      calls.push(call);
      if (current.type === 'hang') return;
      Promise.resolve(answer(call, current, res)).catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`fake failed: ${String(e)}`);
      });
    });
  });
  const listening = await listenLoopback(server);
  return {
    url: listening.url,
    calls,
    script: (s) => {
      current = s;
    },
    close: listening.close,
  };
}

/** Write a JSON answer with a content-length. */
export function sendJson(res: http.ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(s)), ...headers });
  res.end(s);
}

/** Write an SSE stream, one write per event: `event: <name>\ndata: <json>\n\n` (name omitted when undefined). */
export async function sendSse(res: http.ServerResponse, events: [string | undefined, unknown][], tail = ''): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const [name, data] of events) {
    if (res.destroyed) return;
    res.write(`${name ? `event: ${name}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
    // let each event leave as its own network chunk so decoders see real partial framing
    await new Promise((r) => setImmediate(r));
  }
  res.end(tail);
}

/** Split text into word pieces that keep their leading space: "a b" -> ["a", " b"]. */
export function pieces(text: string): string[] {
  return text.split(' ').map((w, i) => (i ? ` ${w}` : w));
}

/** Split a JSON string into two pieces (tool-call arguments streamed in parts). */
export function halves(s: string): string[] {
  const mid = Math.max(1, Math.floor(s.length / 2));
  return [s.slice(0, mid), s.slice(mid)];
}
