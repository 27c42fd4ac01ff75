import os from 'node:os';
import path from 'node:path';

/** Expand a leading `~` to the home directory (HOME is read at call time so tests can move it). */
export function expandHome(p: string): string {
  if (p === '~') return homeDir();
  if (p.startsWith('~/')) return path.join(homeDir(), p.slice(2));
  return p;
}

export function homeDir(): string {
  return process.env.HOME || os.homedir();
}

/** `~/.kubiya`, the root of everything the CLI keeps. */
export function kubiyaDir(): string {
  return path.join(homeDir(), '.kubiya');
}
