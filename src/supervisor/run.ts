import fs from 'node:fs';
import path from 'node:path';
import type { ProxyPlan, WorkerStartOptions } from '../config/plan.js';
import { startDaemon } from './daemon.js';
import { prepareDocker } from './docker/prepare.js';
import type { SupervisorIo } from './io.js';
import { progress } from './progress.js';
import { ensureQueueDir } from './queue-dir.js';
import { alreadyRunning, runningSupervisor } from './queue-lock.js';
import { Supervisor } from './supervisor.js';
import { findCommand, resolveWorkerCommand, workerNotFound } from './worker-command.js';

/**
 * Run a worker for a resolved plan; resolves to the CLI's exit code.
 * Foreground: supervises until the worker exits (its exit code is returned) or a signal stops it.
 * Daemon: starts a detached supervisor, waits for its readiness handshake and returns 0.
 */
export async function runWorker(plan: ProxyPlan, options: WorkerStartOptions, io: SupervisorIo): Promise<number> {
  const paths = ensureQueueDir(plan.queueId, io.env);
  const live = runningSupervisor(paths);
  if (live) throw alreadyRunning(plan.queueId, live);
  let command: string[];
  if (options.type === 'docker') {
    // the command runs in the image (none: the image's own); the engine must answer before anything starts
    command = options.workerCommand ?? [];
    await prepareDocker(options.docker!, io, options.quiet);
  } else {
    command = await resolveWorkerCommand(plan, options, paths, io);
    // before anything starts: a missing binary is the error alone, exit 127 (no engine, no "worker started")
    if (!findCommand(command[0], io.env)) throw workerNotFound(command[0]);
  }
  if (options.daemon) {
    // a spinner on a terminal while the daemon starts the engine and the worker (a plain line on one that
    // cannot draw it); nothing when stderr is not a terminal
    const spinner = io.stderr.isTTY
      ? progress(`Starting queue ${plan.queueId} in the background`, io.stderr)
      : undefined;
    let info: Awaited<ReturnType<typeof startDaemon>>;
    try {
      info = await startDaemon(plan, options, command, paths, io.env);
    } finally {
      spinner?.stop();
    }
    const out = (line: string) => io.stdout.write(`${line}\n`);
    out(`${io.outColor.green('✓')} worker for queue ${plan.queueId} is running in the background`);
    out(`  supervisor pid: ${info.supervisor_pid}`);
    if (info.engine) out(`  proxy:          ${info.engine.url} (engine pid ${info.engine.pid})`);
    else out(`  gateway:        ${info.gateway_url}`);
    if (info.worker.container)
      out(`  container:      ${info.worker.container.id.slice(0, 12)} (${info.worker.container.image})`);
    else out(`  worker pid:     ${info.worker.pid}`);
    out(`  worker log:     ${info.logs.worker}`);
    if (info.logs.proxy) out(`  proxy log:      ${info.logs.proxy}`);
    out(`  supervisor log: ${info.logs.supervisor}`);
    const page = info.webui ? readPageUrl(info.worker_dir) : undefined;
    if (page) out(`  worker page:    ${page}`);
    out(
      `Follow it with \`kubiya worker logs --queue-id ${plan.queueId} -f\`; ` +
        `stop it with \`kubiya worker stop --queue-id ${plan.queueId}\`.`,
    );
    return 0;
  }
  const say = (m: string) => io.stderr.write(`${io.color.dim('kubiya:')} ${m}\n`);
  const sup = new Supervisor({ plan, options, command, daemon: false, say, io });
  const off = io.onSignal(['SIGINT', 'SIGTERM', 'SIGHUP'], (sig) => sup.requestStop(sig));
  const offFault = io.onFault((e) => sup.fail(e));
  try {
    return await sup.run();
  } finally {
    off();
    offFault();
  }
}

/** The worker page's URL with its token, as the supervisor wrote it (undefined when there is none). */
function readPageUrl(dir: string): string | undefined {
  try {
    return fs.readFileSync(path.join(dir, 'webui.url'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
