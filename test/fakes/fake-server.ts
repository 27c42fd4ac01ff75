/**
 * The one helper every fake server builds on: listening on 127.0.0.1 (a free port), recording each
 * request with its body, counting and destroying connections on close, and writing JSON or SSE
 * answers. A provider fake for the contract suite only supplies `answer(call, script, res)`.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ContractFake, Script } from '../contract/harness.js';

/** One request a fake received. `body` is the parsed JSON (undefined when not JSON). */
export interface RecordedCall {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  raw: string;
}

export interface Listening {
  url: string;
  port: number;
  /** connections currently open to the fake */
  openSockets(): number;
  /** destroy every connection and stop listening */
  close(): Promise<void>;
}

/** Listen on 127.0.0.1 and a free port, keeping track of the connections. */
export async function listenLoopback(server: http.Server): Promise<Listening> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    openSockets: () => sockets.size,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A handler that gets each request once its body has arrived. */
export type FakeHandler = (
  call: RecordedCall,
  res: http.ServerResponse,
  req: http.IncomingMessage,
) => void | Promise<void>;

/** A fake started by `startFake`: every request it received, in order. */
export interface RecordingFake extends Listening {
  calls: RecordedCall[];
}

/** Start a fake that records every request (in `calls`, and in `log` when given) before `handle` answers it. */
export async function startFake(handle: FakeHandler, log?: RecordedCall[]): Promise<RecordingFake> {
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
      log?.push(call);
      Promise.resolve(handle(call, res, req)).catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`fake failed: ${String(e)}`);
      });
    });
  });
  return { ...(await listenLoopback(server)), calls };
}

/** A loopback URL nothing listens on (a server is opened and closed to find a free port). */
export async function refusedUrl(): Promise<string> {
  const server = http.createServer();
  const { url } = await listenLoopback(server);
  await new Promise<void>((r) => server.close(() => r()));
  return url;
}

/** Write a JSON answer with a content-length. */
export function sendJson(
  res: http.ServerResponse,
  status: number,
  value: unknown,
  headers: http.OutgoingHttpHeaders = {},
) {
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  const length = String(Buffer.byteLength(s));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': length, ...headers });
  res.end(s);
}

/** Write an SSE stream, one write per event: `event: <name>\ndata: <json>\n\n` (name omitted when undefined). */
export async function sendSse(res: http.ServerResponse, events: [string | undefined, unknown][], tail = '') {
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

/** What a contract fake writes for a script (its provider's wire format); not called for `hang`. */
export type Answer = (call: RecordedCall, script: Script, res: http.ServerResponse) => void | Promise<void>;

/** Start a scripted fake for the contract suite: it answers the last `script()`, and never answers a `hang`. */
export async function startScriptedFake(answer: Answer): Promise<ContractFake> {
  let current: Script = { type: 'text', text: 'ok', usage: { input: 1, output: 1 } };
  const fake = await startFake((call, res) => (current.type === 'hang' ? undefined : answer(call, current, res)));
  return {
    url: fake.url,
    calls: fake.calls,
    script: (s) => {
      current = s;
    },
    close: fake.close,
  };
}
