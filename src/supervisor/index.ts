/**
 * The supervisor's front door for the CLI: run a worker behind its engine (foreground or daemon),
 * and stop, inspect and tail queues. Everything takes the environment (HOME) it works in.
 */
export type { SupervisorIo } from './io.js';
export { runWorker } from './run.js';
export { runDaemon } from './daemon.js';
export { stopQueue, type StopResult } from './stop.js';
export { queueStatus, formatBytes, formatUptime, type QueueStatus } from './status.js';
export { listQueueIds, queuePaths, type QueuePaths } from './queue-dir.js';
export { showLog } from './logs.js';
