import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isAlive } from './process-tree.js';

/**
 * Who a recorded pid was when it was written down: its start time (field 22 of /proc/PID/stat, clock
 * ticks since boot) and a hash of its command line (the hash, not the text: a worker's arguments may
 * carry secrets). A pid names the same process only while both still match: after a reboot or a crash
 * the kernel hands the number to someone else, and a pid file must never make us signal them.
 */
export interface ProcIdentity {
  start_time: string;
  cmdline_sha256: string;
}

/** Field 22 of /proc/PID/stat (after the parenthesised comm, which may hold spaces), or undefined. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after ") " start at field 3 (state); field 22 is index 19 there
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function cmdlineHash(pid: number): string | undefined {
  try {
    return createHash('sha256')
      .update(readFileSync(`/proc/${pid}/cmdline`))
      .digest('hex');
  } catch {
    return undefined;
  }
}

/** The identity of a live process now; undefined when it is gone or there is no procfs (then none is recorded). */
export function identityOf(pid: number | null | undefined): ProcIdentity | undefined {
  if (!pid || pid <= 0) return undefined;
  const start = startTime(pid);
  const cmd = cmdlineHash(pid);
  return start && cmd ? { start_time: start, cmdline_sha256: cmd } : undefined;
}

/**
 * The verdict on a recorded pid: `ours` (alive and still the process recorded), `gone`, or `other`
 * (alive, but a different process now has the number: never signal it). A record without an identity
 * (a pid file from an older version, or no procfs) is judged by liveness alone, as before.
 */
export function checkPid(pid: number | null | undefined, id: ProcIdentity | undefined): 'ours' | 'gone' | 'other' {
  if (!pid || !isAlive(pid)) return 'gone';
  if (!id || !existsSync('/proc/self/stat')) return 'ours';
  const now = identityOf(pid);
  if (!now) return 'gone';
  return now.start_time === id.start_time && now.cmdline_sha256 === id.cmdline_sha256 ? 'ours' : 'other';
}

/** True when `pid` is alive and still the process `id` recorded. */
export function isOurs(pid: number | null | undefined, id: ProcIdentity | undefined): pid is number {
  return checkPid(pid, id) === 'ours';
}
