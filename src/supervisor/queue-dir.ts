import fs from 'node:fs';
import path from 'node:path';
import { isQueueId, validateQueueId } from '../config/queue-id.js';
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
  planFile: string;
  /** the per-run token that opens the engine's `GET /kubiya/usage` (0600, removed at the end) */
  usageToken: string;
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
    planFile: path.join(dir, 'supervisor-plan.json'),
    usageToken: path.join(dir, 'usage.token'),
    venv: path.join(dir, 'venv'),
  };
}

/** Create the queue directory (0700, tightened if it already existed). */
export function ensureQueueDir(queueId: string, env: NodeJS.ProcessEnv = process.env): QueuePaths {
  const p = queuePaths(queueId, env);
  fs.mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(p.dir, 0o700);
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
