/**
 * LiteLLM's duration strings (`duration_parser.py`): `(\d+)(mo|[smhdw]?)`, for a key's `duration` (expiry),
 * a `grace_period`, and `budget_duration` (aligned resets).
 */

const DURATION = /^(\d+)(mo|[smhdw]?)$/;
const UNIT_MS: Record<string, number> = { '': 1000, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export interface Duration {
  n: number;
  unit: 's' | 'm' | 'h' | 'd' | 'w' | 'mo';
}

/** Parse `30s`, `30m`, `30h`, `30d`, `2w`, `1mo`; undefined when malformed (callers name the field). */
export function parseDuration(v: string): Duration | undefined {
  const m = DURATION.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (!Number.isSafeInteger(n) || n <= 0) return undefined;
  return { n, unit: (m[2] || 's') as Duration['unit'] };
}

/** `now` plus the duration (months by the calendar, as LiteLLM's relativedelta). */
export function addDuration(now: number, d: Duration): number {
  if (d.unit === 'mo') {
    const t = new Date(now);
    t.setUTCMonth(t.getUTCMonth() + d.n);
    return t.getTime();
  }
  return now + d.n * UNIT_MS[d.unit];
}
