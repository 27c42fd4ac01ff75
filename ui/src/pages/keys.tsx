import { useState } from 'preact/hooks';
import { api, num, usd, when } from '../api';
import { ErrorBox, Field, formValues, Page, Table, useLoad } from '../common';

interface KeyRow {
  token: string;
  key_name?: string;
  key_alias?: string | null;
  models?: string[];
  spend?: number;
  max_budget?: number | null;
  rpm_limit?: number | null;
  tpm_limit?: number | null;
  expires?: string | null;
  blocked?: boolean | null;
  user_id?: string | null;
  team_id?: string | null;
}

export function Keys({ admin }: { admin: boolean }) {
  const keys = useLoad<{ keys: KeyRow[]; total_count: number }>('api/key/list?return_full_object=true&size=100');
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<{ key: string; alias?: string }>();
  const [error, setError] = useState<string>();
  const act = async (path: string, body: unknown) => {
    try {
      await api(path, body);
      setError(undefined);
      keys.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const create = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const v = formValues(form);
    const body: Record<string, unknown> = {};
    if (v.key_alias) body.key_alias = v.key_alias;
    if (v.models)
      body.models = v.models
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    for (const k of ['max_budget', 'rpm_limit', 'tpm_limit', 'max_parallel_requests']) if (v[k]) body[k] = Number(v[k]);
    if (v.duration) body.duration = v.duration;
    if (v.budget_duration) body.budget_duration = v.budget_duration;
    if (v.team_id) body.team_id = v.team_id;
    if (v.user_id) body.user_id = v.user_id;
    try {
      const r = await api<{ key: string; key_alias?: string }>('api/key/generate', body);
      setCreated({ key: r.key, alias: r.key_alias ?? v.key_alias });
      setError(undefined);
      setCreating(false);
      form.reset();
      keys.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <Page
      title="Keys"
      actions={
        <>
          <button type="button" onClick={keys.reload}>
            Refresh
          </button>
          <button type="button" class="primary" onClick={() => setCreating(!creating)} aria-expanded={creating}>
            Create key
          </button>
        </>
      }
    >
      <ErrorBox error={keys.error ?? error} />
      {created && (
        <div class="card shown-once" role="alert">
          <h2>New key{created.alias ? ` "${created.alias}"` : ''}</h2>
          <p>Copy it now: it is shown only once (the proxy keeps only its hash).</p>
          <p>
            <code class="secret" data-testid="new-key">
              {created.key}
            </code>
          </p>
          <button type="button" onClick={() => navigator.clipboard?.writeText(created.key)}>
            Copy
          </button>{' '}
          <button type="button" onClick={() => setCreated(undefined)}>
            Done
          </button>
        </div>
      )}
      {creating && (
        <form class="card form" onSubmit={create} aria-label="Create a key">
          <Field label="Alias" name="key_alias" placeholder="ci-bot" />
          <Field
            label="Models"
            name="models"
            placeholder="gpt-4o, claude"
            hint="Comma-separated; empty: every model."
          />
          <Field label="Max budget (USD)" name="max_budget" type="number" placeholder="10" />
          <Field label="Budget period" name="budget_duration" placeholder="30d" hint="Resets the spend: 1h, 1d, 30d…" />
          <Field label="Requests per minute" name="rpm_limit" type="number" />
          <Field label="Tokens per minute" name="tpm_limit" type="number" />
          <Field label="Parallel requests" name="max_parallel_requests" type="number" />
          <Field label="Expires after" name="duration" placeholder="30d" hint="Empty: never." />
          {admin && <Field label="Team id" name="team_id" />}
          {admin && <Field label="User id" name="user_id" />}
          <div class="form-actions">
            <button type="submit" class="primary">
              Create
            </button>
            <button type="button" onClick={() => setCreating(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {keys.data && (
        <p class="muted">
          {num(keys.data.total_count)} key{keys.data.total_count === 1 ? '' : 's'}
        </p>
      )}
      <Table label="Keys" head={['Key', 'Alias', 'Models', 'Spend / budget', 'Limits', 'Owner', 'Expires', '']}>
        {(keys.data?.keys ?? []).map((k) => {
          const share = k.max_budget ? Math.min(1, (k.spend ?? 0) / k.max_budget) : 0;
          return (
            <tr key={k.token} class={k.blocked ? 'blocked' : ''}>
              <td>
                <code>{k.key_name ?? `${k.token.slice(0, 8)}…`}</code>
                {k.blocked && <span class="state bad">blocked</span>}
              </td>
              <td>{k.key_alias ?? '–'}</td>
              <td class="wrap">{k.models?.length ? k.models.join(', ') : 'all'}</td>
              <td>
                {usd(k.spend)}
                {k.max_budget ? ` / ${usd(k.max_budget)}` : ''}
                {k.max_budget ? (
                  <meter min={0} max={1} value={share} high={0.8} optimum={0} aria-label="share of the budget spent" />
                ) : null}
              </td>
              <td>
                {[k.rpm_limit && `${num(k.rpm_limit)} rpm`, k.tpm_limit && `${num(k.tpm_limit)} tpm`]
                  .filter(Boolean)
                  .join(', ') || '–'}
              </td>
              <td class="wrap">{[k.user_id, k.team_id && `team ${k.team_id}`].filter(Boolean).join(', ') || '–'}</td>
              <td>{k.expires ? when(k.expires) : 'never'}</td>
              <td class="row-actions">
                {admin &&
                  (k.blocked ? (
                    <button type="button" onClick={() => act('api/key/unblock', { key: k.token })}>
                      Unblock
                    </button>
                  ) : (
                    <button type="button" onClick={() => act('api/key/block', { key: k.token })}>
                      Block
                    </button>
                  ))}
                <button
                  type="button"
                  class="danger"
                  onClick={() =>
                    confirm(`Delete key ${k.key_alias ?? k.key_name ?? ''}?`) &&
                    act('api/key/delete', { keys: [k.token] })
                  }
                >
                  Delete
                </button>
              </td>
            </tr>
          );
        })}
      </Table>
    </Page>
  );
}
