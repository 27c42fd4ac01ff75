/**
 * The Docker Engine API over its socket (unix, or tcp with optional TLS), with node:http: where the engine is
 * (DOCKER_HOST), the few calls a worker's container needs, errors that say how to fix them, the image pull
 * (a JSON-lines progress stream), the multiplexed output stream, and the bridge network's gateway.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { UserError } from '../../errors.js';

/** The Docker engine's default socket when DOCKER_HOST is not set. */
export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/** How to reach the Docker engine, and the DOCKER_HOST form to show and record. */
export interface DockerEndpoint {
  where: string;
  socketPath?: string;
  tcp?: { host: string; port: number; tls?: { ca: Buffer; cert: Buffer; key: Buffer } };
}

/**
 * DOCKER_HOST as the docker CLI reads it: `unix:///path/docker.sock` (the default: /var/run/docker.sock) or
 * `tcp://host:port` (TLS with DOCKER_TLS_VERIFY set: ca.pem, cert.pem and key.pem from DOCKER_CERT_PATH, else
 * ~/.docker). Anything else is refused (exit 2) with the forms it accepts.
 */
export function dockerEndpoint(env: NodeJS.ProcessEnv): DockerEndpoint {
  const raw = env.DOCKER_HOST?.trim() || DEFAULT_DOCKER_HOST;
  if (raw.startsWith('unix://')) {
    const socketPath = raw.slice('unix://'.length);
    if (!socketPath.startsWith('/'))
      throw new UserError(`DOCKER_HOST=${raw}: the socket path must be absolute (unix:///var/run/docker.sock)`);
    return { where: raw, socketPath };
  }
  const tcp = /^tcp:\/\/(\[[0-9a-fA-F:]+\]|[^:/\s]+)(?::(\d{1,5}))?\/?$/.exec(raw);
  if (tcp) {
    const tls = !!env.DOCKER_TLS_VERIFY && env.DOCKER_TLS_VERIFY !== '0';
    const port = Number(tcp[2] ?? (tls ? 2376 : 2375));
    const ep: DockerEndpoint = {
      where: `tcp://${tcp[1]}:${port}`,
      tcp: { host: tcp[1].replace(/^\[|\]$/g, ''), port },
    };
    if (tls) {
      const dir = env.DOCKER_CERT_PATH || path.join(env.HOME || os.homedir(), '.docker');
      const read = (f: string) => {
        try {
          return fs.readFileSync(path.join(dir, f));
        } catch (e) {
          throw new UserError(`DOCKER_TLS_VERIFY is set but ${path.join(dir, f)} cannot be read`, {
            exitCode: 1,
            hint: 'Point DOCKER_CERT_PATH at the directory holding ca.pem, cert.pem and key.pem',
            cause: e,
          });
        }
      };
      ep.tcp!.tls = { ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') };
    }
    return ep;
  }
  throw new UserError(`DOCKER_HOST=${raw} is not supported`, {
    hint: 'Use unix:///path/to/docker.sock (the default is /var/run/docker.sock) or tcp://host:port',
  });
}

/** An answer of the engine other than the one expected: its status and its `{"message": ...}`. */
export class EngineApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

type Query = Record<string, string | number | boolean | undefined>;

/** The calls `--type docker` makes, on unversioned paths (the engine's own API version). */
export class DockerApi {
  constructor(
    readonly endpoint: DockerEndpoint,
    /** bounds each call (none: a stream or a wait may last as long as the container) */
    private readonly timeoutMs?: number,
  ) {}

  /** One request; resolves to the answer once its head arrived, or rejects with the connection's error. */
  private send(method: string, p: string, query?: Query, body?: unknown): Promise<http.IncomingMessage> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) qs.set(k, String(v));
    const pathQs = qs.size > 0 ? `${p}?${qs}` : p;
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: http.OutgoingHttpHeaders = data
      ? { 'content-type': 'application/json', 'content-length': data.length }
      : {};
    const { socketPath, tcp } = this.endpoint;
    const common = { method, path: pathQs, headers, agent: false as const };
    return new Promise((resolve, reject) => {
      const req = tcp?.tls
        ? https.request({ ...common, host: tcp.host, port: tcp.port, ...tcp.tls })
        : http.request(socketPath ? { ...common, socketPath } : { ...common, host: tcp!.host, port: tcp!.port });
      req.once('response', resolve);
      req.once('error', reject);
      if (this.timeoutMs)
        req.setTimeout(this.timeoutMs, () =>
          req.destroy(Object.assign(new Error(`no answer within ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' })),
        );
      req.end(data);
    });
  }

  /** A streamed answer (pull progress, attach): `ok` statuses pass, anything else is an EngineApiError. */
  async stream(method: string, p: string, query: Query, ok: number[], body?: unknown): Promise<http.IncomingMessage> {
    const res = await this.send(method, p, query, body);
    if (ok.includes(res.statusCode ?? 0)) return res;
    throw await failure(res);
  }

  /** A whole answer, parsed as JSON when there is one. */
  async call<T = unknown>(method: string, p: string, query: Query, ok: number[], body?: unknown): Promise<T> {
    const res = await this.stream(method, p, query, ok, body);
    const text = await readAll(res);
    return (text.trim() ? JSON.parse(text) : undefined) as T;
  }

  /** GET /_ping: "OK" (text) */
  ping = async () => readAll(await this.stream('GET', '/_ping', {}, [200]));
  version = () => this.call<{ Version: string; ApiVersion: string }>('GET', '/version', {}, [200]);
  /** GET /containers/{id}/json */
  inspect = (id: string) =>
    this.call<{ Id: string; State?: { Status?: string } }>(
      'GET',
      `/containers/${encodeURIComponent(id)}/json`,
      {},
      [200],
    );
  /** POST /containers/{id}/kill?signal= */
  kill = (id: string, signal: string) =>
    this.call('POST', `/containers/${encodeURIComponent(id)}/kill`, { signal }, [204]);
  /** DELETE /containers/{id}?force=1 */
  remove = (id: string) => this.call('DELETE', `/containers/${encodeURIComponent(id)}`, { force: 1 }, [204]);
}

async function readAll(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The engine's error answer: `{"message": "..."}` (or its text). */
async function failure(res: http.IncomingMessage): Promise<EngineApiError> {
  const text = await readAll(res).catch(() => '');
  let message = text.trim();
  try {
    const j = JSON.parse(text) as { message?: unknown };
    if (typeof j.message === 'string') message = j.message;
  } catch {
    /* not JSON: the text as it is */
  }
  return new EngineApiError(res.statusCode ?? 0, message || `HTTP ${res.statusCode}`);
}

/**
 * Split the engine's multiplexed stream (a container without a TTY): frames of an 8-byte header (stream type:
 * 1 stdout, 2 stderr; three zero bytes; the payload's size as a big-endian uint32) and the payload. A stream
 * that does not start with such a header (a TTY's raw output) goes to `out` as it is. Both end with `from`.
 */
export function demultiplex(from: NodeJS.ReadableStream, out: Writable, err: Writable): void {
  let buf: Buffer = Buffer.alloc(0);
  let raw = false;
  from.on('data', (chunk: Buffer) => {
    if (raw) return void out.write(chunk);
    buf = buf.length > 0 ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 8) {
      const type = buf[0];
      if (type > 2 || buf[1] !== 0 || buf[2] !== 0 || buf[3] !== 0) {
        raw = true;
        out.write(buf);
        buf = Buffer.alloc(0);
        return;
      }
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) return;
      (type === 2 ? err : out).write(buf.subarray(8, 8 + size));
      buf = buf.subarray(8 + size);
    }
  });
  const end = () => {
    out.end();
    err.end();
  };
  from.once('end', end);
  from.once('close', end);
  from.once('error', end);
}

const HOW_TO_REACH =
  'Start Docker (e.g. `sudo systemctl start docker`), or point DOCKER_HOST at a running engine ' +
  '(unix:///path/to/docker.sock, tcp://host:2375)';

/**
 * A failed Engine API call as the user's error: a missing socket, a permission problem and an engine that
 * does not answer each say how to fix it (exit 1); an answer from the engine is quoted. `what` is the step.
 */
export function dockerError(e: unknown, endpoint: DockerEndpoint, what: string): UserError {
  if (e instanceof UserError) return e;
  const err = e as NodeJS.ErrnoException;
  const at = endpoint.socketPath ?? endpoint.where;
  switch (err.code) {
    case 'ENOENT':
      return new UserError(`cannot ${what}: there is no Docker engine socket at ${at} (DOCKER_HOST)`, {
        exitCode: 1,
        hint: `Is Docker installed and running? ${HOW_TO_REACH}`,
      });
    case 'EACCES':
    case 'EPERM':
      return new UserError(`cannot ${what}: permission denied on the Docker engine socket ${at}`, {
        exitCode: 1,
        hint:
          'Add your user to the docker group (`sudo usermod -aG docker $USER`, then log in again), or set ' +
          'DOCKER_HOST to a socket you may use (rootless Docker: unix://$XDG_RUNTIME_DIR/docker.sock)',
      });
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'EHOSTUNREACH':
    case 'ENOTFOUND':
    case 'ETIMEDOUT':
    case 'ENOTSOCK':
      return new UserError(`cannot ${what}: the Docker engine at ${endpoint.where} does not answer (${err.code})`, {
        exitCode: 1,
        hint: HOW_TO_REACH,
      });
  }
  if (e instanceof EngineApiError)
    return new UserError(`cannot ${what}: the Docker engine answered ${e.statusCode}: ${e.message}`, { exitCode: 1 });
  return new UserError(`cannot ${what}: ${err.message ?? String(e)}`, { exitCode: 1 });
}

/** Check that the engine answers (GET /_ping) and return its version (GET /version). */
export async function checkEngine(docker: DockerApi): Promise<string> {
  try {
    await docker.ping();
    const v = await docker.version();
    return `Docker ${v.Version} (API ${v.ApiVersion})`;
  } catch (e) {
    throw dockerError(e, docker.endpoint, 'reach the Docker engine');
  }
}

/** One line of the pull's JSON-lines progress stream. */
interface PullEvent {
  status?: string;
  id?: string;
  progress?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * POST /images/create?fromImage=&tag= and read its progress stream (one JSON object a line) to the end; `say`
 * gets each layer's milestones (not the byte counts). An error line in the stream (after the 200) fails it
 * like an error status.
 */
export async function pullImage(
  docker: DockerApi,
  image: string,
  tag: string,
  say: (line: string) => void,
): Promise<void> {
  const what = `pull ${image}:${tag}`;
  let failed: string | undefined;
  try {
    const res = await docker.stream('POST', '/images/create', { fromImage: image, tag }, [200]);
    let rest = '';
    const line = (l: string) => {
      if (!l.trim()) return;
      const ev = JSON.parse(l) as PullEvent;
      if (ev.error || ev.errorDetail) failed ??= ev.errorDetail?.message ?? ev.error;
      else if (ev.status && !ev.progress) say(ev.id ? `${ev.id}: ${ev.status}` : ev.status);
    };
    for await (const chunk of res) {
      const lines = (rest + (chunk as Buffer).toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      lines.forEach(line);
    }
    line(rest);
  } catch (e) {
    throw dockerError(e, docker.endpoint, what);
  }
  if (failed) throw new UserError(`cannot ${what}: ${failed}`, { exitCode: 1 });
}

/**
 * The default bridge network's gateway (GET /networks/bridge, its IPAM config): the host's address on the
 * bridge, which the containers reach and where the queue's proxy engine listens for a Docker worker.
 */
export async function bridgeGateway(docker: DockerApi): Promise<string> {
  let net: { IPAM?: { Config?: { Gateway?: string }[] } };
  try {
    net = await docker.call('GET', '/networks/bridge', {}, [200]);
  } catch (e) {
    throw dockerError(e, docker.endpoint, "inspect Docker's bridge network");
  }
  const gw = net.IPAM?.Config?.map((c) => c.Gateway).find((g) => !!g && /^\d+\.\d+\.\d+\.\d+$/.test(g));
  if (!gw)
    throw new UserError(
      "Docker's bridge network has no IPv4 gateway: the worker's container could not reach the proxy",
      {
        exitCode: 1,
        hint: 'Check `docker network inspect bridge` (IPAM.Config[].Gateway)',
      },
    );
  if (!isHostAddress(gw))
    throw new UserError(
      `Docker's bridge gateway ${gw} is not an address of this machine: the proxy cannot listen where the ` +
        "worker's container would reach it",
      {
        exitCode: 1,
        hint:
          'Docker Desktop and rootless Docker keep their bridge in a VM or namespace of their own (not supported ' +
          'yet); run the engine on this machine, or use --type local',
      },
    );
  return gw;
}

/** Whether `ip` is an IPv4 address of one of this machine's interfaces (or in a loopback interface's network). */
export function isHostAddress(ip: string): boolean {
  const n = (a: string) => a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  for (const addrs of Object.values(os.networkInterfaces()))
    for (const a of addrs ?? []) {
      if (a.family !== 'IPv4') continue;
      if (a.address === ip) return true;
      const mask = n(a.netmask);
      // 127.0.0.0/8 is all this host's; compared as numbers (a 32-bit mask overflows JS's bitwise operators)
      if (a.internal && Math.floor(n(ip) / (2 ** 32 - mask)) === Math.floor(n(a.address) / (2 ** 32 - mask)))
        return true;
    }
  return false;
}
