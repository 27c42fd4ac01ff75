import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type PackageRequest, WORKER_DIST } from '../config/worker-package.js';
import { UserError } from '../errors.js';
import type { SupervisorIo } from './io.js';
import { progress } from './progress.js';
import { requirePython } from './python.js';
import type { QueuePaths } from './queue-dir.js';

/** The console script the worker package installs into the venv. */
export const WORKER_ENTRY = 'kubiya-control-plane-worker';

/** The other ways to run a worker, for every error that stops the default one. */
export const WORKER_COMMAND_HOWTO = [
  'Give the worker command explicitly, in any of these ways:',
  '  kubiya worker start --queue-id ID -- node my-worker.mjs',
  '  kubiya worker start --queue-id ID --worker-command "python -m my_worker"',
  '  KUBIYA_WORKER_COMMAND="python -m my_worker" kubiya worker start --queue-id ID',
].join('\n');

/** How one install goes. */
export interface InstallOptions {
  /**
   * true (the default of `worker start`): look for a newer package and install it (`pip install --upgrade`; a git
   * or file source is reinstalled, as its ref may have moved or its file been rebuilt under the same version).
   * false (--no-update): use what the venv has; an error when it has nothing (or not the version pinned).
   */
  update: boolean;
  /** --no-cache: `pip cache purge` first, so nothing comes from pip's cache of earlier downloads and builds */
  noCache?: boolean;
}

/** What the venv holds after an install. */
export interface InstalledPackage {
  /** venv/bin/kubiya-control-plane-worker */
  entry: string;
  /** the installed version of kubiya-control-plane-api */
  version: string;
  /** the version before this install (undefined: there was none) */
  previous?: string;
}

type Io = Pick<SupervisorIo, 'env' | 'stderr'>;

/** Run `cmd` to its end: its exit code (127 when it could not start) and its stdout and stderr as one text. */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
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

// the installed version, and whether it satisfies a specifier (pip's own PEP 440 rules, from its vendored
// `packaging`; when that cannot be imported the answer is "yes" rather than a refusal)
const VERSION_PROBE = `
import sys, importlib.metadata as md
try:
    v = md.version(sys.argv[1])
except md.PackageNotFoundError:
    sys.exit(0)
ok = 1
if len(sys.argv) > 2 and sys.argv[2]:
    try:
        from pip._vendor.packaging.specifiers import SpecifierSet
        ok = int(SpecifierSet(sys.argv[2]).contains(v, prereleases=True))
    except Exception:
        pass
print(v, ok)
`;

/** The version of the worker package in the venv (undefined: none), and whether it meets `specifier`. */
export async function installedVersion(
  paths: QueuePaths,
  env: NodeJS.ProcessEnv,
  specifier = '',
): Promise<{ version?: string; satisfies: boolean }> {
  const python = path.join(paths.venv, 'bin', 'python');
  if (!fs.existsSync(python)) return { satisfies: false };
  const r = await run(python, ['-c', VERSION_PROBE, WORKER_DIST, specifier], env);
  const m = /^(\S+) ([01])$/m.exec(r.output);
  return m ? { version: m[1], satisfies: m[2] === '1' } : { satisfies: false };
}

/**
 * Make sure the queue's venv holds the worker package from `request` and return its entry point and version.
 * Checks Python first (exit 69 with the OS's install command when it is missing), creates the venv on demand,
 * clears pip's cache with `noCache`, then installs or updates (see InstallOptions). Throws a UserError saying
 * why and how else to run a worker; a failed install leaves whatever pip left (pip replaces a package only
 * once the new one is built). Used by `worker start`, and by anything that updates a running queue's package.
 */
