import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempHome } from '../fakes/temp-home.js';
import { runCli } from './config-run.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin/kubiya.js');
export const FIXTURES = path.join(ROOT, 'test/integration/worker-fixtures');
export const MOCK_CONFIG = path.join(ROOT, 'templates/mock.yaml');

/** A temporary HOME; everything a test starts carries it in its environment. */
export function makeHome(): string {
  return makeTempHome('kubiya-worker-test-').home;
}

/**
 * A temporary HOME for one test, checked when the test finishes: nothing it started may outlive it
 * (what is left is killed and fails the test), then the directory goes. Per test, so the tests of a
 * file can run concurrently (each has its own HOME and queues).
 */
export function testHome(onTestFinished: (fn: () => Promise<void>) => void): string {
  const home = makeHome();
  onTestFinished(async () => {
    const left = await reap(home);
    fs.rmSync(home, { recursive: true, force: true });
    if (left.length > 0) throw new Error(`processes left behind by the test: ${left.join(', ')}`);
  });
  return home;
}

/** Environment for the CLI under test: short restart backoffs so tests stay quick. */
export function testEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    NO_COLOR: '1',
    KUBIYA_RESTART_BACKOFF_MS: '100',
    KUBIYA_RESTART_BACKOFF_MAX_MS: '400',
    KUBIYA_ENGINE_DRAIN_MS: '3000',
    ...extra,
  };
  for (const k of [
    'OPENAI_API_KEY',
    'OPENAI_BASE_URL',
    'KUBIYA_API_KEY',
    'KUBIYA_WORKER_COMMAND',
    'KUBIYA_ENGINE_BIN',
    'KUBIYA_CONTEXT',
  ])
    if (!(k in extra)) delete env[k];
  return env;
}

/**
 * The environment for a start that installs the worker package: pip sees only the folder `index` (wheels a test
 * built), its own cache, and no pip.conf or PIP_* of the machine's (never the network).
 */
export function pipEnv(home: string, index: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = testEnv(home, {
    PIP_NO_INDEX: '1',
    PIP_FIND_LINKS: index,
    PIP_CACHE_DIR: path.join(home, 'pip-cache'),
    PIP_CONFIG_FILE: '/dev/null',
    ...extra,
  });
  for (const k of ['PIP_INDEX_URL', 'PIP_EXTRA_INDEX_URL', 'PIP_NO_CACHE_DIR', 'KUBIYA_PYTHON'])
    if (!(k in extra)) delete env[k];
  for (const k of Object.keys(env)) if (k.startsWith('KUBIYA_WORKER_') && !(k in extra)) delete env[k];
  return env;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface StartOpts {
  config?: string;
  daemon?: boolean;
  graceSeconds?: number;
  maxLogSize?: number;
  maxLogBackups?: number;
  /** more worker start flags (before the `--` that starts the worker command) */
  flags?: string[];
}

/** Arguments (after `node`) for `kubiya worker start` of `queueId` running `command` behind the mock config. */
export function startArgs(queueId: string, command: string[], o: StartOpts = {}): string[] {
  const args = [
    BIN,
    'worker',
    'start',
    `--queue-id=${queueId}`,
    '--enable-local-proxy',
    '--proxy-config-file',
    o.config ?? MOCK_CONFIG,
    '--grace',
    String(o.graceSeconds ?? 2),
  ];
  if (o.daemon) args.push('-d');
  if (o.maxLogSize) args.push('--max-log-size', String(o.maxLogSize));
  if (o.maxLogBackups !== undefined) args.push('--max-log-backups', String(o.maxLogBackups));
  return [...args, ...(o.flags ?? []), '--', ...command];
}

/**
 * Arguments (after `kubiya`) for a gateway-mode `worker start` of `queueId` running `node -e <script>`:
 * no engine, and a gateway and control plane on a closed loopback port. For tests of what happens before
 * or around a start, where an engine would only cost time.
 */
export function gatewayStartArgs(queueId: string, script: string): string[] {
  const closed = 'http://127.0.0.1:1';
  return ['worker', 'start', `--queue-id=${queueId}`, '--disable-local-proxy', '--gateway-url', closed].concat([
    '--api-key',
    'kb-k',
    '--control-plane-url',
    closed,
    '--',
    'node',
    '-e',
    script,
  ]);
}

/** `kubiya <args>` as arguments after `node`. */
export function kubiya(...args: string[]): string[] {
  return [BIN, ...args];
}

/** Spawn `node <args>` (not awaited): for tests that signal it while it runs. */
export function spawnCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): ChildProcess & { out: () => string; err: () => string; done: Promise<Run> } {
  const p = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout!.on('data', (d) => (stdout += d));
  p.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<Run>((resolve) => p.on('close', (code) => resolve({ code, stdout, stderr })));
  return Object.assign(p, { out: () => stdout, err: () => stderr, done });
}

/** Run the CLI to completion. */
export function cli(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return spawnCli(args, env).done;
}

/**
 * Run a command that starts no process (`worker status|logs|list`) in-process, in the HOME of
 * `env`: no node start-up per call (see runCli). `args` follow `kubiya`.
 */
export function cliInProcess(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return runCli(args, { env, home: env.HOME });
}

/** Poll until `fn` returns a truthy value. */
export async function until<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Pids of live processes whose environment has HOME=<home>: everything a test started. */
export function processesOf(home: string): number[] {
  const needle = Buffer.from(`HOME=${home}\0`);
  const found: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if (fs.readFileSync(`/proc/${d}/environ`).includes(needle)) found.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return found;
}

/** Kill everything a test left behind; returns what was left (a test asserts it is empty). */
export async function reap(home: string): Promise<number[]> {
  let left: number[] = [];
  // processes exit asynchronously after a stop; give them a moment before calling them orphans
  for (let i = 0; i < 30; i++) {
    left = processesOf(home);
    if (left.length === 0) return [];
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return left;
}

/** The parsed `worker.pid` of a queue. */
export function pidFile(home: string, queueId: string): Record<string, any> | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(home, '.kubiya/workers', queueId, 'worker.pid'), 'utf8'));
  } catch {
    return undefined;
  }
}

export function queueFile(home: string, queueId: string, name: string): string {
  return path.join(home, '.kubiya/workers', queueId, name);
}

export function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
