import { UserError } from '../errors.js';

const TRUE = ['true', '1', 'yes'];
const FALSE = ['false', '0', 'no'];

/**
 * A boolean environment variable: `true/1/yes` or `false/0/no` (any case); unset or empty is
 * undefined; anything else is an error naming the variable.
 */
export function envBool(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const v = raw.trim().toLowerCase();
  if (TRUE.includes(v)) return true;
  if (FALSE.includes(v)) return false;
  throw new UserError(`${name} must be one of true, 1, yes, false, 0, no; found "${raw}"`);
}

/** A string environment variable; unset or blank is undefined. */
export function envString(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw.trim() === '' ? undefined : raw;
}
