import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildExit, Spawned } from './child.js';
import { isAlive, signalAll, terminateTree, treeOf } from './process-tree.js';

/**
 * One run of the worker, as the supervisor drives it whatever runs it: a local process tree (`--type local`)
 * or a container (`--type docker`, see docker/container.ts).
 */
export interface WorkerRun {
  /** the local worker's pid (-1 when it could not be spawned); undefined for a container */
  pid?: number;
  /** the container's id and name (`--type docker`) */
  container?: { id: string; name: string };
  /** how it ended; resolves once its output is in the log */
  exited: Promise<ChildExit>;
  /** orderly: SIGTERM, up to `graceMs`, then SIGKILL; resolves once it is gone (a container also removed) */
  stop(graceMs: number): Promise<void>;
  /** SIGKILL at once (a second Ctrl-C) */
  kill(): void;
  /** what still runs after a stop (for the fault path's last word): "pid N", "container ID" */
  leftovers(): string[];
}

/** A local worker: the spawned child and its process tree. */
export function localRun(child: Spawned): WorkerRun {
  return {
    pid: child.pid,
    exited: child.exited,
    // then wait (briefly) until its output pipes are drained, so its last lines ("got SIGTERM") reach the log
    stop: async (graceMs) => {
      await terminateTree(child.pid, graceMs);
      await Promise.race([child.exited, sleep(2000)]);
    },
    kill: () => signalAll(treeOf(child.pid), 'SIGKILL'),
    // not the zombies the run has not reaped yet
    leftovers: () =>
      treeOf(child.pid)
        .filter(isAlive)
        .map((p) => `pid ${p}`),
  };
}
