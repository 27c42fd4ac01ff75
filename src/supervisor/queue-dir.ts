import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { kubiyaDir } from '../util/paths.js';

const QUEUE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Reject queue ids that could escape `~/.kubiya/workers/` or confuse a shell. */
export function validateQueueId(id: string | undefined): string {
  if (!id) throw new UserError('--queue-id is required', { hint: 'Example: kubiya worker status --queue-id my-queue' });
  if (!QUEUE_ID.test(id) || id.includes('..')) {
    throw new UserError(`invalid queue id "${id}": use 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit`);
  }
  return id;
}

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
  venv: string;
}

/** `~/.kubiya/workers`, where every queue directory lives. */
export function workersRoot(): string {
  return path.join(kubiyaDir(), 'workers');
}

/** Paths of a queue's directory (nothing is created). */
export function queuePaths(queueId: string): QueuePaths {
  const dir = path.join(workersRoot(), validateQueueId(queueId));
  return {
    dir,
    config: path.join(dir, 'litellm_config.yaml'),
    proxyLog: path.join(dir, 'litellm_proxy.log'),
    workerLog: path.join(dir, 'worker.log'),
    supervisorLog: path.join(dir, 'supervisor.log'),
    pidFile: path.join(dir, 'worker.pid'),
    portFile: path.join(dir, 'engine.port.json'),
    planFile: path.join(dir, 'supervisor-plan.json'),
    venv: path.join(dir, 'venv'),
  };
}

/** Create the queue directory (0700, tightened if it already existed). */
export function ensureQueueDir(queueId: string): QueuePaths {
  const p = queuePaths(queueId);
  fs.mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(p.dir, 0o700);
  return p;
}

/** Queue ids that have a directory under `~/.kubiya/workers`. */
export function listQueueIds(): string[] {
  try {
    return fs
      .readdirSync(workersRoot(), { withFileTypes: true })
      .filter((d) => d.isDirectory() && QUEUE_ID.test(d.name))
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}
