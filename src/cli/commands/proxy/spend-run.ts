import { UserError } from '../../../errors.js';
import type { Handler } from '../../command.js';
import { formatTable } from '../../output.js';
import { callEngine, proxyTarget } from './target.js';

export interface ProxySpendOptions {
  by: 'key' | 'team' | 'model';
  since: string;
  url?: string;
  masterKey?: string;
}

/** One line of the answer: what a key, team or model spent in the period. */
interface SpendLine {
  name: string;
  spend: number;
  input_tokens?: number;
  output_tokens?: number;
  /** key hash (by key) */
  api_key?: string;
}

const DAY_MS = 86_400_000;
const PERIOD = /^(\d+)(d|w|h)$/;

/** `7d`, `2w`, `24h` -> whole days (at least 1). */
function periodDays(v: string): number {
  const m = PERIOD.exec(v.trim());
  if (!m || Number(m[1]) === 0) throw new UserError(`--since must be a period such as 7d, 2w or 24h; found "${v}"`);
  const n = Number(m[1]);
  return m[2] === 'w' ? n * 7 : m[2] === 'h' ? Math.max(1, Math.ceil(n / 24)) : n;
}

type Row = Record<string, unknown>;
type Get = (route: string) => Promise<unknown>;
const n = (v: unknown) => (typeof v === 'number' ? v : Number(v ?? 0) || 0);

/** The lines for `by`, highest spend first, from the proxy's spend routes. */
async function spendLines(get: Get, by: ProxySpendOptions['by'], range: string): Promise<SpendLine[]> {
  if (by === 'key') {
    const report = (await get(`/global/spend/report?group_by=api_key&${range}`)) as Row[];
    // names for the hashes: the key list (best effort: an old proxy may not serve it)
    const names = new Map<string, string>();
    try {
      for (const k of (await get('/spend/keys')) as Row[])
        names.set(String(k.token), String(k.key_alias ?? k.key_name ?? ''));
    } catch {
      // the hashes alone still identify the keys
    }
    return report.map((r) => {
      const h = String(r.api_key ?? '');
      return {
        name: names.get(h) || (h === '' ? '(no key)' : `${h.slice(0, 12)}…`),
        api_key: h,
        spend: n(r.total_cost),
        input_tokens: n(r.total_input_tokens),
        output_tokens: n(r.total_output_tokens),
      };
    });
  }
  const totals = new Map<string, SpendLine>();
  const add = (name: string, spend: number, tokens?: number) => {
    const t = totals.get(name) ?? { name, spend: 0 };
    t.spend += spend;
    if (tokens !== undefined) t.input_tokens = (t.input_tokens ?? 0) + tokens;
    totals.set(name, t);
  };
  if (by === 'team') {
    for (const day of (await get(`/global/spend/report?group_by=team&${range}`)) as Row[])
      for (const t of (day.teams as Row[]) ?? []) add(String(t.team_name), n(t.total_spend));
  } else {
    for (const day of (await get(`/spend/logs?summarize=true&${range}`)) as Row[])
      for (const [model, spend] of Object.entries((day.models as Record<string, number>) ?? {})) add(model, n(spend));
  }
  return [...totals.values()].sort((a, b) => b.spend - a.spend);
}

/** `kubiya proxy spend`: a table (or JSON) of what each key, team or model spent since a period ago. */
export const proxySpend: Handler<ProxySpendOptions> = async (ctx, opts) => {
  const days = periodDays(opts.since);
  // the local engine by default; never the context's remote gateway (a master key must not travel there)
  const t = await proxyTarget(ctx, opts);
  const url = t.url;
  const get: Get = (route) => callEngine(t, 'GET', route);
  const end = new Date();
  const start = new Date(end.getTime() - (days - 1) * DAY_MS);
  const startDate = start.toISOString().slice(0, 10);
  const endDate = end.toISOString().slice(0, 10);
  const lines = await spendLines(get, opts.by, `start_date=${startDate}&end_date=${endDate}`);
  const total = lines.reduce((s, l) => s + l.spend, 0);
  if (ctx.output === 'json') {
    ctx.out.json({ by: opts.by, start_date: startDate, end_date: endDate, total_spend: total, rows: lines });
    return 0;
  }
  const usd = (v: number) => `$${v < 0.01 && v > 0 ? v.toPrecision(2) : v.toFixed(2)}`;
  ctx.out.line(`${url}: spend by ${opts.by}, ${startDate} to ${endDate} (UTC)\n`);
  if (lines.length === 0) {
    ctx.out.line('no spend in this period');
    return 0;
  }
  const header =
    opts.by === 'key' ? ['KEY', 'SPEND', 'INPUT TOKENS', 'OUTPUT TOKENS'] : [opts.by.toUpperCase(), 'SPEND'];
  const rows = lines.map((l) =>
    opts.by === 'key'
      ? [l.name, usd(l.spend), String(l.input_tokens ?? 0), String(l.output_tokens ?? 0)]
      : [l.name, usd(l.spend)],
  );
  rows.push(opts.by === 'key' ? ['TOTAL', usd(total), '', ''] : ['TOTAL', usd(total)]);
  ctx.out.line(formatTable(header, rows));
  return 0;
};
