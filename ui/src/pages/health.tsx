import { useState } from 'preact/hooks';
import { ApiError, api } from '../api';
import { ErrorBox, Page, Table, useLoad } from '../common';

interface Endpoint {
  model: string;
  model_name?: string;
  model_id?: string;
  api_base?: string;
  error?: string;
}
interface Health {
  healthy_endpoints: Endpoint[];
  unhealthy_endpoints: Endpoint[];
  healthy_count: number;
  unhealthy_count: number;
  redis?: { status: string; where: string };
}

/** The engine's readiness at once; the deployments' health on demand (each check is a real, cheap call). */
export function HealthPage() {
  const ready = useLoad<{ status: string; version: string; db?: string }>('api/health/readiness');
  const [health, setHealth] = useState<Health>();
  const [checking, setChecking] = useState(false);
  const [error, setError] = useState<string>();
  const check = async () => {
    setChecking(true);
    try {
      setHealth(await api<Health>('api/health'));
      setError(undefined);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setChecking(false);
    }
  };
  return (
    <Page
      title="Health"
      actions={
        <button type="button" class="primary" onClick={check} disabled={checking}>
          {checking ? 'Checking…' : 'Check deployments'}
        </button>
      }
    >
      <ErrorBox error={ready.error ?? error} />
      {ready.data && (
        <div class="stats">
          <div class="stat">
            <span class="stat-label">Engine</span>
            <span class="stat-value">{ready.data.status}</span>
          </div>
          <div class="stat">
            <span class="stat-label">Version</span>
            <span class="stat-value">{ready.data.version}</span>
          </div>
          {ready.data.db && (
            <div class="stat">
              <span class="stat-label">Database</span>
              <span class="stat-value">{ready.data.db}</span>
            </div>
          )}
          {health?.redis && (
            <div class="stat">
              <span class="stat-label">Redis</span>
              <span class="stat-value">{health.redis.status}</span>
            </div>
          )}
        </div>
      )}
      {!health && <p class="muted">Checking makes one small call to each deployment.</p>}
      {health && (
        <Table label="Deployment health" head={['Model', 'Provider model', 'API base', 'Health']}>
          {[
            ...health.unhealthy_endpoints.map((e) => ({ ...e, bad: true })),
            ...health.healthy_endpoints.map((e) => ({ ...e, bad: false })),
          ].map((e) => (
            <tr key={`${e.model_id}-${e.model}`}>
              <td>{e.model_name ?? '–'}</td>
              <td>{e.model}</td>
              <td class="wrap">{e.api_base ?? '–'}</td>
              <td>
                <span class={`state ${e.bad ? 'bad' : 'ok'}`}>{e.bad ? 'unhealthy' : 'healthy'}</span>
                {e.error ? <small class="wrap"> {e.error}</small> : null}
              </td>
            </tr>
          ))}
        </Table>
      )}
    </Page>
  );
}
