import chalk from 'chalk';

/** Colour only on a TTY and never when NO_COLOR is set (https://no-color.org). */
export function configureColor(stream: NodeJS.WriteStream = process.stdout): void {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') chalk.level = 0;
  else if (!stream.isTTY && !process.env.FORCE_COLOR) chalk.level = 0;
}

export type OutputMode = 'text' | 'json';

export function parseOutputMode(v: string | undefined): OutputMode {
  if (v === undefined || v === 'text' || v === 'table' || v === 'wide') return 'text';
  if (v === 'json') return 'json';
  throw new Error(`--output must be "text" or "json", not "${v}"`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A plain aligned table (kubectl style): header row in upper case, two spaces between columns. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('   ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function warn(message: string): void {
  process.stderr.write(`${chalk.yellow('warning:')} ${message}\n`);
}
