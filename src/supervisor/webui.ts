/**
 * The worker's web page: one small page per running queue, on 127.0.0.1 (`--webui-port`, default automatic;
 * `--no-webui` turns it off), opened by a per-run token in the URL `worker start` prints. It shows the queue's
 * state (pids, uptime, restarts, last exits), the proxy (URL, served and default models), the package, the
 * usage so far, and the worker's and the proxy's logs live, all over one server-sent-events stream.
 * The token is traded for an HttpOnly, SameSite=Strict cookie at once (the address bar drops it); the Host
 * header must name the loopback address (a DNS-rebinding page cannot reach it).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PidInfo } from './pid-file.js';
import type { EngineUsage } from './usage.js';

export interface WorkerPageOptions {
  /** 0: a free port */
  port: number;
  /** the run's state (read at each update) */
  info: () => PidInfo;
  /** the models the proxy serves and the worker's default */
  servedModels?: readonly string[];
  defaultModel?: string;
  /** what the engine counted so far (undefined: not known) */
  usage: () => Promise<EngineUsage | undefined>;
}

const COOKIE = 'kubiya_worker';
const TAIL_LINES = 100;
const TICK_MS = 500;
const STATUS_EVERY_MS = 2000;
const HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; " +
    "form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export function newPageToken(): string {
  return randomBytes(24).toString('base64url');
}

export class WorkerPage {
  private server?: http.Server;
  private readonly streams = new Set<() => void>();
  private readonly token: Buffer;
  private port = 0;

  constructor(
    private readonly opts: WorkerPageOptions,
    token: string,
  ) {
    this.token = Buffer.from(token);
  }

