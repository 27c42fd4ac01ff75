import os from 'node:os';
import path from 'node:path';

/** Expand a leading `~` to the home directory of `env` (HOME is read at call time so tests can move it). */
export function expandHome(p: string, env: NodeJS.ProcessEnv = process.env): string {
  if (p === '~') return homeDir(env);
  if (p.startsWith('~/')) return path.join(homeDir(env), p.slice(2));
  return p;
}

/** `$HOME`, else the account's home directory. */
export function homeDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.HOME || os.homedir();
}

/** `~/.kubiya`, the root of everything the CLI keeps. */
export function kubiyaDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(homeDir(env), '.kubiya');
}
