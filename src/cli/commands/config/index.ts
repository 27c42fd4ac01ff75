import type { Command } from 'commander';

/** Registers the `kubiya config` command group. */
export function register(program: Command): void {
  program.command('config').description('(not built yet)');
}
