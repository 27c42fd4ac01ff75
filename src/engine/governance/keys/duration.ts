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

/**
 * The next aligned budget reset after `now` (LiteLLM's `get_next_standardized_reset_time`, in UTC): `1d` next
 * midnight, `7d`/`1w` next Monday, `30d`/`1mo` the 1st of next month, other `Nd` today's midnight + N days,
 * `Nh`/`Nm`/`Ns` the next multiple of N. Local stand-in until the limits area's budgets/reset.ts (which
 * also honours litellm_settings.timezone) is merged; undefined when `v` is malformed or `Nmo` with N > 1.
 */
export function nextBudgetReset(now: number, v: string): number | undefined {
  const d = parseDuration(v);
  if (!d) return undefined;
  const t = new Date(now);
  const midnight = Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate());
  const firstOfNextMonth = Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + 1, 1);
  switch (d.unit) {
    case 'mo':
      return d.n === 1 ? firstOfNextMonth : undefined;
    case 'w':
    case 'd': {
      const days = d.unit === 'w' ? d.n * 7 : d.n;
      if (days === 1) return midnight + 86_400_000;
      if (days === 7) return midnight + ((8 - t.getUTCDay()) % 7 || 7) * 86_400_000;
      if (days === 30) return firstOfNextMonth;
      return midnight + days * 86_400_000;
    }
    default: {
      const step = d.n * UNIT_MS[d.unit];
      return (Math.floor(now / step) + 1) * step;
    }
  }
}
