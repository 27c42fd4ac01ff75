import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLiteLLMConfig } from '../config/litellm/load.js';
import type { ProxyPlan, WorkerStartOptions } from '../config/plan.js';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { SupervisorIo } from './io.js';
import type { PidInfo } from './pid-file.js';
import { type QueuePaths, queuePaths } from './queue-dir.js';
import { tailLines } from './rotating-log.js';
import { Supervisor } from './supervisor.js';

/** The env var that hands the user's API key to the daemon (never written to disk). */
const KEY_ENV = 'KUBIYA_SUPERVISOR_API_KEY';

/**
 * The plan one start hands its daemon: a file of its own (`supervisor-plan.<token>.json`), so two starts of
 * one queue racing each other never read each other's plan; which of them runs is decided by the exclusive
 * creation of `worker.pid` (acquireQueue), the first file of the queue either writes.
 */
function planFile(paths: QueuePaths, token: string): string {
  if (!/^[0-9a-f]{8,64}$/.test(token)) throw new UserError(`bad plan token "${token}"`);
  return path.join(paths.dir, `supervisor-plan.${token}.json`);
}

/** What the daemon reads from its plan file (0600; removed once read). */
interface PlanFile {
  plan: Omit<ProxyPlan, 'config' | 'apiKey'> & { config?: { source: string; raw: Record<string, unknown> } };
  options: WorkerStartOptions;
  /** the worker command, resolved by `worker start` (for the default worker: the venv's entry point, installed) */
  command: string[];
}

type Handshake =
  | { type: 'ready'; info: PidInfo }
  | { type: 'failed'; message: string; hint?: string; exitCode?: number };

function kubiyaBin(): string {
  return fileURLToPath(new URL('../../bin/kubiya.js', import.meta.url));
}

/**
 * Start a detached supervisor (its own session) for the queue and wait for its handshake: returns
 * once the engine is ready and the worker started, or throws with the reason.
 */
export async function startDaemon(
  plan: ProxyPlan,
  options: WorkerStartOptions,
  command: string[],
  paths: QueuePaths,
  baseEnv: NodeJS.ProcessEnv,
): Promise<PidInfo> {
  const { apiKey, config, ...rest } = plan;
  const file: PlanFile = {
    plan: { ...rest, config: config ? { source: config.source, raw: config.raw } : undefined },
    // the default worker's package is installed (or updated) by now, and `command` is its entry point: the daemon
    // installs nothing (options.installedPackageVersion says which version it runs); a container's command is the
    // user's or the image's own
    options,
    command,
  };
  const token = randomBytes(8).toString('hex');
  const ownPlan = planFile(paths, token);
  writeFileAtomic(ownPlan, JSON.stringify(file), 0o600);
  const out = fs.openSync(paths.supervisorLog, 'a', 0o600);
  const env: NodeJS.ProcessEnv = { ...baseEnv };
  if (apiKey) env[KEY_ENV] = apiKey;
  const args = [kubiyaBin(), 'worker', '__supervise', '--queue-id', plan.queueId, '--plan', token];
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', out, out, 'ipc'],
    env,
  });
  fs.closeSync(out);
  const timeoutMs = (plan.proxyTimeoutSeconds + 60) * 1000;
  const result = await new Promise<Handshake | { type: 'exit'; code: number | null } | { type: 'timeout' }>(
    (resolve) => {
      const timer = setTimeout(() => resolve({ type: 'timeout' }), timeoutMs);
      child.once('message', (m) => (clearTimeout(timer), resolve(m as Handshake)));
      child.once('exit', (code) => (clearTimeout(timer), resolve({ type: 'exit', code })));
    },
  );
  if (child.connected) child.disconnect();
  child.unref();
  if (result.type === 'ready') return result.info;
  fs.rmSync(ownPlan, { force: true });
  if (result.type === 'failed')
    throw new UserError(result.message, { exitCode: result.exitCode ?? 1, hint: result.hint });
  const tail = tailLines(paths.supervisorLog, 10)
    .map((l) => `  ${l}`)
    .join('\n');
  const why =
    result.type === 'timeout'
      ? `did not report ready within ${timeoutMs / 1000}s`
      : `exited (code ${result.code}) before it was ready`;
  if (result.type === 'timeout') process.kill(child.pid!, 'SIGTERM');
  throw new UserError(`the background supervisor ${why}; last lines of ${paths.supervisorLog}:\n${tail}`, {
    exitCode: 1,
  });
}

/**
 * The daemon side (`kubiya worker __supervise`): read the plan, supervise, report via the handshake
 * (the IPC channel to the `worker start` that spawned this process).
 */
export async function runDaemon(queueId: string, planToken: string, io: SupervisorIo): Promise<number> {
  const paths = queuePaths(queueId, io.env);
  const say = (m: string) => io.stdout.write(`${new Date().toISOString()} ${m}\n`);
  // stdout is supervisor.log: a write it cannot make (a full disk) must not end the supervision
  io.stdout.on('error', () => undefined);
  const report = (m: Handshake) => {
    if (process.connected) {
      process.send?.(m);
      process.disconnect?.();
    }
  };
  try {
    const own = planFile(paths, planToken);
    const file = JSON.parse(fs.readFileSync(own, 'utf8')) as PlanFile;
    fs.rmSync(own, { force: true });
    const apiKey = io.env[KEY_ENV];
    delete io.env[KEY_ENV];
    const { config, ...rest } = file.plan;
    // re-load from the raw config in the same environment: identical settings, no secrets on disk
    const plan: ProxyPlan = {
      ...rest,
      apiKey,
      config: config
        ? loadLiteLLMConfig({ kind: 'object', value: config.raw, label: config.source }, { env: io.env })
        : undefined,
    };
    const command = file.command;
    const sup = new Supervisor({
      plan,
      options: file.options,
      command,
      daemon: true,
      say,
      io,
      onReady: (info) => report({ type: 'ready', info }),
    });
    io.onSignal(['SIGTERM', 'SIGINT'], (sig) => sup.requestStop(sig));
    io.onSignal(['SIGHUP'], () => undefined); // no terminal to lose; keep running
    io.onFault((e) => sup.fail(e));
    say(`supervisor ${process.pid} starting queue ${queueId}`);
    const code = await sup.run();
    say(`supervisor exiting with code ${code}`);
    return code;
  } catch (e) {
    const err = e as UserError;
    say(`error: ${err.message}`);
    report({ type: 'failed', message: err.message, hint: err.hint, exitCode: err.exitCode });
    return err.exitCode ?? 1;
  }
}
