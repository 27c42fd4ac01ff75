/**
 * The Docker Engine API, through dockerode (loaded only when a queue runs in Docker): where the engine is
 * (DOCKER_HOST), errors that say how to fix them, the image pull and the bridge network's gateway.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Dockerode from 'dockerode';
import { UserError } from '../../errors.js';

/** The Docker engine's default socket when DOCKER_HOST is not set. */
export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/** How to reach the Docker engine: dockerode's options, and the DOCKER_HOST form to show and record. */
export interface DockerEndpoint {
  where: string;
  socketPath?: string;
  options: Dockerode.DockerOptions;
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
    return { where: raw, socketPath, options: { socketPath } };
  }
  const tcp = /^tcp:\/\/(\[[0-9a-fA-F:]+\]|[^:/\s]+)(?::(\d{1,5}))?\/?$/.exec(raw);
  if (tcp) {
    const tls = !!env.DOCKER_TLS_VERIFY && env.DOCKER_TLS_VERIFY !== '0';
    const port = Number(tcp[2] ?? (tls ? 2376 : 2375));
    const options: Dockerode.DockerOptions = {
      host: tcp[1].replace(/^\[|\]$/g, ''),
      port,
      protocol: tls ? 'https' : 'http',
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
      Object.assign(options, { ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') });
    }
    return { where: `tcp://${tcp[1]}:${port}`, options };
  }
  throw new UserError(`DOCKER_HOST=${raw} is not supported`, {
    hint: 'Use unix:///path/to/docker.sock (the default is /var/run/docker.sock) or tcp://host:port',
  });
}

/** A client for the engine at `endpoint`; `timeoutMs` bounds every request (none: streams may last). */
export async function dockerClient(endpoint: DockerEndpoint, timeoutMs?: number): Promise<Dockerode> {
  const { default: Docker } = await import('dockerode');
  return new Docker({ ...endpoint.options, ...(timeoutMs ? { timeout: timeoutMs } : {}) });
}

const HOW_TO_REACH =
  'Start Docker (e.g. `sudo systemctl start docker`), or point DOCKER_HOST at a running engine ' +
  '(unix:///path/to/docker.sock, tcp://host:2375)';

/** What the engine said in an error (dockerode puts the answer's JSON body on the error). */
function engineMessage(e: { json?: unknown; message?: string }): string {
  const j = e.json as { message?: unknown } | undefined;
  if (j && typeof j.message === 'string') return j.message;
  return String(e.message ?? e)
    .replace(/^\(HTTP code \d+\) [\w ]+ - /, '')
    .trim();
}

/**
 * A failed Engine API call as the user's error: a missing socket, a permission problem and an engine that
 * does not answer each say how to fix it (exit 1); an answer from the engine is quoted. `what` is the step.
 */
export function dockerError(e: unknown, endpoint: DockerEndpoint, what: string): UserError {
  if (e instanceof UserError) return e;
  const err = e as NodeJS.ErrnoException & { statusCode?: number; json?: unknown };
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
  if (err.statusCode) {
    return new UserError(`cannot ${what}: the Docker engine answered ${err.statusCode}: ${engineMessage(err)}`, {
      exitCode: 1,
    });
  }
  return new UserError(`cannot ${what}: ${err.message ?? String(e)}`, { exitCode: 1 });
}

/** Check that the engine answers (GET /_ping) and return its version (GET /version). */
export async function checkEngine(docker: Dockerode, endpoint: DockerEndpoint): Promise<string> {
  try {
    await docker.ping();
    const v = await docker.version();
    return `Docker ${v.Version} (API ${v.ApiVersion})`;
  } catch (e) {
    throw dockerError(e, endpoint, 'reach the Docker engine');
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
 * POST /images/create for `ref` (image:tag) and read its progress stream to the end; `say` gets each layer's
 * milestones (not the byte counts). An error in the stream (after the 200) fails it like an error status.
 */
export async function pullImage(
  docker: Dockerode,
  endpoint: DockerEndpoint,
  ref: string,
  say: (line: string) => void,
): Promise<void> {
  const what = `pull ${ref}`;
  let failed: string | undefined;
  try {
    const stream = await docker.pull(ref);
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (err: Error | null) => (err ? reject(err) : resolve()),
        (ev: PullEvent) => {
          if (ev.error || ev.errorDetail) failed ??= ev.errorDetail?.message ?? ev.error;
          else if (ev.status && !ev.progress) say(ev.id ? `${ev.id}: ${ev.status}` : ev.status);
        },
      );
    });
  } catch (e) {
    throw dockerError(e, endpoint, what);
  }
  if (failed) throw new UserError(`cannot ${what}: ${failed}`, { exitCode: 1 });
}

/**
 * The default bridge network's gateway (GET /networks/bridge, its IPAM config): the host's address on the
 * bridge, which the containers reach and where the queue's proxy engine listens for a Docker worker.
 */
export async function bridgeGateway(docker: Dockerode, endpoint: DockerEndpoint): Promise<string> {
  let net: Dockerode.NetworkInspectInfo;
  try {
    net = await docker.getNetwork('bridge').inspect();
  } catch (e) {
    throw dockerError(e, endpoint, "inspect Docker's bridge network");
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
