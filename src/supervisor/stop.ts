import fs from 'node:fs';
import { isOurs } from './identity.js';
import { type PidInfo, readPidFile, removePidFile } from './pid-file.js';
import { isAlive, leadsGroup, signalAll, terminateTree, treeOf, waitGone } from './process-tree.js';
import { queuePaths } from './queue-dir.js';
import { cleanStale, staleReason } from './queue-lock.js';
import { type EngineUsage, fetchUsage } from './usage.js';

/** The result of `worker stop`. */
export interface StopResult {
  outcome: 'stopped' | 'not-running' | 'stale-cleaned';
  supervisorPid?: number;
  /** processes that had to be killed after the timeout (or with --force) */
  killed: number[];
  notes: string[];
  /** the queue's usage since its engine started, read just before the stop (when the engine answered) */
  usage?: EngineUsage;
}

/**
 * Stop a queue: SIGTERM to the supervisor (it stops the worker, then drains the engine); after
 * `timeoutMs` (default: the queue's grace + drain + 5 s; at once with `force`) SIGKILL whatever is left
 * of the supervisor's, the worker's and the engine's process trees. The pid file is removed either way.
 */
export async function stopQueue(
  queueId: string,
  opts: { force: boolean; timeoutMs?: number },
  env: NodeJS.ProcessEnv = process.env,
): Promise<StopResult> {
  const p = queuePaths(queueId, env);
  const info = readPidFile(p.pidFile);
  if (!info && fs.existsSync(p.pidFile)) {
    fs.rmSync(p.pidFile, { force: true }); // unreadable: it cannot name anything to stop
    return { outcome: 'stale-cleaned', killed: [], notes: ['removed an unreadable worker.pid'] };
  }
  if (!info) return { outcome: 'not-running', killed: [], notes: [] };
  if (!isOurs(info.supervisor_pid, info.supervisor_identity)) {
    const why = staleReason(info);
    return {
      outcome: 'stale-cleaned',
      supervisorPid: info.supervisor_pid,
      killed: [],
      notes: [why, ...(await cleanStale(p)), ...(await removeContainer(info))],
    };
  }
  const pid = info.supervisor_pid;
  // by default as long as an orderly stop may take: the worker's grace, then the engine's drain (plus a margin)
  const timeoutMs =
    opts.timeoutMs ??
    (info.grace_s !== undefined && info.drain_timeout_s !== undefined
      ? (info.grace_s + info.drain_timeout_s + 5) * 1000
      : 30_000);
  const url = info.engine?.pid ? info.engine.url : null;
  const usage = url ? await fetchUsage(url, p.usageToken, 1000) : undefined;
  // only processes that are still the ones recorded (the engine may have been restarted meanwhile)
  const trees = () => {
    const latest = readPidFile(p.pidFile) ?? info;
    return [...new Set([pid, ...ownChildren(latest), ...ownChildren(info)].flatMap(treeOf))];
  };
  let killed: number[] = [];
  if (opts.force) {
    killed = trees();
    signalAll(killed, 'SIGKILL');
    await waitGone(killed, 3000);
  } else {
    process.kill(pid, 'SIGTERM');
    if (!(await waitGone([pid], timeoutMs))) {
      killed = trees().filter(isAlive);
      await terminateTree(pid, 0);
      signalAll(killed, 'SIGKILL');
      await waitGone(killed, 3000);
    }
  }
  // anything the supervisor left (it should leave nothing)
  const left = ownChildren(info).filter(leadsGroup);
  for (const l of left) await terminateTree(l, 1000);
  // a container the supervisor could not remove (it was killed after the timeout, or --force)
  const removed = await removeContainer(info);
  removePidFile(p.pidFile, pid);
  return { outcome: 'stopped', supervisorPid: pid, killed, notes: removed, ...(usage ? { usage } : {}) };
}

/** `--type docker`: kill and remove the queue's container (and any other it left); what went, or why not. */
async function removeContainer(info: PidInfo): Promise<string[]> {
  const rec = info.worker?.container;
  if (!rec) return [];
  const { removeRecordedContainer } = await import('./docker/container.js');
  return removeRecordedContainer(rec, info.queue_id, info.worker_dir);
}

/** The recorded worker and engine pids that still name the processes recorded. */
function ownChildren(info: PidInfo): number[] {
  const out: number[] = [];
  if (isOurs(info.worker.pid, info.worker.identity)) out.push(info.worker.pid);
  if (isOurs(info.engine?.pid, info.engine?.identity)) out.push(info.engine.pid);
  return out;
}
