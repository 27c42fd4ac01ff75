/**
 * A fake Docker Engine API on a unix socket in a temp directory (DOCKER_HOST=unix://<dir>/docker.sock), for
 * `worker start --type docker` without a Docker engine. It speaks the documented endpoints and their wire
 * format, with or without a version prefix (/v1.43/...):
 *
 *   GET /_ping, GET /version, POST /images/create?fromImage=&tag= (a JSON-lines progress stream),
 *   POST /containers/create?name= (201 {Id, Warnings}), POST /containers/{id}/attach, POST .../start (204),
 *   POST .../wait (200 {StatusCode}), GET .../logs?follow=1&stdout=1&stderr=1, POST .../kill?signal=,
 *   DELETE /containers/{id}?force=1, GET /containers/{id}/json, GET /containers/json?all=1&filters=,
 *   GET /networks/bridge; errors as the engine sends them ({"message": "No such image: ..."}, 404/409).
 *
 * Attach and logs answer in the multiplexed framing (Tty false): an 8-byte header [stream type 1 stdout /
 * 2 stderr, 0, 0, 0, payload size as a big-endian uint32] before each payload.
 *
 * A container "runs" as a real local process: its Cmd (else the image's) with its Env (after the image's, which
 * sets PATH). There is no network namespace, so what ExtraHosts gives a container (an /etc/hosts line) is
 * emulated by rewriting the host name in its Env's URLs to the mapped address (host-gateway: the bridge gateway):
 * the worker then really reaches what listens at that address. Every request is recorded in `calls`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** One request the fake received (path without the version prefix). */
export interface DockerCall {
  method: string;
  path: string;
  query: Record<string, string>;
  body: any;
}

export interface FakeImage {
  /** the image's own command (used when the container gives no Cmd) */
  cmd?: string[];
}

export interface FakeDockerOptions {
  /** images the "registry" has, by repository:tag; a pull of any other is refused as Docker Hub refuses it */
  registry?: Record<string, FakeImage>;
  /** images already on the engine (no pull needed) */
  local?: Record<string, FakeImage>;
  /** the default bridge's gateway (a loopback address here: 127.0.0.2, so "not 127.0.0.1" is visible) */
  gateway?: string;
  /** a pull that fails part-way: this message arrives as an error line in the progress stream */
  pullStreamError?: string;
}

interface Container {
  id: string;
  name: string;
  config: any;
  image: FakeImage;
  status: 'created' | 'running' | 'exited';
  proc?: ChildProcess;
  exitCode?: number;
  startedAt?: string;
  finishedAt?: string;
  /** every frame it wrote, for /logs */
  frames: Buffer[];
  /** open attach / follow-logs answers */
  streams: Set<http.ServerResponse>;
  waiters: ((code: number) => void)[];
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGUSR1: 10 };

