import { UserError } from '../errors.js';

/** A queue id names its directory under ~/.kubiya/workers: safe as a file name and as a shell word. */
const QUEUE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const RULE = '1-128 letters, digits, ".", "_" or "-", starting with a letter or digit';

/** Whether `id` is a valid queue id (for directory listings: no error, just yes or no). */
export function isQueueId(id: string): boolean {
  return QUEUE_ID.test(id) && !id.includes('..');
}

/**
 * The one queue-id check, for every command and for dry run and real start alike: refuses ids that
 * could escape `~/.kubiya/workers/` (`..`, slashes), hide (`.hidden`) or read as a flag (`-rf`).
 * Throws UserError (exit 2) naming the problem.
 */
export function validateQueueId(id: string | undefined): string {
  if (id === undefined)
    throw new UserError('--queue-id is required', { hint: 'Example: kubiya worker status --queue-id my-queue' });
  const problem = queueIdProblem(id);
  if (problem) throw new UserError(problem, { hint: `invalid queue id "${id}": use ${RULE}` });
  return id;
}

function queueIdProblem(id: string): string | undefined {
  if (id.trim() === '') return '--queue-id must not be empty';
  if (id.includes('/') || id.includes('\\')) return `--queue-id "${id}" must not contain a slash`;
  if (id === '.' || id.includes('..')) return `--queue-id "${id}" must not be "." or contain ".."`;
  if (!/^[A-Za-z0-9._-]+$/.test(id)) return `--queue-id "${id}" may only contain letters, digits, ".", "_" and "-"`;
  if (id.length > 128) return '--queue-id is longer than 128 characters';
  if (!QUEUE_ID.test(id)) return `--queue-id "${id}" must start with a letter or digit`;
  return undefined;
}
