import { useEffect, useState } from 'preact/hooks';
import { num, usd, when } from '../api';
import { ErrorBox, Page, Table, useLoad } from '../common';

interface LogRow {
  request_id: string;
  startTime: string;
  model?: string;
  model_group?: string;
  status?: string;
  http_status?: number;
  request_duration_ms?: number;
  duration_ms?: number;
  total_tokens?: number;
  prompt_tokens?: number;
  completion_tokens?: number;
  spend?: number;
  key_alias?: string | null;
  fallbacks?: number;
  cache_hit?: string | boolean;
  error?: string;
  messages?: unknown;
  response?: unknown;
  live?: boolean;
}

const MAX_ROWS = 200;

/** Recent requests from the spend logs, and new ones as they settle over one server-sent-events stream. */
export function Logs() {
  const stored = useLoad<LogRow[]>('api/spend/logs?limit=100');
  const [live, setLive] = useState<LogRow[]>([]);
  const [tail, setTail] = useState<'connecting' | 'live' | 'off'>('connecting');
  const [paused, setPaused] = useState(false);
  useEffect(() => {
    if (paused) {
      setTail('off');
      return;
    }
    const es = new EventSource('api/kubiya/logs/stream');
    es.onopen = () => setTail('live');
    es.onerror = () => setTail(es.readyState === EventSource.CLOSED ? 'off' : 'connecting');
    es.onmessage = (m) => {
      const row = { ...(JSON.parse(m.data) as LogRow), live: true };
      setLive((rows) => [row, ...rows].slice(0, MAX_ROWS));
    };
    return () => es.close();
  }, [paused]);
  const seen = new Set(live.map((r) => r.request_id));
  const rows = [...live, ...(stored.data ?? []).filter((r) => !seen.has(r.request_id))].slice(0, MAX_ROWS);
  return (
    <Page
      title="Logs"
      actions={
        <>
          <span class={`tail ${tail}`} role="status">
            {tail === 'live' ? '● live' : tail === 'connecting' ? '○ connecting' : '○ paused'}
          </span>
          <button type="button" onClick={() => setPaused(!paused)} aria-pressed={paused}>
            {paused ? 'Resume' : 'Pause'}
          </button>
          <button type="button" onClick={stored.reload}>
            Refresh
          </button>
        </>
      }
    >
      <ErrorBox error={stored.error} />
      {rows.length === 0 && !stored.loading && <p class="muted">No requests yet.</p>}
      <Table
        label="Recent requests"
        head={['Time', 'Model', 'Status', 'Latency', 'Tokens', 'Cost', 'Key', 'Fallbacks']}
      >
        {rows.map((r) => {
          const ok = r.status === 'success' || (r.http_status !== undefined && r.http_status < 400);
          const prompt =
            r.messages &&
            (Array.isArray(r.messages) ? r.messages.length > 0 : Object.keys(r.messages as object).length > 0);
          return (
            <tr key={r.request_id} class={r.live ? 'fresh' : ''} data-request-id={r.request_id}>
              <td>{when(r.startTime)}</td>
              <td class="wrap">
                {r.model_group || r.model}
                {prompt ? (
                  <details>
                    <summary>prompt</summary>
                    <pre>{JSON.stringify(r.messages, null, 1)}</pre>
                    {r.response ? <pre>{JSON.stringify(r.response, null, 1)}</pre> : null}
                  </details>
                ) : null}
              </td>
              <td>
                <span class={`state ${ok ? 'ok' : 'bad'}`}>{r.http_status ?? r.status}</span>
                {r.error ? <small class="wrap"> {r.error}</small> : null}
                {r.cache_hit === true || r.cache_hit === 'True' ? <span class="badge">cache</span> : null}
              </td>
              <td>{num(r.request_duration_ms ?? r.duration_ms)} ms</td>
              <td>{num(r.total_tokens)}</td>
              <td>{usd(r.spend)}</td>
              <td>{r.key_alias ?? '–'}</td>
              <td>{r.fallbacks ?? 0}</td>
            </tr>
          );
        })}
      </Table>
    </Page>
  );
}