export async function installWorkerPackage(
  paths: QueuePaths,
  request: PackageRequest,
  opts: InstallOptions,
  io: Io,
): Promise<InstalledPackage> {
  const entry = path.join(paths.venv, 'bin', WORKER_ENTRY);
  const pip = path.join(paths.venv, 'bin', 'pip');
  const needVenv = !fs.existsSync(pip);
  const { python } = requirePython(io.env, needVenv && opts.update, WORKER_COMMAND_HOWTO);
  if (!opts.update) return useInstalled(request, await installedVersion(paths, io.env, request.specifier), entry, io);
  if (needVenv) {
    const p = progress(`Creating the worker's Python environment in ${paths.venv}`, io.stderr);
    const r = await run(python, ['-m', 'venv', paths.venv], io.env);
    if (r.code !== 0) {
      p.fail('Could not create the Python environment');
      throw new UserError(`\`${python} -m venv\` failed:\n${lastLines(r.output, 5)}`, {
        exitCode: 1,
        hint: WORKER_COMMAND_HOWTO,
      });
    }
    p.ok(`Created ${paths.venv}`);
  }
  const before = await installedVersion(paths, io.env, request.specifier);

  if (opts.noCache) {
    const p = progress("Clearing pip's cache (--no-cache)", io.stderr);
    const r = await run(pip, ['cache', 'purge', '--disable-pip-version-check'], io.env);
    // pip says so when its cache is off (PIP_NO_CACHE_DIR): then there is nothing to clear, and no reason to stop
    if (r.code === 0) p.ok(`Cleared pip's cache: ${lastLines(r.output, 1).trim() || 'done'}`);
    else p.fail(`Could not clear pip's cache (going on without): ${lastLines(r.output, 1).trim()}`);
  }

  const p = progress(`Installing ${request.spec} (pip)`, io.stderr);
  const base = ['install', '--disable-pip-version-check'];
  const steps: string[][] =
    request.kind !== 'index' && before.version
      ? // the same version from a moved ref or a rebuilt file is still new: replace the package itself, then let a
        // plain install bring in what its requirements now add
        [
          [...base, '--force-reinstall', '--no-deps', request.spec],
          [...base, request.spec],
        ]
      : [[...base, '--upgrade', request.spec]];
  for (const args of steps) {
    const r = await run(pip, args, io.env);
    if (r.code !== 0) {
      p.fail(`Could not install ${request.spec}`);
      throw new UserError(`the worker package could not be installed: pip install failed:\n${lastLines(r.output, 8)}`, {
        exitCode: 1,
        hint: `The package came from ${request.from}.\n${WORKER_COMMAND_HOWTO}`,
      });
    }
  }
  const after = await installedVersion(paths, io.env);
  if (!after.version || !fs.existsSync(entry)) {
    p.fail(`Could not install ${request.spec}`);
    const why = after.version
      ? `${WORKER_DIST} ${after.version} has no \`${WORKER_ENTRY}\` entry point`
      : `pip installed no ${WORKER_DIST} from ${request.spec}`;
    throw new UserError(`the worker package could not be installed: ${why}`, {
      exitCode: 1,
      hint: WORKER_COMMAND_HOWTO,
    });
  }
  const v = after.version;
  if (!before.version) p.ok(`Installed ${WORKER_DIST} ${v}`);
  else if (before.version !== v) p.ok(`Updated ${WORKER_DIST} ${before.version} -> ${v}`);
  else if (request.kind === 'index') p.ok(`${WORKER_DIST} ${v} is the newest the index offers for ${request.spec}`);
  else p.ok(`Reinstalled ${WORKER_DIST} ${v} from ${request.from}`);
  return { entry, version: v, previous: before.version };
}

/**
 * --no-update: what the venv has, when it has the entry point (and, for a pinned version, the right one). An entry
 * point whose package version cannot be read (put there by hand) is used as it is, its version "unknown".
 */
function useInstalled(
  request: PackageRequest,
  before: { version?: string; satisfies: boolean },
  entry: string,
  io: Io,
): InstalledPackage {
  if (!fs.existsSync(entry))
    throw new UserError(`--no-update: the queue has no worker package installed yet (no ${entry})`, {
      exitCode: 1,
      hint: `Drop --no-update to install ${request.spec}`,
    });
  if (!before.version) {
    io.stderr.write(`Using the installed ${WORKER_ENTRY} (--no-update; its package version is unknown)\n`);
    return { entry, version: 'unknown' };
  }
  if (request.kind === 'index' && request.specifier && !before.satisfies)
    throw new UserError(
      `--no-update: the queue's venv has ${WORKER_DIST} ${before.version}, which is not ${request.specifier} ` +
        `(asked for by ${request.from})`,
      { exitCode: 1, hint: `Drop --no-update to install ${request.spec}` },
    );
  io.stderr.write(`Using the installed ${WORKER_DIST} ${before.version} (--no-update: no check for a newer one)\n`);
  return { entry, version: before.version, previous: before.version };
}
