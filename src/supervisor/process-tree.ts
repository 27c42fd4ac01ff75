import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

interface Proc {
  pid: number;
  ppid: number;
  pgid: number;
}

function table(): Proc[] {
  try {
    const out = execFileSync('ps', ['-A', '-o', 'pid=,ppid=,pgid='], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out
      .split('\n')
      .map((l) => l.trim().split(/\s+/).map(Number))
      .filter((r) => r.length === 3 && r.every(Number.isFinite))
      .map(([pid, ppid, pgid]) => ({ pid, ppid, pgid }));
  } catch {
    return [];
  }
}

/** True when a process with this pid exists and is not a zombie waiting to be reaped. */
export function isAlive(pid: number | undefined): boolean {
  if (!pid || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; a zombie has already exited
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return !existsSync('/proc/self'); // gone on Linux; no procfs (macOS): trust kill(0)
  }
}

/**
 * The pid, its descendants, and every member of its process group (children we spawn lead their own
 * group, so grandchildren orphaned by an exited parent are still found).
 */
export function treeOf(root: number): number[] {
  const procs = table();
  const found = new Set<number>();
  if (isAlive(root)) found.add(root);
  for (const p of procs) if (p.pgid === root) found.add(p.pid);
  let frontier = [...found];
  while (frontier.length > 0) {
    const next: number[] = [];
    for (const p of procs)
      if (frontier.includes(p.ppid) && !found.has(p.pid)) {
        found.add(p.pid);
        next.push(p.pid);
      }
    frontier = next;
  }
  return [...found];
}

/** Send a signal to each pid, ignoring the ones already gone. */
export function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/** Whether `pid` leads its own process group: a cheap check that a recorded pid is still ours. */
export function leadsGroup(pid: number): boolean {
  return table().some((p) => p.pid === pid && p.pgid === pid);
}

/** Wait until none of the pids is alive; false on timeout. */
export async function waitGone(pids: number[], timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (!pids.some(isAlive)) return true;
    if (Date.now() >= until) return false;
    await sleep(50);
  }
}

/**
 * Stop a whole process tree: SIGTERM everything in it, wait `graceMs`, SIGKILL whatever is left.
 * Resolves to true when it had to SIGKILL.
 */
export async function terminateTree(root: number, graceMs: number): Promise<boolean> {
  const pids = treeOf(root);
  if (pids.length === 0) return false;
  signalAll(pids, 'SIGTERM');
  if (await waitGone(pids, graceMs)) return false;
  signalAll([...new Set([...pids, ...treeOf(root)])], 'SIGKILL');
  await waitGone(pids, 2000);
  return true;
}