  /** Listen; resolves to the page's URL with its token (to print, never to log). */
  async start(): Promise<string> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: this.opts.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as AddressInfo).port;
    return `${this.url}?token=${this.token.toString()}`;
  }

  /** The page's address without its token (for the pid file and `worker status`). */
  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  async close(): Promise<void> {
    for (const end of this.streams) end();
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const host = req.headers.host ?? '';
      if (host !== `127.0.0.1:${this.port}` && host !== `localhost:${this.port}`)
        return this.send(res, 421, 'text/plain', 'This page answers on 127.0.0.1 only.\n');
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const given = url.searchParams.get('token');
      if (given !== null) {
        if (!this.valid(given))
          return this.send(res, 401, 'text/plain', 'Wrong token: use the URL worker start printed.\n');
        // the token becomes a cookie and leaves the address bar (and the browser history)
        res.writeHead(303, {
          ...HEADERS,
          location: '/',
          'set-cookie': `${COOKIE}=${given}; Path=/; HttpOnly; SameSite=Strict`,
        });
        res.end();
        return;
      }
      if (!this.valid(cookieOf(req.headers.cookie)))
        return this.send(
          res,
          401,
          'text/plain',
          "Open the URL `kubiya worker start` printed (it carries this run's token), or see " +
            '~/.kubiya/workers/<queue-id>/webui.url.\n',
        );
      if (req.method !== 'GET') return this.send(res, 405, 'text/plain', 'GET only.\n');
      switch (url.pathname) {
        case '/':
          return this.send(res, 200, 'text/html; charset=utf-8', PAGE_HTML);
        case '/app.js':
          return this.send(res, 200, 'text/javascript; charset=utf-8', PAGE_JS);
        case '/app.css':
          return this.send(res, 200, 'text/css; charset=utf-8', PAGE_CSS);
        case '/api/status':
          return this.send(res, 200, 'application/json', JSON.stringify(await this.status()));
        case '/api/events':
          return this.events(req, res);
        default:
          return this.send(res, 404, 'text/plain', 'Not found.\n');
      }
    } catch (e) {
      if (!res.headersSent) this.send(res, 500, 'text/plain', `${(e as Error).message}\n`);
      else res.end();
    }
  }

  private valid(t: string | undefined): boolean {
    if (!t) return false;
    const b = Buffer.from(t);
    return b.length === this.token.length && timingSafeEqual(b, this.token);
  }

  private send(res: http.ServerResponse, status: number, type: string, body: string): void {
    res.writeHead(status, { ...HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  private async status(): Promise<Record<string, unknown>> {
    const info = this.opts.info();
    const up = Math.max(0, Math.round((Date.now() - Date.parse(info.started_at)) / 1000));
    return {
      queue_id: info.queue_id,
      mode: info.mode,
      started_at: info.started_at,
      uptime_s: up,
      supervisor_pid: info.supervisor_pid,
      worker: {
        pid: info.worker.pid,
        state: info.worker.state,
        restarts: info.worker.restarts,
        last_exit: info.worker.last_exit,
        command: info.worker.command,
        // --type docker: the container in place of a pid
        container: info.worker.container
          ? `${info.worker.container.id.slice(0, 12)} (${info.worker.container.image})`
          : undefined,
      },
      proxy: info.engine
        ? {
            pid: info.engine.pid,
            url: info.engine.url,
            state: info.engine.state,
            restarts: info.engine.restarts,
            last_exit: info.engine.last_exit,
            note: info.engine.note,
          }
        : { url: info.gateway_url ?? null, state: 'gateway' },
      served_models: this.opts.servedModels ?? [],
      default_model: this.opts.defaultModel ?? null,
      package_version: info.package_version ?? null,
      usage: (await this.opts.usage().catch(() => undefined)) ?? null,
    };
  }

  /**
   * GET /api/events: `status` now and every 2 s, and `log` events ({source, line}) for the last lines of the
   * worker's and the proxy's logs, then each new line (a rotated log is followed into its new file).
   */
  private events(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.writeHead(200, { ...HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
    const info = this.opts.info();
    const tails = [
      new Tail('worker', info.logs.worker),
      ...(info.logs.proxy ? [new Tail('proxy', info.logs.proxy)] : []),
    ];
    const write = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const sendStatus = () => void this.status().then((s) => !res.writableEnded && write('status', s));
    for (const t of tails) for (const line of t.start(TAIL_LINES)) write('log', { source: t.source, line });
    sendStatus();
    let last = Date.now();
    const timer = setInterval(() => {
      for (const t of tails) for (const line of t.read()) write('log', { source: t.source, line });
      if (Date.now() - last >= STATUS_EVERY_MS) {
        last = Date.now();
        sendStatus();
      }
    }, TICK_MS);
    const end = () => {
      clearInterval(timer);
      this.streams.delete(end);
      if (!res.writableEnded) res.end();
    };
    this.streams.add(end);
    req.once('close', end);
  }
}

/** Follows one log file: its last lines, then what is appended (from the start again when it was rotated). */
class Tail {
  private pos = 0;
  private rest = '';

  constructor(
    readonly source: 'worker' | 'proxy',
    private readonly file: string,
  ) {}

  start(lines: number): string[] {
    let text = '';
    try {
      const size = fs.statSync(this.file).size;
      const from = Math.max(0, size - 64 * 1024);
      text = this.readRange(from, size);
      this.pos = size;
    } catch {
      this.pos = 0;
    }
    const all = text.split('\n');
    if (all.at(-1) === '') all.pop();
    return all.slice(-lines);
  }

  read(): string[] {
    let size: number;
    try {
      size = fs.statSync(this.file).size;
    } catch {
      return [];
    }
    if (size < this.pos) this.pos = 0; // rotated: the file started again
    if (size === this.pos) return [];
    const text = this.rest + this.readRange(this.pos, size);
    this.pos = size;
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    return lines;
  }

  private readRange(from: number, to: number): string {
    const fd = fs.openSync(this.file, 'r');
    try {
      const buf = Buffer.alloc(to - from);
      fs.readSync(fd, buf, 0, buf.length, from);
      return buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  }
}

function cookieOf(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>kubiya worker</title>
<link rel="stylesheet" href="/app.css"><script src="/app.js" defer></script>
</head>
<body>
<header><h1>kubiya worker <span id="queue"></span></h1><span id="live" role="status">connecting…</span></header>
<main>
<section class="cards">
<div class="card"><h2>Worker</h2><dl id="worker"></dl></div>
<div class="card"><h2>Proxy</h2><dl id="proxy"></dl></div>
<div class="card"><h2>Usage</h2><dl id="usage"></dl></div>
</section>
<section class="logs">
<div class="log"><h2>Worker log</h2>
<pre id="log-worker" tabindex="0" aria-label="Worker log" aria-live="off"></pre></div>
<div class="log"><h2>Proxy log</h2>
<pre id="log-proxy" tabindex="0" aria-label="Proxy log" aria-live="off"></pre></div>
</section>
</main>
</body>
</html>
`;

const PAGE_JS = `'use strict';
const $ = (id) => document.getElementById(id);
function dl(el, rows) {
  el.replaceChildren();
  for (const [k, v] of rows) {
    const dt = document.createElement('dt'); dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v === null || v === undefined || v === '' ? '–' : String(v);
    el.append(dt, dd);
  }
}
function uptime(s) {
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return (h ? h + 'h ' : '') + (h || m ? m + 'm ' : '') + (s % 60) + 's';
}
function show(s) {
  $('queue').textContent = s.queue_id;
  document.title = 'kubiya worker ' + s.queue_id;
  const where = s.worker.container ? ['container', s.worker.container] : ['pid', s.worker.pid];
  dl($('worker'), [['state', s.worker.state], where, ['supervisor pid', s.supervisor_pid],
    ['uptime', uptime(s.uptime_s)], ['restarts', s.worker.restarts], ['last exit', s.worker.last_exit],
    ['package', s.package_version], ['mode', s.mode]]);
  dl($('proxy'), [['state', s.proxy.state], ['url', s.proxy.url], ['pid', s.proxy.pid], ['restarts', s.proxy.restarts],
    ['default model', s.default_model], ['models', (s.served_models || []).join(', ')], ['note', s.proxy.note]]);
  const u = s.usage;
  dl($('usage'), u ? [['requests', u.requests], ['failed', u.failures], ['input tokens', u.input_tokens],
    ['output tokens', u.output_tokens], ['cost', '$' + Number(u.cost_usd || 0).toFixed(4)],
    ['unpriced', u.unpriced_requests]] : [['usage', 'not known yet']]);
}
const MAX = 2000;
function append(source, line) {
  const pre = $('log-' + source);
  if (!pre) return;
  const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  pre.append(line + '\\n');
  while (pre.childNodes.length > MAX) pre.firstChild.remove();
  if (atEnd) pre.scrollTop = pre.scrollHeight;
}
const es = new EventSource('/api/events');
es.onopen = () => { $('live').textContent = '● live'; $('live').className = 'on'; };
es.onerror = () => { $('live').textContent = '○ reconnecting'; $('live').className = ''; };
es.addEventListener('status', (e) => show(JSON.parse(e.data)));
es.addEventListener('log', (e) => { const d = JSON.parse(e.data); append(d.source, d.line); });
`;

const PAGE_CSS = `:root { font: 15px/1.45 system-ui, sans-serif; color: #1c2330; background: #f6f7f9; }
body { margin: 0; }
header { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: .5rem;
  padding: .6rem 1rem; background: #1c2330; color: #fff; }
header h1 { font-size: 1.1rem; margin: 0; }
#live.on { color: #7ee2a8; }
main { padding: 1rem; max-width: 1400px; margin: 0 auto; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 300px), 1fr)); gap: 1rem; }
.card, .log { background: #fff; border: 1px solid #dde1e8; border-radius: 10px; padding: .8rem 1rem; }
h2 { font-size: 1rem; margin: 0 0 .5rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem .8rem; margin: 0; }
dt { color: #5b6577; }
dd { margin: 0; word-break: break-word; }
.logs { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 560px), 1fr)); gap: 1rem;
  margin-top: 1rem; }
pre { height: 24rem; overflow: auto; margin: 0; font-size: .8rem; white-space: pre-wrap; word-break: break-all;
  background: #0f141c; color: #d7dde8; padding: .6rem; border-radius: 6px; }
:focus-visible { outline: 3px solid #f5a524; outline-offset: 2px; }
`;
