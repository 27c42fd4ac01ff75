import fs from 'node:fs';
import path from 'node:path';
import { isQueueId, validateQueueId } from '../config/queue-id.js';
import { UserError } from '../errors.js';
import { kubiyaDir } from '../util/paths.js';

/** Every file the supervisor keeps for one queue. */
export interface QueuePaths {
  dir: string;
  config: string;
  proxyLog: string;
  workerLog: string;
  supervisorLog: string;
  pidFile: string;
  portFile: string;
  /** the per-run token that opens the engine's `GET /kubiya/usage` (0600, removed at the end) */
  usageToken: string;
  /** the worker page's URL with its token (0600) */
  webuiUrl: string;
  venv: string;
}

/** `~/.kubiya/workers` (HOME from `env`), where every queue directory lives. */
export function workersRoot(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(kubiyaDir(env), 'workers');
}

/** Paths of a queue's directory (nothing is created). */
export function queuePaths(queueId: string, env: NodeJS.ProcessEnv = process.env): QueuePaths {
  const dir = path.join(workersRoot(env), validateQueueId(queueId));
  return {
    dir,
    config: path.join(dir, 'litellm_config.yaml'),
    proxyLog: path.join(dir, 'litellm_proxy.log'),
    workerLog: path.join(dir, 'worker.log'),
    supervisorLog: path.join(dir, 'supervisor.log'),
    pidFile: path.join(dir, 'worker.pid'),
    portFile: path.join(dir, 'engine.port.json'),
    usageToken: path.join(dir, 'usage.token'),
    webuiUrl: path.join(dir, 'webui.url'),
    venv: path.join(dir, 'venv'),
  };
}

/**
 * Create the queue directory (0700, tightened if it already existed). A symbolic link or a directory
 * someone else owns is refused, never followed: the config with its keys is written there, and a chmod
 * through a link would change its target (a shared 1777 directory would lose its sticky bit).
 */
export function ensureQueueDir(queueId: string, env: NodeJS.ProcessEnv = process.env): QueuePaths {
  const p = queuePaths(queueId, env);
  fs.mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  const refuse = (why: string) =>
    new UserError(`refusing to use ${p.dir} as the queue directory: ${why}`, {
      exitCode: 1,
      hint: `Remove it (or move it away) and start again; kubiya creates it itself (0700).`,
    });
  let fd: number;
  try {
    // O_NOFOLLOW: the check and the chmod below are about this very directory, not a link's target
    fd = fs.openSync(p.dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || fs.lstatSync(p.dir).isSymbolicLink()) throw refuse('it is a symbolic link');
    if (code === 'ENOTDIR') throw refuse('it is not a directory');
    throw e;
  }
  try {
    const st = fs.fstatSync(fd);
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid) throw refuse(`it belongs to uid ${st.uid}, not to you (uid ${uid})`);
    fs.fchmodSync(fd, 0o700);
  } finally {
    fs.closeSync(fd);
  }
  return p;
}

/** Queue ids that have a directory under `~/.kubiya/workers`. */
export function listQueueIds(env: NodeJS.ProcessEnv = process.env): string[] {
  try {
    return fs
      .readdirSync(workersRoot(env), { withFileTypes: true })
      .filter((d) => d.isDirectory() && isQueueId(d.name))
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}
