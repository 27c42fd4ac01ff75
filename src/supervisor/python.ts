import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { ExitCode, UserError } from '../errors.js';

/** What one run of the Python the default worker needs says about itself (`kubiya doctor` and `worker start`). */
export interface PythonProbe {
  /** the command: KUBIYA_PYTHON, else python3 */
  python: string;
  /** it ran and answered */
  found: boolean;
  /** e.g. 3.11.7 */
  version?: string;
  /** 3.8 or newer */
  recent: boolean;
  /** the modules that make a venv with pip in it, and pip itself */
  venv: boolean;
  ensurepip: boolean;
  pip: boolean;
}

// one run (each start of an interpreter can cost seconds behind a version manager's shim): the version, and
// whether venv, ensurepip and pip are there (found, not imported: importing pip alone takes a while)
const PY_PROBE =
  'import sys, importlib.util as u; ' +
  "print('%d.%d.%d' % sys.version_info[:3], *(int(u.find_spec(m) is not None) for m in ('venv', 'ensurepip', 'pip')))";

/** Ask the Python `worker start` would use about its version, venv, ensurepip and pip. */
export function probePython(env: NodeJS.ProcessEnv): PythonProbe {
  const python = env.KUBIYA_PYTHON?.trim() || 'python3';
  const r = spawnSync(python, ['-c', PY_PROBE], { env, encoding: 'utf8', timeout: 15_000 });
  const m = r.status === 0 ? /^(\d+)\.(\d+)\.(\d+) (\d) (\d) (\d)$/m.exec(r.stdout ?? '') : null;
  if (!m) return { python, found: false, recent: false, venv: false, ensurepip: false, pip: false };
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return {
    python,
    found: true,
    version: `${m[1]}.${m[2]}.${m[3]}`,
    recent: maj > 3 || (maj === 3 && min >= 8),
    venv: m[4] === '1',
    ensurepip: m[5] === '1',
    pip: m[6] === '1',
  };
}

/** What is wrong with it for the default worker (none: undefined); `venv`: it must also be able to make a venv. */
export function pythonProblem(p: PythonProbe, venv = true): string | undefined {
  if (!p.found) return `${p.python} not found or does not run`;
  if (!p.recent) return `${p.python} is Python ${p.version}; the worker needs 3.8 or newer`;
  if (venv && (!p.venv || !p.ensurepip))
    return (
      `${p.python} (Python ${p.version}) has no ${!p.venv ? 'venv' : 'ensurepip'} module, ` +
      "so it cannot make the worker's venv with pip in it"
    );
  return undefined;
}

/** The lines of /etc/os-release as a map (ID, ID_LIKE, VERSION_ID, ...); empty when there is none. */
export function readOsRelease(file = '/etc/os-release'): Record<string, string> {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]] = m[2].replace(/^(["'])(.*)\1$/, '$2');
  }
  return out;
}

/** How to install Python 3.8+ with venv and pip on this OS: one command, or where to get it. */
export function pythonInstallHow(platform: NodeJS.Platform, osRelease: Record<string, string>): string {
  if (platform === 'darwin') return 'brew install python@3.12   (Homebrew; or the installer from python.org)';
  const ids = `${osRelease.ID ?? ''} ${osRelease.ID_LIKE ?? ''}`.toLowerCase().split(/\s+/);
  const major = Number.parseInt(osRelease.VERSION_ID ?? '', 10);
  if (ids.some((i) => ['debian', 'ubuntu'].includes(i)))
    return 'sudo apt-get update && sudo apt-get install -y python3 python3-venv python3-pip';
  if (ids.includes('amzn'))
    return major === 2
      ? 'sudo yum install -y python3 python3-pip   (Amazon Linux 2)'
      : 'sudo dnf install -y python3 python3-pip';
  if (ids.some((i) => ['rhel', 'centos', 'fedora', 'rocky', 'almalinux', 'ol'].includes(i)))
    return major > 0 && major < 8
      ? 'sudo yum install -y python3 python3-pip'
      : 'sudo dnf install -y python3 python3-pip';
  if (ids.includes('alpine')) return 'sudo apk add python3 py3-pip';
  if (ids.some((i) => ['suse', 'opensuse', 'sles'].includes(i)) || ids.some((i) => i.startsWith('opensuse')))
    return 'sudo zypper install -y python3 python3-pip';
  return 'install Python 3.8+ with venv and pip from https://www.python.org/downloads/';
}

/** The fix for a missing or unusable Python, for this machine. */
export function pythonFix(): string {
  return `${pythonInstallHow(process.platform, readOsRelease())}; or point KUBIYA_PYTHON at a Python 3.8+`;
}

/**
 * Check the Python the default worker needs, up front: throws a UserError with this OS's install command and
 * exit code 69 (EX_UNAVAILABLE: a program it needs is missing), distinct from every other failure of a start.
 */
export function requirePython(env: NodeJS.ProcessEnv, venv: boolean, otherWays: string): PythonProbe {
  const p = probePython(env);
  const problem = pythonProblem(p, venv);
  if (problem)
    throw new UserError(`the default worker needs Python 3.8+ with venv and pip: ${problem}`, {
      exitCode: ExitCode.unavailable,
      hint: `Install it: ${pythonFix()}\n${otherWays}`,
    });
  return p;
}
