/** Exit codes shared by every command (documented in the README). */
export const ExitCode = {
  ok: 0,
  failure: 1,
  /** bad flag, bad config, missing file: the user can fix it */
  usage: 2,
  /** a program the command needs is missing (sysexits EX_UNAVAILABLE): Python 3.8+ for the default worker */
  unavailable: 69,
  /** something we did not expect: a bug */
  internal: 70,
} as const;

/** An error the user can act on: printed without a stack, mapped to an exit code. */
export class UserError extends Error {
  readonly exitCode: number;
  readonly hint?: string;
  constructor(message: string, opts: { exitCode?: number; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'UserError';
    this.exitCode = opts.exitCode ?? ExitCode.usage;
    this.hint = opts.hint;
  }
}

/** A problem in a config: names the source (file or flag), the key path, what was expected and found. */
export class ConfigError extends UserError {
  readonly source: string;
  readonly keyPath: string;
  constructor(source: string, keyPath: string, problem: string, opts: { line?: number; column?: number } = {}) {
    const where = opts.line ? `${source}:${opts.line}${opts.column ? `:${opts.column}` : ''}` : source;
    super(`${where}: ${keyPath ? `${keyPath}: ` : ''}${problem}`);
    this.name = 'ConfigError';
    this.source = source;
    this.keyPath = keyPath;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}
