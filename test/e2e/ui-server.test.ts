/**
 * The dashboard's server side without a browser: its headers (CSP, cookie flags), CSRF on writes, sessions
 * that act only with their own key, login throttling, DISABLE_ADMIN_UI and SERVER_ROOT_PATH.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER, startUiEngine, type UiEngine } from './ui-helpers.js';

const CONFIG = {
  model_list: [{ model_name: 'm', litellm_params: { model: 'openai/gpt-4o-mini', mock_response: 'ok' } }],
};

async function login(url: string, password: string, username = 'admin') {
  const r = await fetch(`${url}/ui/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0];
  return { r, cookie, body: (await r.json()) as { csrf_token?: string; role?: string; error?: { message: string } } };
}

describe('the /ui server', () => {
  let engine: UiEngine;
  beforeAll(async () => {
    engine = await startUiEngine(CONFIG, { UI_USERNAME: 'ops', UI_PASSWORD: 'correct horse battery' });
  });
  afterAll(() => engine?.stop());

  it('serves the page with a content security policy and no framing', async () => {
    const r = await fetch(`${engine.url}/ui/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/html');
    expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(r.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(await r.text()).toContain('assets/app.js');
    const js = await fetch(`${engine.url}/ui/assets/app.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('javascript');
    expect((await fetch(`${engine.url}/ui/assets/../../package.json`)).status).not.toBe(200);
    const redirect = await fetch(`${engine.url}/ui`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('ui/');
  });

  it('logs in with UI_USERNAME / UI_PASSWORD or the master key; an HttpOnly, SameSite=Strict cookie', async () => {
    const a = await login(engine.url, 'correct horse battery', 'ops');
    expect(a.r.status).toBe(200);
    expect(a.body.role).toBe('admin');
    const setCookie = a.r.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).not.toContain(MASTER);
    const b = await login(engine.url, MASTER);
    expect(b.r.status).toBe(200);
    const wrong = await login(engine.url, 'correct horse battery', 'someone-else');
    expect(wrong.r.status).toBe(401);
    expect(wrong.body.error?.message).toBe('Invalid username or password.');
  });

  it('turns /ui/api/<path> into <path> with the session key; writes need the CSRF token', async () => {
    const { cookie, body } = await login(engine.url, MASTER);
    const list = await fetch(`${engine.url}/ui/api/key/list`, { headers: { cookie } });
    expect(list.status).toBe(200);
    const noCsrf = await fetch(`${engine.url}/ui/api/key/generate`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(noCsrf.status).toBe(403);
    const crossSite = await fetch(`${engine.url}/ui/api/key/generate`, {
      method: 'POST',
      headers: {
        cookie,
        'content-type': 'application/json',
        'x-csrf-token': body.csrf_token!,
        origin: 'https://evil.example',
      },
      body: '{}',
    });
    expect(crossSite.status).toBe(403);
    const ok = await fetch(`${engine.url}/ui/api/key/generate`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', 'x-csrf-token': body.csrf_token! },
      body: JSON.stringify({ key_alias: 'from-ui' }),
    });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { key: string }).key).toMatch(/^sk-/);
    // without a session, the API answers 401 as to anyone without a key
    expect((await fetch(`${engine.url}/ui/api/key/list`, { headers: { cookie: 'kubiya_ui=forged' } })).status).toBe(
      401,
    );
  });

  it("a virtual key's session sees its own keys, not the deployments' state", async () => {
    const admin = await login(engine.url, MASTER);
    const made = await fetch(`${engine.url}/ui/api/key/generate`, {
      method: 'POST',
      headers: { cookie: admin.cookie, 'content-type': 'application/json', 'x-csrf-token': admin.body.csrf_token! },
      body: JSON.stringify({ key_alias: 'internal' }),
    });
    const key = ((await made.json()) as { key: string }).key;
    const user = await login(engine.url, key, '');
    expect(user.r.status).toBe(200);
    expect(user.body.role).toBe('user');
    expect((await fetch(`${engine.url}/ui/api/kubiya/deployments`, { headers: { cookie: user.cookie } })).status).toBe(
      403,
    );
    const own = (await (await fetch(`${engine.url}/ui/api/key/list`, { headers: { cookie: user.cookie } })).json()) as {
      total_count: number;
    };
    expect(own.total_count).toBeLessThanOrEqual(1);
  });

  it('throttles a password guesser: a 429 after 5 failures a minute', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 7; i++) codes.push((await login(engine.url, `guess-${i}`, 'ops')).r.status);
    // one failure of an earlier test counts in the same minute: four more 401s, then 429s
    expect(codes).toEqual([401, 401, 401, 401, 429, 429, 429]);
    // locked out for the rest of the minute, right password or not
    expect((await login(engine.url, 'correct horse battery', 'ops')).r.status).toBe(429);
  });
});

describe('the /ui switches', () => {
  it('DISABLE_ADMIN_UI=True: no dashboard', async () => {
    const engine = await startUiEngine(CONFIG, { DISABLE_ADMIN_UI: 'True' });
    try {
      expect((await fetch(`${engine.url}/ui/`, { headers: { authorization: `Bearer ${MASTER}` } })).status).toBe(404);
    } finally {
      await engine.stop();
    }
  });

  it('SERVER_ROOT_PATH: the dashboard and the API under the prefix', async () => {
    const engine = await startUiEngine(CONFIG, { SERVER_ROOT_PATH: '/gateway/' });
    try {
      expect((await fetch(`${engine.url}/gateway/ui/`)).status).toBe(200);
      const r = await fetch(`${engine.url}/gateway/ui`, { redirect: 'manual' });
      expect(r.headers.get('location')).toBe('ui/');
      const models = await fetch(`${engine.url}/gateway/v1/models`, { headers: { authorization: `Bearer ${MASTER}` } });
      expect(models.status).toBe(200);
    } finally {
      await engine.stop();
    }
  });
});

describe("the Models page's state", () => {
  it('marks a deployment failing its background health checks', async () => {
    const engine = await startUiEngine({
      model_list: [
        { model_name: 'ok', litellm_params: { model: 'openai/gpt-4o-mini', mock_response: 'fine' } },
        // nothing listens on port 1: its checks fail
        {
          model_name: 'broken',
          litellm_params: { model: 'openai/gpt-4o-mini', api_base: 'http://127.0.0.1:1/v1', api_key: 'sk-x' },
        },
      ],
      general_settings: { background_health_checks: true, health_check_interval: 300 },
    });
    try {
      const { cookie } = await login(engine.url, MASTER);
      let rows: { model_name: string; health: string | null }[] = [];
      for (let i = 0; i < 100 && !rows.some((r) => r.health === 'unhealthy'); i++) {
        const r = await fetch(`${engine.url}/ui/api/kubiya/deployments`, { headers: { cookie } });
        rows = ((await r.json()) as { data: typeof rows }).data;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(rows.find((r) => r.model_name === 'broken')?.health).toBe('unhealthy');
      expect(rows.find((r) => r.model_name === 'ok')?.health).toBe('healthy');
    } finally {
      await engine.stop();
    }
  });
});

describe('dashboard sessions across engines', () => {
  it("an engine with the same master key (a --num_workers sibling, a restart) opens the other's session", async () => {
    const a = await startUiEngine(CONFIG);
    const b = await startUiEngine(CONFIG);
    try {
      const { cookie } = await login(a.url, MASTER);
      expect((await fetch(`${b.url}/ui/api/key/list`, { headers: { cookie } })).status).toBe(200);
      // a tampered cookie is nobody's
      const forged = cookie.slice(0, -2) + (cookie.endsWith('A') ? 'BB' : 'AA');
      expect((await fetch(`${b.url}/ui/api/key/list`, { headers: { cookie: forged } })).status).toBe(401);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
