import { maskText, secretMasker } from '../../config/litellm/secrets.js';

/** Levels in order; a logger prints its level and above. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The logger the engine writes to. A pino instance fits this shape too. */
export interface EngineLogger {
  debug(fields: object, msg?: string): void;
  info(fields: object, msg?: string): void;
  warn(fields: object, msg?: string): void;
  error(fields: object, msg?: string): void;
  isLevelEnabled?(level: string): boolean;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** one JSON object per line instead of text */
  json?: boolean;
  /** strings that must never appear in a log line (resolved secrets) */
  secrets?: Iterable<string>;
  write?: (line: string) => void;
}

/**
 * Mask known secrets in an error's message before it reaches a client or a log
 * (error paths only: upstreams may echo a key).
 */
export function redactError<E extends { message: string }>(err: E, secrets: readonly string[]): E {
  const m = maskText(err.message, secrets);
  if (m !== err.message) err.message = m;
  return err;
}

/**
 * A small structured logger: text (`time level msg k=v`) or JSON lines. Known secret values are
 * masked in every line. The engine only logs at start-up, on errors and in debug mode, so a
 * synchronous write is fine.
 */
export function createLogger(opts: LoggerOptions = {}): EngineLogger {
  const min = LOG_LEVELS.indexOf(opts.level ?? 'info');
  const mask = secretMasker(opts.secrets ?? []);
  const write = opts.write ?? ((line: string) => process.stdout.write(line));
  const emit = (level: LogLevel, fields: object, msg?: string) => {
    if (LOG_LEVELS.indexOf(level) < min) return;
    const time = new Date().toISOString();
    let line: string;
    if (opts.json) line = JSON.stringify({ time, level, msg: msg ?? '', ...fields });
    else {
      let kv = '';
      for (const [k, v] of Object.entries(fields)) {
        if (v === undefined) continue;
        const s = typeof v === 'string' ? v : JSON.stringify(v);
        kv += ` ${k}=${/[\s"=]/.test(s) ? JSON.stringify(s) : s}`;
      }
      line = `${time} ${level.toUpperCase().padEnd(5)} ${msg ?? ''}${kv}`;
    }
    write(`${mask(line)}\n`);
  };
  return {
    debug: (f, m) => emit('debug', f, m),
    info: (f, m) => emit('info', f, m),
    warn: (f, m) => emit('warn', f, m),
    error: (f, m) => emit('error', f, m),
    isLevelEnabled: (level) => LOG_LEVELS.indexOf(level as LogLevel) >= min,
  };
}
