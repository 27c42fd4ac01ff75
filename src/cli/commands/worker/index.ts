import type { Command } from 'commander';
import { registerStart } from './start.js';
import { registerManage } from './manage.js';

/** Registers the `kubiya worker` command group: start (resolution, dry-run) and stop/status/logs/list. */
export function register(program: Command): void {
  const worker = program.command('worker').description('Run and manage workers, each behind its own local LLM proxy');
  registerStart(worker);
  registerManage(worker);
}
