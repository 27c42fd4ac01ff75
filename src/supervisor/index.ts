/**
 * The supervisor's front door for the CLI: run a worker behind its engine (foreground or daemon),
 * and stop, inspect and tail queues. Everything takes the environment (HOME) it works in.
 * Starting a worker loads the config schema, YAML and the spinner: those load only when one starts,
 * so `worker status|stop|logs|list` stay quick.
 */
import type { ProxyPlan, WorkerStartOptions } from '../config/plan.js';
import type { SupervisorIo } from './io.js';

export type { SupervisorIo } from './io.js';
export { showLog } from './logs.js';
export { listQueueIds, type QueuePaths, queuePaths } from './queue-dir.js';
export { formatBytes, formatUptime, type QueueStatus, queueStatus } from './status.js';
export { type StopResult, stopQueue } from './stop.js';
export { type EngineUsage, formatUsage, usageSummary } from './usage.js';

/** Run a worker for a resolved plan (see run.ts); resolves to the CLI's exit code. */
export async function runWorker(plan: ProxyPlan, options: WorkerStartOptions, io: SupervisorIo): Promise<number> {
  return (await import('./run.js')).runWorker(plan, options, io);
}

/** The detached supervisor's side of `worker start --daemon` (see daemon.ts). */
export async function runDaemon(queueId: string, planToken: string, io: SupervisorIo): Promise<number> {
  return (await import('./daemon.js')).runDaemon(queueId, planToken, io);
}
