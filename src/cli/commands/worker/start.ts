import type { Command } from 'commander';

/** `kubiya worker start`: flags, proxy-config resolution, --dry-run; hands the plan to the supervisor. */
export function registerStart(worker: Command): void {
  worker.command('start').description('(not built yet)');
}
