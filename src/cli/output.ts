import { Chalk, type ChalkInstance } from 'chalk';
import { UserError } from '../errors.js';

/** A stream the CLI writes to: the process's own in a real run, a capture in tests. */
export type OutStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/**
 * Colour only on a TTY, never when NO_COLOR is set (https://no-color.org); FORCE_COLOR forces it.
 * A chalk instance per run, so one command's choice never leaks into another's.
 */
export function colorFor(stream: OutStream, env: NodeJS.ProcessEnv): ChalkInstance {
  const off = (env.NO_COLOR !== undefined && env.NO_COLOR !== '') || (!stream.isTTY && !env.FORCE_COLOR);
  return off ? new Chalk({ level: 0 }) : new Chalk();
}

export type OutputMode = 'text' | 'json';

/** What `-o/--output` accepts; `table` and `wide` are kubectl habits that mean text. */
const MODES: Record<string, OutputMode> = { text: 'text', json: 'json', table: 'text', wide: 'text' };

/** The one parser of `-o/--output`: an unknown format is a usage error (exit 2) naming the accepted ones. */
export function parseOutputMode(v: string | undefined): OutputMode {
  if (v === undefined) return 'text';
  const mode = Object.hasOwn(MODES, v) ? MODES[v] : undefined;
  if (!mode) throw new UserError(`-o/--output must be one of text, json; found "${v}"`);
  return mode;
}

/** Whether the command line asked for JSON output (`-o json`, `-ojson`, `--output json`, `--output=json`, `--json`). */
export function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  const args = end === -1 ? argv : argv.slice(0, end); // the worker's own arguments are not ours
  return args.some(
    (a, i) =>
      a === '--json' ||
      a === '--output=json' ||
      a === '-ojson' ||
      ((a === '-o' || a === '--output') && args[i + 1] === 'json'),
  );
}

/** A plain aligned table (kubectl style): header row in upper case, two spaces between columns. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('   ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** How a command prints: lines and JSON on stdout, warnings on stderr. */
export interface Printer {
  /** `text` plus a newline on stdout */
  line(text: string): void;
  /** `value` as indented JSON on stdout */
  json(value: unknown): void;
  /** `warning: message` on stderr */
  warn(message: string): void;
}

/** A printer on the given streams. */
export function printer(stdout: OutStream, stderr: OutStream, color: ChalkInstance): Printer {
  return {
    line: (text) => void stdout.write(`${text}\n`),
    json: (value) => void stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    warn: (message) => void stderr.write(`${color.yellow('warning:')} ${message}\n`),
  };
}
