/**
 * Budget windows, computed as LiteLLM does (duration_parser.py, get_next_standardized_reset_time): a
 * `budget_duration` resets at aligned boundaries in `litellm_settings.timezone`, not N units after the
 * last reset, so every key with `1d` resets at the same midnight and a report per day matches the budget.
 * Time zones come from Intl (no dependency): wall-clock parts of an instant, and back.
 */

/** A parsed `budget_duration`: `(\d+)(mo|[smhdw]?)`, a bare number being seconds. */
export interface BudgetDuration {
  n: number;
  unit: 's' | 'm' | 'h' | 'd' | 'mo';
}

const DURATION = /^(\d+)(mo|[smhdw]?)$/;

/** `30s`, `5m`, `2h`, `1d`, `1w`, `1mo`, `3600` -> parts; undefined when it is not a duration LiteLLM accepts. */
export function parseBudgetDuration(text: string): BudgetDuration | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (!(n > 0)) return undefined;
  const u = m[2];
  if (u === 'mo') return n === 1 ? { n, unit: 'mo' } : undefined; // LiteLLM refuses any other month count
  if (u === 'w') return { n: n * 7, unit: 'd' };
  return { n, unit: (u || 's') as BudgetDuration['unit'] };
}

interface Wall {
  y: number;
  mo: number; // 1-12
  d: number;
  h: number;
  mi: number;
  s: number;
  /** 0 = Sunday */
  wd: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(timezone, f);
  }
  return f;
}

const WEEKDAY: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/** The wall clock in `timezone` at instant `t`. */
function wallAt(t: number, timezone: string): Wall {
  const w: Wall = { y: 0, mo: 0, d: 0, h: 0, mi: 0, s: 0, wd: 0 };
  for (const p of formatter(timezone).formatToParts(t)) {
    if (p.type === 'year') w.y = Number(p.value);
    else if (p.type === 'month') w.mo = Number(p.value);
    else if (p.type === 'day') w.d = Number(p.value);
    else if (p.type === 'hour') w.h = Number(p.value);
    else if (p.type === 'minute') w.mi = Number(p.value);
    else if (p.type === 'second') w.s = Number(p.value);
    else if (p.type === 'weekday') w.wd = WEEKDAY[p.value] ?? 0;
  }
  return w;
}

/** The zone's offset from UTC at instant `t`, in ms (positive east of Greenwich). */
function offsetAt(t: number, timezone: string): number {
  const w = wallAt(t, timezone);
  return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) - Math.floor(t / 1000) * 1000;
}

/**
 * The instant the wall clock in `timezone` shows this date and time (fields may overflow: day 32 is the
 * next month). A time that does not exist (a DST gap) lands just after the gap, as the clock jumps.
 */
function instantOf(timezone: string, y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number {
  const asUtc = Date.UTC(y, mo - 1, d, h, mi, s);
  let t = asUtc - offsetAt(asUtc, timezone);
  // a second pass settles the offset when a DST change lies between the guess and the answer
  const t2 = asUtc - offsetAt(t, timezone);
  if (t2 !== t) t = Math.max(t, t2);
  return t;
}

/**
 * The next reset after `from` (epoch ms) for a `budget_duration`, aligned in `timezone` (IANA):
 * `1d` the next midnight; `7d`/`1w` the next Monday midnight; `30d` and `1mo` the 1st of next month;
 * other `Nd` today's midnight plus N days; `Nh`/`Nm`/`Ns` the next multiple of N hours of the day
 * (minutes of the hour, seconds of the minute). Throws on a duration LiteLLM would refuse.
 */
export function nextResetAt(duration: string, from: number, timezone: string): number {
  const dur = parseBudgetDuration(duration);
  if (!dur) throw new Error(`invalid budget_duration ${JSON.stringify(duration)} (expected e.g. 30s, 1h, 1d, 7d, 1mo)`);
  const w = wallAt(from, timezone);
  const { n, unit } = dur;
  let t: number;
  if (unit === 'mo' || (unit === 'd' && n === 30)) t = instantOf(timezone, w.y, w.mo + 1, 1);
  else if (unit === 'd' && n === 1) t = instantOf(timezone, w.y, w.mo, w.d + 1);
  else if (unit === 'd' && n === 7) t = instantOf(timezone, w.y, w.mo, w.d + ((8 - w.wd) % 7 || 7));
  else if (unit === 'd') t = instantOf(timezone, w.y, w.mo, w.d + n);
  else if (unit === 'h') {
    const h = (Math.floor(w.h / n) + 1) * n;
    t = h >= 24 ? instantOf(timezone, w.y, w.mo, w.d + 1) : instantOf(timezone, w.y, w.mo, w.d, h);
  } else if (unit === 'm') {
    const mi = (Math.floor(w.mi / n) + 1) * n;
    t = mi >= 60 ? instantOf(timezone, w.y, w.mo, w.d, w.h + 1) : instantOf(timezone, w.y, w.mo, w.d, w.h, mi);
  } else {
    const s = (Math.floor(w.s / n) + 1) * n;
    t =
      s >= 60 ? instantOf(timezone, w.y, w.mo, w.d, w.h, w.mi + 1) : instantOf(timezone, w.y, w.mo, w.d, w.h, w.mi, s);
  }
  // never at or before `from` (a wall time repeated by a DST fall-back): at least one unit later
  return t > from ? t : from + 1000;
}

/** Whether `timezone` is an IANA name this runtime knows. */
export function validTimezone(timezone: string): boolean {
  try {
    formatter(timezone);
    return true;
  } catch {
    return false;
  }
}
