import type { Command } from 'commander';

/** Registers the `kubiya worker` command group. */
export function register(program: Command): void {
  program.command('worker').description('(not built yet)');
}
