import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, type Session, setCsrf } from './api';
import { ErrorBox, Field } from './common';
import { HealthPage } from './pages/health';
import { Keys } from './pages/keys';
import { Logs } from './pages/logs';
import { Models } from './pages/models';
import { People } from './pages/people';
import { Usage } from './pages/usage';

const PAGES = [
  { id: 'models', title: 'Models' },
  { id: 'keys', title: 'Keys' },
  { id: 'people', title: 'Teams and users' },
  { id: 'usage', title: 'Usage' },
  { id: 'logs', title: 'Logs' },
  { id: 'health', title: 'Health' },
] as const;
type PageId = (typeof PAGES)[number]['id'];

const pageOfHash = (): PageId => {
  const h = location.hash.replace(/^#\/?/, '');
  return (PAGES.find((p) => p.id === h)?.id ?? 'models') as PageId;
};

function Login({ onLogin }: { onLogin: (s: Session) => void }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    try {
      const s = await api<Session>('login', { username: f.get('username'), password: f.get('password') });
      onLogin(s);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <form class="card form" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">kubiya proxy</h1>
        <p class="muted">
          Log in with the master key (user "admin"), the dashboard's UI_USERNAME / UI_PASSWORD, or your own virtual key
          as the password.
        </p>
        <ErrorBox error={error} />
        <Field label="Username" name="username" value="admin" autocomplete="username" />
        <Field label="Password or key" name="password" type="password" required autocomplete="current-password" />
        <div class="form-actions">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Logging in…' : 'Log in'}
          </button>
        </div>
      </form>
    </main>
  );
}

function Shell({ session, onLogout }: { session: Session; onLogout: () => void }) {
  const [page, setPage] = useState<PageId>(pageOfHash());
  useEffect(() => {
    const on = () => setPage(pageOfHash());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  useEffect(() => {
    document.title = `${PAGES.find((p) => p.id === page)?.title} · kubiya proxy`;
  }, [page]);
  const admin = session.role === 'admin';
  const logout = async () => {
    try {
      await api('logout', {});
    } finally {
      onLogout();
    }
  };
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">kubiya proxy</span>
        <nav aria-label="Pages">
          {PAGES.map((p) => (
            <a key={p.id} href={`#/${p.id}`} aria-current={p.id === page ? 'page' : undefined}>
              {p.title}
            </a>
          ))}
        </nav>
        <span class="who">
          {session.user} <span class="badge">{session.role}</span>
          <button type="button" onClick={logout}>
            Log out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        {page === 'models' && <Models admin={admin} />}
        {page === 'keys' && <Keys admin={admin} />}
        {page === 'people' && <People admin={admin} />}
        {page === 'usage' && <Usage admin={admin} />}
        {page === 'logs' && <Logs />}
        {page === 'health' && <HealthPage />}
      </main>
    </>
  );
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [error, setError] = useState<string>();
  useEffect(() => {
    api<Session>('api/session').then(
      (s) => {
        setCsrf(s.csrf_token);
        setSession(s);
      },
      (e: unknown) => {
        if (e instanceof ApiError && e.status === 401) setSession(null);
        else setError((e as Error).message);
      },
    );
  }, []);
  if (error) return <ErrorBox error={error} />;
  if (session === undefined) return <p class="loading">Loading…</p>;
  if (session === null)
    return (
      <Login
        onLogin={(s) => {
          setCsrf(s.csrf_token);
          setSession(s);
        }}
      />
    );
  return <Shell session={session} onLogout={() => setSession(null)} />;
}

render(<App />, document.getElementById('app') as HTMLElement);
