import { useState } from 'preact/hooks';
import { num, usd } from '../api';
import { Bars, ErrorBox, Page, useLoad } from '../common';

interface Entity {
  team_name?: string;
  total_spend: number;
  metadata: { model: string; api_key: string; spend: number; total_tokens: number }[];
}
interface Day {
  group_by_day: string;
  teams: Entity[];
}

const day = (d: Date) => d.toISOString().slice(0, 10);

/** Spend and tokens per day, model, key and team, from the daily rollups (one request per range). */
export function Usage({ admin }: { admin: boolean }) {
  const [days, setDays] = useState(30);
  const end = new Date();
  const start = new Date(end.getTime() - (days - 1) * 86400_000);
  const report = useLoad<Day[]>(
    admin ? `api/global/spend/report?group_by=team&start_date=${day(start)}&end_date=${day(end)}` : null,
  );
  const perDay = new Map<string, [number, number]>();
  const perModel = new Map<string, number>();
  const perKey = new Map<string, number>();
  const perTeam = new Map<string, number>();
  let tokens = 0;
  let spend = 0;
  for (const d of report.data ?? []) {
    const date = d.group_by_day.slice(0, 10);
    for (const t of d.teams ?? []) {
      perTeam.set(
        t.team_name ?? 'Unassigned Team',
        (perTeam.get(t.team_name ?? 'Unassigned Team') ?? 0) + t.total_spend,
      );
      for (const m of t.metadata ?? []) {
        const cur = perDay.get(date) ?? [0, 0];
        perDay.set(date, [cur[0] + m.spend, cur[1] + m.total_tokens]);
        perModel.set(m.model, (perModel.get(m.model) ?? 0) + m.spend);
        const k = m.api_key ? `${m.api_key.slice(0, 10)}…` : 'no key';
        perKey.set(k, (perKey.get(k) ?? 0) + m.spend);
        tokens += m.total_tokens;
        spend += m.spend;
      }
    }
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, 12);
  const dayList = [...perDay].sort((a, b) => a[0].localeCompare(b[0]));
  if (!admin)
    return (
      <Page title="Usage">
        <p class="muted">Your spend is on the Keys and Logs pages.</p>
      </Page>
    );
  return (
    <Page
      title="Usage"
      actions={
        <label class="inline">
          Range{' '}
          <select value={String(days)} onChange={(e) => setDays(Number((e.currentTarget as HTMLSelectElement).value))}>
            <option value="1">today</option>
            <option value="7">7 days</option>
            <option value="30">30 days</option>
            <option value="90">90 days</option>
          </select>
        </label>
      }
    >
      <ErrorBox error={report.error} />
      <div class="stats">
        <div class="stat">
          <span class="stat-label">Spend</span>
          <span class="stat-value" data-testid="total-spend">
            {usd(spend)}
          </span>
        </div>
        <div class="stat">
          <span class="stat-label">Tokens</span>
          <span class="stat-value" data-testid="total-tokens">
            {num(tokens)}
          </span>
        </div>
      </div>
      <div class="grid">
        <div class="card">
          <h2>Spend per day</h2>
          <Bars label="Spend per day" items={dayList.map(([d, v]) => [d, v[0]])} format={usd} />
        </div>
        <div class="card">
          <h2>Tokens per day</h2>
          <Bars label="Tokens per day" items={dayList.map(([d, v]) => [d, v[1]])} format={num} />
        </div>
        <div class="card">
          <h2>Spend per model</h2>
          <Bars label="Spend per model" items={sorted(perModel)} format={usd} />
        </div>
        <div class="card">
          <h2>Spend per key</h2>
          <Bars label="Spend per key" items={sorted(perKey)} format={usd} />
        </div>
        <div class="card">
          <h2>Spend per team</h2>
          <Bars label="Spend per team" items={sorted(perTeam)} format={usd} />
        </div>
      </div>
    </Page>
  );
}
