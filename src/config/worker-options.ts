import { UserError } from '../errors.js';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** `10KB`, `5MB`, `1GB`, `512` (bytes) -> bytes (binary units). */
export function parseSize(value: string, flag = '--max-log-size'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined)
    throw new UserError(`${flag}: expected a size such as 10KB, 5MB or 1GB, found "${value}"`);
  const bytes = Math.floor(Number(m[1]) * unit);
  if (bytes <= 0) throw new UserError(`${flag}: must be more than 0 bytes, found "${value}"`);
  return bytes;
}

/** A non-negative number of seconds (decimals allowed). */
export function parseSeconds(value: string, flag: string, opts: { positive?: boolean } = {}): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (opts.positive && n === 0)) {
    throw new UserError(
      `${flag}: expected a ${opts.positive ? 'positive' : 'non-negative'} number of seconds, found "${value}"`,
    );
  }
  return n;
}

const INTERVAL_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `30s`, `5m`, `1h`, `1h30m` (Go's duration style) -> milliseconds; at least one second. */
export function parseInterval(value: string, flag: string): number {
  const v = value.trim();
  const parts = [...v.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  const ms = parts.reduce((sum, m) => sum + Number(m[1]) * INTERVAL_UNITS[m[2]], 0);
  if (v === '' || parts.map((m) => m[0]).join('') !== v)
    throw new UserError(`${flag}: expected a duration such as 30s, 5m or 1h, found "${value}"`);
  if (ms < 1000) throw new UserError(`${flag}: must be at least 1s, found "${value}"`);
  return ms;
}

/** A non-negative integer. */
export function parseCount(value: string, flag: string): number {
  if (!/^\s*\d+\s*$/.test(value)) throw new UserError(`${flag}: expected a whole number (0 or more), found "${value}"`);
  return Number(value);
}

/** Split a command line the way a POSIX shell would for plain words, 'single' and "double" quotes and backslashes. */
export function splitCommand(line: string, name: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) cur += line[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) throw new UserError(`${name}: unterminated ${quote} quote in "${line}"`);
  if (inWord) out.push(cur);
  if (out.length === 0) throw new UserError(`${name}: the worker command is empty`);
  return out;
}
