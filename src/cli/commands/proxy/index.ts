import type { Command } from 'commander';

/** Registers the `kubiya proxy` command group. */
export function register(program: Command): void {
  program.command('proxy').description('(not built yet)');
}
