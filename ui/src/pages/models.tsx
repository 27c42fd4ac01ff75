import { useState } from 'preact/hooks';
import { api, num } from '../api';
import { ErrorBox, Field, formValues, Page, Table, useLoad } from '../common';

interface ModelInfo {
  model_name: string;
  litellm_params: { model: string; api_base?: string };
  model_info: { id: string; db_model?: boolean; mode?: string };
}
interface DeploymentState {
  model_name: string;
  model_id: string;
  litellm_model: string;
  provider?: string;
  api_base?: string;
  rpm?: number;
  tpm?: number;
  requests_this_minute: number;
  in_flight: number;
  latency_ms: number | null;
  cooldown_until: string | null;
  health: 'healthy' | 'unhealthy' | null;
}

export function Models({ admin }: { admin: boolean }) {
  const models = useLoad<{ data: ModelInfo[] }>('api/v2/model/info');
  const state = useLoad<{ data: DeploymentState[] }>(admin ? 'api/kubiya/deployments' : null);
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [adding, setAdding] = useState(false);
  const byId = new Map((state.data?.data ?? []).map((d) => [d.model_id, d]));
  const groups = new Map<string, ModelInfo[]>();
  for (const m of models.data?.data ?? []) {
    const list = groups.get(m.model_name) ?? [];
    list.push(m);
    groups.set(m.model_name, list);
  }
  const reload = () => {
    models.reload();
    state.reload();
  };
  const add = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const v = formValues(form);
    const litellm_params: Record<string, unknown> = { model: v.model };
    if (v.api_base) litellm_params.api_base = v.api_base;
    if (v.api_key) litellm_params.api_key = v.api_key;
    if (v.mock_response) litellm_params.mock_response = v.mock_response;
    try {
      const r = await api<{ message?: string }>('api/model/new', { model_name: v.model_name, litellm_params });
      setNotice(r?.message ?? `Model ${v.model_name} added.`);
      setError(undefined);
      form.reset();
      setAdding(false);
      reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const remove = async (m: ModelInfo) => {
    if (!confirm(`Delete the deployment ${m.model_info.id} of ${m.model_name}?`)) return;
    try {
      await api('api/model/delete', { id: m.model_info.id });
      setNotice(`Deployment ${m.model_info.id} of ${m.model_name} deleted.`);
      setError(undefined);
      reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <Page
      title="Models"
      actions={
        <>
          <button type="button" onClick={reload}>
            Refresh
          </button>
          {admin && (
            <button type="button" class="primary" onClick={() => setAdding(!adding)} aria-expanded={adding}>
              Add model
            </button>
          )}
        </>
      }
    >
      <ErrorBox error={models.error ?? state.error ?? error} />
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      {adding && (
        <form class="card form" onSubmit={add} aria-label="Add a model">
          <Field label="Model name" name="model_name" required placeholder="gpt-4o" hint="What clients ask for." />
          <Field
            label="Provider model"
            name="model"
            required
            placeholder="openai/gpt-4o"
            hint="litellm_params.model: provider/model"
          />
          <Field label="API base" name="api_base" placeholder="https://api.openai.com/v1" />
          <Field label="API key" name="api_key" type="password" hint="Stored encrypted (LITELLM_SALT_KEY)." />
          <Field label="Mock response" name="mock_response" hint="Answer with this text instead (testing)." />
          <div class="form-actions">
            <button type="submit" class="primary">
              Save model
            </button>
            <button type="button" onClick={() => setAdding(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {models.loading && !models.data && <p class="muted">Loading…</p>}
      {models.data && groups.size === 0 && <p class="muted">No models: add one, or list them in the config file.</p>}
      {[...groups].map(([name, list]) => (
        <div class="card" key={name}>
          <h2>
            {name} <span class="badge">{list.length === 1 ? '1 deployment' : `${list.length} deployments`}</span>
          </h2>
          <Table
            label={`Deployments of ${name}`}
            head={['Deployment', 'Provider model', 'API base', 'Limits', 'This minute', 'Latency', 'State', '']}
          >
            {list.map((m) => {
              const s = byId.get(m.model_info.id);
              const cooled = s?.cooldown_until;
              return (
                <tr key={m.model_info.id}>
                  <td>
                    <code>{m.model_info.id.slice(0, 12)}</code>
                  </td>
                  <td>{m.litellm_params.model}</td>
                  <td class="wrap">{s?.api_base ?? m.litellm_params.api_base ?? '–'}</td>
                  <td>
                    {[s?.rpm && `${num(s.rpm)} rpm`, s?.tpm && `${num(s.tpm)} tpm`].filter(Boolean).join(', ') || '–'}
                  </td>
                  <td>{s ? `${num(s.requests_this_minute)} req, ${num(s.in_flight)} open` : '–'}</td>
                  <td>{s?.latency_ms ? `${num(s.latency_ms)} ms` : '–'}</td>
                  <td>
                    {s?.health === 'unhealthy' ? (
                      <span class="state bad">failing health checks: out of rotation</span>
                    ) : cooled ? (
                      <span class="state bad">cooling down until {new Date(cooled).toLocaleTimeString()}</span>
                    ) : (
                      <span class="state ok">in rotation{s?.health === 'healthy' ? ', healthy' : ''}</span>
                    )}
                  </td>
                  <td>
                    {admin && m.model_info.db_model ? (
                      <button type="button" class="danger" onClick={() => remove(m)}>
                        Delete
                      </button>
                    ) : (
                      <span class="muted" title="Defined in the config file: change it there.">
                        config
                      </span>
                    )}
                  </td>
                </tr>
              );
            })}
          </Table>
        </div>
      ))}
    </Page>
  );
}
