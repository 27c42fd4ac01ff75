import fs from 'node:fs';
import path from 'node:path';
import type { ProxyPlan, WorkerStartOptions } from '../config/plan.js';
import { DEFAULT_PACKAGE } from '../config/worker-package.js';
import { UserError } from '../errors.js';
import type { SupervisorIo } from './io.js';
import { installWorkerPackage, WORKER_COMMAND_HOWTO } from './packages.js';
import type { QueuePaths } from './queue-dir.js';

/** Where `cmd` would be found (as spawn looks for it: a path as given, else each PATH entry); undefined if nowhere. */
export function findCommand(cmd: string, env: NodeJS.ProcessEnv): string | undefined {
  const dirs = cmd.includes('/') ? [''] : (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const dir of dirs) {
    const file = dir ? path.join(dir, cmd) : cmd;
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** The error for a worker command that cannot run at all: exit 127, as a shell says it. */
export function workerNotFound(cmd: string): UserError {
  return new UserError(`cannot run the worker: ${cmd}: command not found (or not executable)`, {
    exitCode: 127,
    hint: WORKER_COMMAND_HOWTO,
  });
}

/**
 * The command to run: the user's, or the queue venv's worker entry point (installed or updated on demand; the
 * installed version is recorded in `o.installedPackageVersion` for the status and the worker page).
 */
export async function resolveWorkerCommand(
  plan: ProxyPlan,
  o: WorkerStartOptions,
  paths: QueuePaths,
  io: Pick<SupervisorIo, 'env' | 'stderr'>,
): Promise<string[]> {
  if (o.workerCommand && o.workerCommand.length > 0) return o.workerCommand;
  const installed = await installWorkerPackage(
    paths,
    o.package ?? DEFAULT_PACKAGE,
    { update: !o.noUpdate, noCache: o.noCache },
    io,
  );
  o.installedPackageVersion = installed.version;
  const entry = installed.entry;
  // no --api-key: every local user can read a command line (ps, /proc/PID/cmdline); the worker reads
  // KUBIYA_API_KEY from the environment workerEnv() gives it
  return [entry, '--queue-id', plan.queueId, '--control-plane-url', plan.controlPlaneUrl];
}
