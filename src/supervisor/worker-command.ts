import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { ProxyPlan, WorkerStartOptions } from '../config/plan.js';
import { UserError } from '../errors.js';
import type { SupervisorIo } from './io.js';
import { progress } from './progress.js';
import type { QueuePaths } from './queue-dir.js';

/** The Python package that provides `kubiya-control-plane-worker`. */
export const WORKER_PACKAGE = 'kubiya-control-plane-api[worker]';
const ENTRY = 'kubiya-control-plane-worker';

const HOW_TO = [
  'Give the worker command explicitly, in any of these ways:',
  '  kubiya worker start --queue-id ID -- node my-worker.mjs',
  '  kubiya worker start --queue-id ID --worker-command "python -m my_worker"',
  '  KUBIYA_WORKER_COMMAND="python -m my_worker" kubiya worker start --queue-id ID',
].join('\n');

/** What pip installs, from --local-wheel, --package-source or --package-version. */
export function packageSpec(o: Pick<WorkerStartOptions, 'localWheel' | 'packageSource' | 'packageVersion'>): string {
  if (o.localWheel) return path.resolve(o.localWheel);
  if (o.packageSource) return o.packageSource;
  return o.packageVersion ? `${WORKER_PACKAGE}==${o.packageVersion}` : WORKER_PACKAGE;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    let output = '';
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    p.stdout.on('data', (d) => (output += d));
    p.stderr.on('data', (d) => (output += d));
    p.on('error', (e) => resolve({ code: 127, output: `${output}${e.message}\n` }));
    p.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

function lastLines(text: string, n: number): string {
  return text
    .trimEnd()
    .split('\n')
    .slice(-n)
    .map((l) => `  ${l}`)
    .join('\n');
}

/** Create the queue venv and install the worker package into it; throws a UserError saying how else to run. */
export async function ensureWorkerVenv(
  paths: QueuePaths,
  o: WorkerStartOptions,
  io: Pick<SupervisorIo, 'env' | 'stderr'>,
): Promise<string> {
  const entry = path.join(paths.venv, 'bin', ENTRY);
  if (fs.existsSync(entry) && !o.localWheel && !o.packageSource && !o.packageVersion) return entry;
  const python = io.env.KUBIYA_PYTHON || 'python3';
  if (!fs.existsSync(path.join(paths.venv, 'bin', 'pip'))) {
    const p = progress(`Creating the worker's Python environment in ${paths.venv}`, io.stderr);
    const r = await run(python, ['-m', 'venv', paths.venv], io.env);
    if (r.code !== 0) {
      p.fail('Could not create the Python environment');
      throw new UserError(`no worker command given, and \`${python} -m venv\` failed:\n${lastLines(r.output, 5)}`, {
        exitCode: 1,
        hint: HOW_TO,
      });
    }
    p.ok(`Created ${paths.venv}`);
  }
  const spec = packageSpec(o);
  const p = progress(`Installing ${spec} (pip)`, io.stderr);
  const r = await run(
    path.join(paths.venv, 'bin', 'pip'),
    ['install', '--disable-pip-version-check', '--upgrade', spec],
    io.env,
  );
  if (r.code !== 0 || !fs.existsSync(entry)) {
    p.fail(`Could not install ${spec}`);
    const why =
      r.code !== 0 ? `pip install failed:\n${lastLines(r.output, 8)}` : `the package has no \`${ENTRY}\` entry point`;
    throw new UserError(`no worker command given, and the default worker could not be installed: ${why}`, {
      exitCode: 1,
      hint: HOW_TO,
    });
  }
  p.ok(`Installed ${spec}`);
  return entry;
}

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
    hint: HOW_TO,
  });
}

/** The command to run: the user's, or the queue venv's worker entry point (installed on demand). */
export async function resolveWorkerCommand(
  plan: ProxyPlan,
  o: WorkerStartOptions,
  paths: QueuePaths,
  io: Pick<SupervisorIo, 'env' | 'stderr'>,
): Promise<string[]> {
  if (o.workerCommand && o.workerCommand.length > 0) return o.workerCommand;
  const entry = await ensureWorkerVenv(paths, o, io);
  // no --api-key: every local user can read a command line (ps, /proc/PID/cmdline); the worker reads
  // KUBIYA_API_KEY from the environment workerEnv() gives it
  return [entry, '--queue-id', plan.queueId, '--control-plane-url', plan.controlPlaneUrl];
}
