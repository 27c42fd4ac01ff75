import { useState } from 'preact/hooks';
import { api, usd } from '../api';
import { ErrorBox, Field, formValues, Page, Table, useLoad } from '../common';

interface Team {
  team_id: string;
  team_alias?: string | null;
  spend?: number;
  max_budget?: number | null;
  models?: string[];
  members_with_roles?: { user_id?: string; role?: string }[];
  blocked?: boolean;
}
interface User {
  user_id: string;
  user_email?: string | null;
  user_role?: string | null;
  spend?: number;
  max_budget?: number | null;
  teams?: string[];
}

export function People({ admin }: { admin: boolean }) {
  const teams = useLoad<Team[]>('api/team/list');
  const users = useLoad<User[] | { users: User[] }>(admin ? 'api/user/list' : null);
  const [error, setError] = useState<string>();
  const submit =
    (path: string, build: (v: Record<string, string>) => unknown, done: () => void) => async (e: Event) => {
      e.preventDefault();
      const form = e.currentTarget as HTMLFormElement;
      try {
        await api(path, build(formValues(form)));
        setError(undefined);
        form.reset();
        done();
      } catch (err) {
        setError((err as Error).message);
      }
    };
  const userList = Array.isArray(users.data) ? users.data : (users.data?.users ?? []);
  return (
    <Page title="Teams and users">
      <ErrorBox error={teams.error ?? users.error ?? error} />
      <div class="card">
        <h2>Teams</h2>
        {admin && (
          <form
            class="inline-form"
            aria-label="Create a team"
            onSubmit={submit(
              'api/team/new',
              (v) => ({ team_alias: v.team_alias, max_budget: v.max_budget ? Number(v.max_budget) : undefined }),
              teams.reload,
            )}
          >
            <Field label="Team name" name="team_alias" required />
            <Field label="Max budget (USD)" name="max_budget" type="number" />
            <button type="submit" class="primary">
              Create team
            </button>
          </form>
        )}
        <Table label="Teams" head={['Team', 'Id', 'Members', 'Models', 'Spend / budget']}>
          {(teams.data ?? []).map((t) => (
            <tr key={t.team_id}>
              <td>
                {t.team_alias ?? '–'} {t.blocked && <span class="state bad">blocked</span>}
              </td>
              <td>
                <code>{t.team_id}</code>
              </td>
              <td>{t.members_with_roles?.length ?? 0}</td>
              <td class="wrap">{t.models?.length ? t.models.join(', ') : 'all'}</td>
              <td>
                {usd(t.spend)}
                {t.max_budget ? ` / ${usd(t.max_budget)}` : ''}
              </td>
            </tr>
          ))}
        </Table>
      </div>
      {admin && (
        <div class="card">
          <h2>Users</h2>
          <form
            class="inline-form"
            aria-label="Create a user"
            onSubmit={submit(
              'api/user/new',
              (v) => ({ user_email: v.user_email, user_role: v.user_role ?? 'internal_user', auto_create_key: false }),
              users.reload,
            )}
          >
            <Field label="Email" name="user_email" type="email" required />
            <div class="field">
              <label for="f-user_role">Role</label>
              <select id="f-user_role" name="user_role">
                <option value="internal_user">internal user</option>
                <option value="internal_user_viewer">internal viewer</option>
                <option value="proxy_admin">admin</option>
                <option value="proxy_admin_viewer">admin viewer</option>
              </select>
            </div>
            <button type="submit" class="primary">
              Create user
            </button>
          </form>
          <Table label="Users" head={['User', 'Email', 'Role', 'Teams', 'Spend / budget']}>
            {userList.map((u) => (
              <tr key={u.user_id}>
                <td>
                  <code>{u.user_id}</code>
                </td>
                <td>{u.user_email ?? '–'}</td>
                <td>{u.user_role ?? '–'}</td>
                <td class="wrap">{u.teams?.join(', ') || '–'}</td>
                <td>
                  {usd(u.spend)}
                  {u.max_budget ? ` / ${usd(u.max_budget)}` : ''}
                </td>
              </tr>
            ))}
          </Table>
        </div>
      )}
    </Page>
  );
}
