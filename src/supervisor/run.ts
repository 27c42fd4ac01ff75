import chalk from 'chalk';
import ora from 'ora';
import type { ProxyPlan, WorkerStartOptions } from '../config/plan.js';
import { startDaemon } from './daemon.js';
import { alreadyRunning, runningSupervisor } from './queue-lock.js';
import { ensureQueueDir } from './queue-dir.js';
import { Supervisor } from './supervisor.js';
import { resolveWorkerCommand } from './worker-command.js';

/**
 * Run a worker for a resolved plan; resolves to the CLI's exit code.
 * Foreground: supervises until the worker exits (its exit code is returned) or a signal stops it.
 * Daemon: starts a detached supervisor, waits for its readiness handshake and returns 0.
 */
export async function runWorker(plan: ProxyPlan, options: WorkerStartOptions): Promise<number> {
  const paths = ensureQueueDir(plan.queueId);
  const live = runningSupervisor(paths);
  if (live) throw alreadyRunning(plan.queueId, live);
  const command = await resolveWorkerCommand(plan, options, paths);
  if (options.daemon) {
    // a spinner on a TTY while the daemon starts the engine and the worker; plain output otherwise
    const spinner = process.stderr.isTTY ? ora({ text: `Starting queue ${plan.queueId} in the background`, stream: process.stderr }).start() : undefined;
    let info;
    try {
      info = await startDaemon(plan, options, command, paths);
    } finally {
      spinner?.stop();
    }
    const out = process.stdout;
    out.write(`${chalk.green('✓')} worker for queue ${plan.queueId} is running in the background\n`);
    out.write(`  supervisor pid: ${info.supervisor_pid}\n`);
    if (info.engine) out.write(`  proxy:          ${info.engine.url} (engine pid ${info.engine.pid})\n`);
    else out.write(`  gateway:        ${info.gateway_url}\n`);
    out.write(`  worker pid:     ${info.worker.pid}\n`);
    out.write(`  worker log:     ${info.logs.worker}\n`);
    if (info.logs.proxy) out.write(`  proxy log:      ${info.logs.proxy}\n`);
    out.write(`  supervisor log: ${info.logs.supervisor}\n`);
    out.write(`Follow it with \`kubiya worker logs --queue-id ${plan.queueId} -f\`; stop it with \`kubiya worker stop --queue-id ${plan.queueId}\`.\n`);
    return 0;
  }
  const say = (m: string) => process.stderr.write(`${chalk.dim('kubiya:')} ${m}\n`);
  const sup = new Supervisor({ plan, options, command, daemon: false, say });
  const onSignal = (sig: NodeJS.Signals) => sup.requestStop(sig);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  try {
    return await sup.run();
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
}
