import fs from 'node:fs';
import { UserError } from '../errors.js';
import { checkPid, isOurs } from './identity.js';
import { claimPidFile, type PidInfo, readPidFile, removePidFile } from './pid-file.js';
import { leadsGroup, terminateTree } from './process-tree.js';
import type { QueuePaths } from './queue-dir.js';

/** Whether the queue's recorded supervisor is alive and still the process that wrote the pid file. */
export function runningSupervisor(paths: QueuePaths): PidInfo | undefined {
  const info = readPidFile(paths.pidFile);
  return info && isOurs(info.supervisor_pid, info.supervisor_identity) ? info : undefined;
}

/**
 * Why a pid file's supervisor is not running: "gone", or its pid now names another process (a pid
 * recycled after a reboot or crash: never signalled).
 */
export function staleReason(info: PidInfo): string {
  return checkPid(info.supervisor_pid, info.supervisor_identity) === 'other'
    ? `pid ${info.supervisor_pid} now belongs to another process (not signalled)`
    : `supervisor pid ${info.supervisor_pid} is gone`;
}

/**
 * Kill what a dead supervisor left behind (only processes that are still the ones recorded: same
 * start time and command line, leading their own group) and remove its pid file. Returns what was cleaned.
 */
export async function cleanStale(paths: QueuePaths, graceMs = 2000): Promise<string[]> {
  const info = readPidFile(paths.pidFile);
  const cleaned: string[] = [];
  const dead = info && !isOurs(info.supervisor_pid, info.supervisor_identity);
  if (info && dead) {
    for (const [name, pid, id] of [
      ['worker', info.worker?.pid, info.worker?.identity],
      ['engine', info.engine?.pid, info.engine?.identity],
    ] as const) {
      if (isOurs(pid, id) && leadsGroup(pid)) {
        await terminateTree(pid, graceMs);
        cleaned.push(`${name} pid ${pid}`);
      }
    }
  }
  if (info ? dead : fs.existsSync(paths.pidFile)) {
    removePidFile(paths.pidFile);
    fs.rmSync(paths.portFile, { force: true });
    fs.rmSync(paths.usageToken, { force: true });
    cleaned.push('stale pid file');
  }
  return cleaned;
}

/** The error for a second start of a running queue. */
export function alreadyRunning(queueId: string, info: PidInfo): UserError {
  return new UserError(`queue "${queueId}" is already running (supervisor pid ${info.supervisor_pid})`, {
    exitCode: 1,
    hint:
      `Stop it first: kubiya worker stop --queue-id ${queueId}   ` +
      `(or see: kubiya worker status --queue-id ${queueId})`,
  });
}

/** Claim the queue for this supervisor: refuses a live one, cleans a stale one. */
export async function acquireQueue(paths: QueuePaths, info: PidInfo, say: (m: string) => void): Promise<void> {
  for (let i = 0; i < 2; i++) {
    if (claimPidFile(paths.pidFile, info)) return;
    const live = runningSupervisor(paths);
    if (live && live.supervisor_pid !== process.pid) throw alreadyRunning(info.queue_id, live);
    const cleaned = await cleanStale(paths);
    if (cleaned.length > 0) say(`cleaned up after a previous run that did not stop cleanly: ${cleaned.join(', ')}`);
  }
  throw new UserError(
    `could not claim ${paths.pidFile}; another start of queue "${info.queue_id}" is racing this one`,
    { exitCode: 1 },
  );
}