/** One frame of the multiplexed stream. */
export function frame(stream: 1 | 2, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

export class FakeDockerEngine {
  readonly dir: string;
  readonly socketPath: string;
  readonly calls: DockerCall[] = [];
  readonly gateway: string;
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly containers = new Map<string, Container>();
  private readonly images = new Map<string, FakeImage>();

  constructor(private readonly opts: FakeDockerOptions = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubiya-fake-docker-'));
    this.socketPath = path.join(this.dir, 'docker.sock');
    this.gateway = opts.gateway ?? '127.0.0.2';
    for (const [ref, img] of Object.entries(opts.local ?? {})) this.images.set(ref, img);
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, res, Buffer.concat(chunks).toString('utf8')));
    });
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  /** DOCKER_HOST for the CLI under test. */
  get dockerHost(): string {
    return `unix://${this.socketPath}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(this.socketPath, r));
    return this;
  }

  /** The calls to `method` on paths matching `re`. */
  called(method: string, re: RegExp): DockerCall[] {
    return this.calls.filter((c) => c.method === method && re.test(c.path));
  }

  /** Containers that exist (created, running or exited, not removed). */
  existing(): { id: string; name: string; status: string }[] {
    return [...this.containers.values()].map((c) => ({ id: c.id, name: c.name, status: c.status }));
  }

  /** Kill every container process still running, stop listening; returns the ids that were still running. */
  async close(): Promise<string[]> {
    const left = [...this.containers.values()].filter((c) => c.status === 'running');
    for (const c of left) this.signal(c, 'SIGKILL');
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
    fs.rmSync(this.dir, { recursive: true, force: true });
    return left.map((c) => c.id);
  }

  private json(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Api-Version': '1.43' });
    res.end(`${text}\n`);
  }

  private find(ref: string): Container | undefined {
    const direct = this.containers.get(ref);
    if (direct) return direct;
    const all = [...this.containers.values()];
    return all.find((c) => c.name === ref.replace(/^\//, '')) ?? all.find((c) => c.id.startsWith(ref));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, raw: string): void {
    const url = new URL(req.url ?? '/', 'http://docker');
    const p = url.pathname.replace(/^\/v\d+\.\d+(?=\/)/, '');
    const query = Object.fromEntries(url.searchParams);
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    const method = req.method ?? 'GET';
    this.calls.push({ method, path: p, query, body });
    const m = /^\/containers\/([^/]+)(?:\/(\w+))?$/.exec(p);
    if (method === 'GET' && p === '/_ping') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Api-Version': '1.43', OSType: 'linux' });
      return void res.end('OK');
    }
    if (method === 'GET' && p === '/version')
      return this.json(res, 200, {
        Version: '24.0.7',
        ApiVersion: '1.43',
        MinAPIVersion: '1.12',
        Os: 'linux',
        Arch: 'amd64',
        KernelVersion: os.release(),
      });
    if (method === 'POST' && p === '/images/create') return this.pull(res, query);
    if (method === 'GET' && p === '/networks/bridge')
      return this.json(res, 200, {
        Name: 'bridge',
        Id: 'f'.repeat(64),
        Driver: 'bridge',
        IPAM: { Driver: 'default', Config: [{ Subnet: '172.17.0.0/16', Gateway: this.gateway }] },
      });
    if (method === 'POST' && p === '/containers/create') return this.create(res, query, body);
    if (method === 'GET' && p === '/containers/json') return this.list(res, query);
    if (!m) return this.json(res, 404, { message: `page not found` });
    const c = this.find(decodeURIComponent(m[1]));
    if (!c) return this.json(res, 404, { message: `No such container: ${m[1]}` });
    const action = m[2];
    if (method === 'DELETE' && !action) {
      if (c.status === 'running' && query.force !== '1' && query.force !== 'true')
        return this.json(res, 409, {
          message:
            `You cannot remove a running container ${c.id}. ` +
            'Stop the container before attempting removal or force remove',
        });
      if (c.status === 'running') this.signal(c, 'SIGKILL');
      this.containers.delete(c.id);
      res.writeHead(204);
      return void res.end();
    }
    if (method === 'GET' && action === 'json') return this.inspect(res, c);
    if (method === 'POST' && action === 'start') return this.startContainer(res, c);
    if (method === 'POST' && action === 'attach') return this.stream(res, c, false, query.logs === '1');
    if (method === 'GET' && action === 'logs') return this.stream(res, c, query.follow === '1', true);
    if (method === 'POST' && action === 'wait') {
      const answer = (code: number) => this.json(res, 200, { StatusCode: code, Error: null });
      if (c.status === 'exited') return answer(c.exitCode ?? 0);
      return void c.waiters.push(answer);
    }
    if (method === 'POST' && action === 'kill') {
      if (c.status !== 'running')
        return this.json(res, 409, { message: `Cannot kill container: ${m[1]}: Container ${c.id} is not running` });
      this.signal(c, query.signal || 'SIGKILL');
      res.writeHead(204);
      return void res.end();
    }
    this.json(res, 404, { message: 'page not found' });
  }

  private pull(res: http.ServerResponse, q: Record<string, string>): void {
    const ref = `${q.fromImage}:${q.tag || 'latest'}`;
    const img = this.opts.registry?.[ref];
    if (!img)
      return this.json(res, 404, {
        message:
          `pull access denied for ${q.fromImage}, repository does not exist or may require 'docker login': ` +
          'denied: requested access to the resource is denied',
      });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    const layer = randomBytes(6).toString('hex');
    const lines: unknown[] = [
      { status: `Pulling from ${q.fromImage}`, id: q.tag || 'latest' },
      { status: 'Pulling fs layer', progressDetail: {}, id: layer },
      { status: 'Downloading', progressDetail: { current: 512, total: 1024 }, progress: '[=====>    ]', id: layer },
      { status: 'Download complete', progressDetail: {}, id: layer },
      { status: 'Pull complete', progressDetail: {}, id: layer },
    ];
    if (this.opts.pullStreamError)
      lines.push({ errorDetail: { message: this.opts.pullStreamError }, error: this.opts.pullStreamError });
    else {
      lines.push({ status: `Digest: sha256:${randomBytes(32).toString('hex')}` });
      lines.push({ status: `Status: Downloaded newer image for ${ref}` });
      this.images.set(ref, img);
    }
    for (const l of lines) res.write(`${JSON.stringify(l)}\r\n`);
    res.end();
  }

  private create(res: http.ServerResponse, q: Record<string, string>, body: any): void {
    const img = this.images.get(body?.Image);
    if (!img) return this.json(res, 404, { message: `No such image: ${body?.Image}` });
    const name = q.name ?? randomBytes(6).toString('hex');
    const taken = [...this.containers.values()].find((c) => c.name === name);
    if (taken)
      return this.json(res, 409, {
        message:
          `Conflict. The container name "/${name}" is already in use by container "${taken.id}". ` +
          'You have to remove (or rename) that container to be able to reuse that name.',
      });
    const id = randomBytes(32).toString('hex');
    this.containers.set(id, {
      id,
      name,
      config: body,
      image: img,
      status: 'created',
      frames: [],
      streams: new Set(),
      waiters: [],
    });
    this.json(res, 201, { Id: id, Warnings: [] });
  }

  private list(res: http.ServerResponse, q: Record<string, string>): void {
    const filters = q.filters ? (JSON.parse(q.filters) as { label?: string[] }) : {};
    const all = q.all === '1' || q.all === 'true';
    const found = [...this.containers.values()].filter(
      (c) =>
        (all || c.status === 'running') &&
        (filters.label ?? []).every((l) => {
          const [k, v] = l.split(/=(.*)/s);
          return v === undefined ? k in (c.config.Labels ?? {}) : c.config.Labels?.[k] === v;
        }),
    );
    this.json(
      res,
      200,
      found.map((c) => ({
        Id: c.id,
        Names: [`/${c.name}`],
        Image: c.config.Image,
        Labels: c.config.Labels ?? {},
        State: c.status,
        Status: c.status === 'running' ? 'Up' : `Exited (${c.exitCode ?? 0})`,
      })),
    );
  }

  private inspect(res: http.ServerResponse, c: Container): void {
    this.json(res, 200, {
      Id: c.id,
      Name: `/${c.name}`,
      State: {
        Status: c.status,
        Running: c.status === 'running',
        Pid: c.proc?.pid ?? 0,
        ExitCode: c.exitCode ?? 0,
        StartedAt: c.startedAt ?? '0001-01-01T00:00:00Z',
        FinishedAt: c.finishedAt ?? '0001-01-01T00:00:00Z',
      },
      Config: { Image: c.config.Image, Cmd: c.config.Cmd ?? c.image.cmd, Env: c.config.Env, Labels: c.config.Labels },
      HostConfig: c.config.HostConfig ?? {},
    });
  }

  /** What a container's /etc/hosts would resolve: ExtraHosts "name:address" (host-gateway: the bridge's gateway). */
  private resolveHosts(c: Container, value: string): string {
    let out = value;
    for (const entry of (c.config.HostConfig?.ExtraHosts ?? []) as string[]) {
      const at = entry.indexOf(':');
      const host = entry.slice(0, at);
      const addr = entry.slice(at + 1) === 'host-gateway' ? this.gateway : entry.slice(at + 1);
      const escaped = host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      out = out.replace(new RegExp(`(?<=://)${escaped}(?=[:/]|$)`, 'g'), addr);
    }
    return out;
  }

  private startContainer(res: http.ServerResponse, c: Container): void {
    if (c.status === 'running') {
      res.writeHead(304);
      return void res.end();
    }
    const cmd: string[] = c.config.Cmd ?? c.image.cmd ?? [];
    if (cmd.length === 0) return this.json(res, 400, { message: 'no command specified' });
    // the image's Env first (PATH), then the container's, as the engine merges them
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    for (const kv of (c.config.Env ?? []) as string[]) {
      const i = kv.indexOf('=');
      env[kv.slice(0, i)] = this.resolveHosts(c, kv.slice(i + 1));
    }
    const proc = spawn(cmd[0], cmd.slice(1), { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    c.proc = proc;
    c.status = 'running';
    c.startedAt = new Date().toISOString();
    const emit = (stream: 1 | 2) => (d: Buffer) => {
      const f = frame(stream, d);
      c.frames.push(f);
      for (const s of c.streams) s.write(f);
    };
    proc.stdout!.on('data', emit(1));
    proc.stderr!.on('data', emit(2));
    const finish = (code: number) => {
      if (c.status === 'exited') return;
      c.status = 'exited';
      c.exitCode = code;
      c.finishedAt = new Date().toISOString();
      for (const s of c.streams) s.end();
      c.streams.clear();
      for (const w of c.waiters.splice(0)) w(code);
    };
    proc.on('error', (e) => {
      emit(2)(Buffer.from(`exec: ${e.message}\n`));
      finish(127);
    });
    proc.on('close', (code, signal) => finish(code ?? 128 + (SIGNALS[signal ?? ''] ?? 1)));
    res.writeHead(204);
    res.end();
  }

  /** attach (live frames from now, or all with logs=1) and logs (all frames; live too with follow=1). */
  private stream(res: http.ServerResponse, c: Container, follow: boolean, past: boolean): void {
    res.writeHead(200, { 'Content-Type': 'application/vnd.docker.multiplexed-stream' });
    res.flushHeaders(); // the engine answers at once; the frames follow as the container writes
    if (past) for (const f of c.frames) res.write(f);
    const attach = !past || follow;
    if (!attach || c.status === 'exited') return void res.end();
    c.streams.add(res);
    res.on('close', () => c.streams.delete(res));
  }

  private signal(c: Container, sig: string): void {
    const signal = /^\d+$/.test(sig) ? Number(sig) : ((sig.startsWith('SIG') ? sig : `SIG${sig}`) as NodeJS.Signals);
    try {
      if (c.proc?.pid) process.kill(-c.proc.pid, signal);
    } catch {
      /* gone */
    }
  }
}

/** Start a fake engine; `close()` it when done (it says which containers were still running). */
export async function startFakeDocker(opts: FakeDockerOptions = {}): Promise<FakeDockerEngine> {
  return new FakeDockerEngine(opts).start();
}
