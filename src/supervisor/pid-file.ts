import fs from 'node:fs';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { AutoUpdateState } from './auto-update.js';
import type { ContainerRecord } from './docker/container.js';
import type { ProcIdentity } from './identity.js';

/** What `worker.pid` holds: everything `status` and `stop` need, no secrets. */
export interface PidInfo {
  supervisor_pid: number;
  /** who each pid was when recorded (see identity.ts): checked before every signal and every "running" */
  supervisor_identity?: ProcIdentity;
  queue_id: string;
  worker_dir: string;
  started_at: string;
  mode: 'foreground' | 'daemon';
  /** the worker's grace and the engine's drain budget (seconds): how long an orderly stop may take */
  grace_s?: number;
  drain_timeout_s?: number;
  /** local-proxy mode only */
  engine: null | {
    pid: number | null;
    identity?: ProcIdentity;
    port: number | null;
    url: string | null;
    /** starting | running | restarting | crash-loop | stopped */
    state: string;
    restarts: number;
    last_exit?: string;
    /** something the user must know, e.g. that another process took the engine's port and it moved */
    note?: string;
  };
  gateway_url?: string;
  worker: {
    pid: number | null;
    identity?: ProcIdentity;
    /** the command with secrets masked */
    command: string[];
    state: string;
    restarts: number;
    last_exit?: string;
    /** `--type docker`: the worker's current container (pid is null then) */
    container?: ContainerRecord;
  };
  logs: { worker: string; proxy: string | null; supervisor: string };
  /** the default worker's installed kubiya-control-plane-api version (absent for a worker command of one's own) */
  package_version?: string;
  /** the worker's web page (without its token: that is in webui.url, 0600) */
  webui?: string;
  /** --auto-update: on or off, and its last check */
  auto_update?: AutoUpdateState;
}

/** Read and parse `worker.pid`; undefined when missing or unreadable. */
export function readPidFile(file: string): PidInfo | undefined {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as PidInfo;
    return typeof v?.supervisor_pid === 'number' ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Claim the pid file for this process: created exclusively, so two supervisors of one queue cannot
 * both win, and complete from its first instant (written aside, then hard-linked into place: link(2)
 * fails if the name exists), so the loser never reads a half-written file and takes it for a stale one.
 * Returns false when it already exists.
 */
export function claimPidFile(file: string, info: PidInfo): boolean {
  const tmp = `${file}.${process.pid}.claim`;
  fs.writeFileSync(tmp, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Replace the pid file's contents atomically. */
export function writePidFile(file: string, info: PidInfo): void {
  writeFileAtomic(file, `${JSON.stringify(info, null, 2)}\n`, 0o600);
}

/** Remove the pid file only if it still belongs to `supervisorPid`. */
export function removePidFile(file: string, supervisorPid?: number): void {
  if (supervisorPid !== undefined) {
    const cur = readPidFile(file);
    if (cur && cur.supervisor_pid !== supervisorPid) return;
  }
  fs.rmSync(file, { force: true });
}
