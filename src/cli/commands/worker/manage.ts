import type { Command } from 'commander';

/** `kubiya worker stop|status|logs|list`. */
export function registerManage(_worker: Command): void {}
