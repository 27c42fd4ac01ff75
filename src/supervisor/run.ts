import type { ProxyPlan, WorkerStartOptions } from '../config/plan.js';

/** Run a worker for a resolved plan (foreground or daemon); resolves to the CLI's exit code. */
export async function runWorker(_plan: ProxyPlan, _options: WorkerStartOptions): Promise<number> {
  throw new Error('not built yet');
}
