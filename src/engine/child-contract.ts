/**
 * The contract between the supervisor (`kubiya worker start`) and the engine child it spawns
 * (`kubiya proxy start`): the arguments, the port file, the exit codes and the readiness path.
 * Both sides import this module, so it stays light: no engine code, only node:fs.
 */
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import { ExitCode } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';

// a `proxy start` process is the engine's alone, so it may tune V8 for it (node built-ins only: still light)
export { capYoungGeneration, collectAfterBursts } from './observability/memory.js';

/** The engine child binds loopback only: the worker is on the same machine. */
export const ENGINE_HOST = '127.0.0.1';

/** Exit code when the port is taken (errno EADDRINUSE), so the supervisor can tell it apart and retry. */
export const EXIT_PORT_IN_USE = 98;

/** Exit code when the config is rejected (the CLI's usage error): retrying cannot help. */
export const EXIT_CONFIG_REJECTED = ExitCode.usage;

/** GET here answers 200 once the engine serves requests. */
export const READINESS_PATH = '/health/readiness';

/**
 * The env var carrying the supervisor's per-run key for its engine: the worker's key, which the engine
 * accepts as it accepts a master key (and requires, even when the config sets no master key).
 */
export const LOCAL_KEY_ENV = 'KUBIYA_LOCAL_KEY';

/** A readiness request may carry a random challenge here; the engine answers its proof in PROOF_HEADER. */
export const CHALLENGE_HEADER = 'x-kubiya-challenge';
export const PROOF_HEADER = 'x-kubiya-proof';
/**
 * The same proof keyed with the run's usage token (KUBIYA_USAGE_TOKEN, 0600 in the queue directory): what
 * `worker status` checks, as it never reads the local key (the worker's credential stays in the environments
 * of the processes that use it).
 */
export const STATUS_PROOF_HEADER = 'x-kubiya-status-proof';

/**
 * Proof that whoever answers the readiness probe holds the local key: HMAC-SHA256(key, challenge). A
 * process that took the engine's port after a crash never sees the key (the probe does not send it), so
 * it cannot answer a fresh challenge: the supervisor knows the port serves its own engine.
 */
export function readinessProof(key: string, challenge: string): string {
  return createHmac('sha256', key).update(challenge).digest('base64url');
}

/** What the engine writes to the port file once it is bound (atomically, mode 0600). */
export interface PortFileInfo {
  pid: number;
  host: string;
  port: number;
  url: string;
}

/** What the supervisor passes to `kubiya proxy start`. */
export interface EngineChildArgs {
  configFile: string;
  /**
   * where it listens: ENGINE_HOST (the default), or the Docker bridge's gateway for a worker in a container
   * (which cannot reach the host's loopback); the engine requires the run's key either way
   */
  host?: string;
  /** 0: the engine binds a free port itself and reports it in the port file (no probe-then-close race) */
  port: number;
  portFile: string;
  /** the drain budget after SIGTERM (the supervisor kills the engine only after it) */
  drainTimeoutSeconds?: number;
  /** the supervisor's pid: the engine exits as soon as its parent is no longer this one */
  parentPid?: number;
}

/**
 * The `kubiya proxy start` arguments for a supervised engine: loopback (unless told otherwise), the port file, and
 * `--exit-with-parent` so an engine whose supervisor was SIGKILLed drains and exits on its own.
 */
export function engineChildArgs(a: EngineChildArgs): string[] {
  return [
    'proxy',
    'start',
    '--config',
    a.configFile,
    '--host',
    a.host ?? ENGINE_HOST,
    '--port',
    String(a.port),
    '--port-file',
    a.portFile,
    '--exit-with-parent',
    ...(a.parentPid !== undefined ? ['--parent-pid', String(a.parentPid)] : []),
    ...(a.drainTimeoutSeconds !== undefined ? ['--drain-timeout', String(a.drainTimeoutSeconds)] : []),
  ];
}

/** Engine side: report the bound address (atomically; no fsync: it is stale once this process is gone anyway). */
export function writePortFile(file: string, info: PortFileInfo): void {
  writeFileAtomic(file, `${JSON.stringify(info)}\n`, 0o600, { durable: false });
}

/** Supervisor side: the port and URL the engine `pid` reported, or undefined while there is none (or another's). */
export function readPortFile(file: string, pid: number): { port: number; url: string } | undefined {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<PortFileInfo>;
    if (typeof v.port !== 'number' || (v.pid !== undefined && v.pid !== pid)) return undefined;
    return { port: v.port, url: v.url ?? `http://${ENGINE_HOST}:${v.port}` };
  } catch {
    return undefined;
  }
}

/** Engine side, on exit: remove the port file if it is still ours (a restarted engine may have rewritten it). */
export function removeOwnPortFile(file: string, pid: number): void {
  try {
    const info = JSON.parse(fs.readFileSync(file, 'utf8')) as { pid?: number };
    if (info.pid === pid) fs.rmSync(file, { force: true });
  } catch {
    /* already gone or rewritten by someone else */
  }
}
