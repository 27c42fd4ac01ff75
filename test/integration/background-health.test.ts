/**
 * Background health checks (general_settings.background_health_checks): a deployment whose upstream fails its
 * check is out of rotation (requests go to the group's other deployment without trying it) until a check
 * passes again; /health is served from the last results without calling upstreams; litellm_deployment_state
 * shows it; a group whose deployments are all down is still tried; wildcards are checked through
 * model_info.health_check_model and stay in rotation when they cannot be checked; the checks stop on close.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type GoogleFake, startGoogleUpstream } from '../fakes/gemini-upstream.js';
import { type FakeUpstream, startOpenAIUpstream } from '../fakes/openai-upstream.js';
import { post, startTestEngine, type TestEngine } from './engine-helpers.js';
import { parseExposition, sum } from './prometheus-text.js';

let ups: FakeUpstream[] = [];
let google: GoogleFake | undefined;
let engine: TestEngine | undefined;
afterEach(async () => {
  await engine?.close();
  await Promise.all(ups.map((u) => u.close()));
  await google?.close();
  ups = [];
  engine = google = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, ms = 5000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (ok(v) || Date.now() - t0 > ms) return v;
    await sleep(50);
  }
}

const health = async (e: TestEngine) => (await fetch(`${e.url}/health`)).json() as Promise<any>;
const chats = (u: FakeUpstream) => u.requests.filter((r) => r.path.endsWith('/chat/completions')).length;
const checks = (u: FakeUpstream) => u.requests.filter((r) => r.path.endsWith('/models')).length;
const ask = (e: TestEngine, model = 'g') =>
  post(`${e.url}/v1/chat/completions`, { model, messages: [{ role: 'user', content: 'hi' }] });

async function twoDeployments(intervalS: number) {
  const a = await startOpenAIUpstream();
  const b = await startOpenAIUpstream();
  ups.push(a, b);
  const dep = (u: FakeUpstream, id: string) => ({
    model_name: 'g',
    litellm_params: { model: 'openai/m', api_base: `${u.url}/v1`, api_key: 'sk-upstream-0000' },
    model_info: { id },
  });
  engine = await startTestEngine({
    model_list: [dep(a, 'dep-a'), dep(b, 'dep-b')],
    general_settings: { background_health_checks: true, health_check_interval: intervalS },
    litellm_settings: { callbacks: ['prometheus'] },
  });
  return { a, b, e: engine };
}

describe('background health checks', () => {
  it('take a failing deployment out of rotation until it passes again; /health and the gauge follow', async () => {
    const { a, e } = await twoDeployments(0.2);
    expect(
      (
        await until(
          () => health(e),
          (h) => h.healthy_count === 2,
        )
      ).healthy_count,
    ).toBe(2);

    a.setFault({ kind: 'status', status: 500 });
    const down = await until(
      () => health(e),
      (h) => h.unhealthy_count === 1,
    );
    expect(down.unhealthy_endpoints).toMatchObject([{ model_id: 'dep-a', model_name: 'g' }]);
    expect(down.unhealthy_endpoints[0].error).toBeTruthy();
    const metrics = parseExposition(await (await fetch(`${e.url}/metrics`)).text());
    expect(sum(metrics, 'litellm_deployment_state', { model_id: 'dep-a' })).toBe(2);
    expect(sum(metrics, 'litellm_deployment_state', { model_id: 'dep-b' })).toBe(0);

    // every request goes to b; a is never tried (no failed attempt, no retry)
    const aBefore = chats(a);
    for (let i = 0; i < 8; i++) {
      const r = await ask(e);
      expect(r.status).toBe(200);
      expect(r.headers.get('x-litellm-model-id')).toBe('dep-b');
    }
    expect(chats(a)).toBe(aBefore);

    a.setFault(undefined);
    await until(
      () => health(e),
      (h) => h.healthy_count === 2,
    );
    const ids = new Set<string | null>();
    for (let i = 0; i < 30 && ids.size < 2; i++) ids.add((await ask(e)).headers.get('x-litellm-model-id'));
    expect(ids).toEqual(new Set(['dep-a', 'dep-b']));
    const after = parseExposition(await (await fetch(`${e.url}/metrics`)).text());
    expect(sum(after, 'litellm_deployment_state', { model_id: 'dep-a' })).toBe(0);
    expect(e.logs.join('\n')).toMatch(/out of rotation[\s\S]*back in rotation/);
  });

  it('serves /health from the last results without calling the upstreams', async () => {
    const { a, b, e } = await twoDeployments(60);
    await until(
      async () => checks(a) + checks(b),
      (n) => n === 2,
    );
    await sleep(50);
    const before = checks(a) + checks(b);
    for (let i = 0; i < 5; i++) expect((await health(e)).healthy_count).toBe(2);
    expect(checks(a) + checks(b)).toBe(before);
    expect(before).toBe(2); // one run at start; the next is a minute away
  });

  it('still tries a group whose deployments are all down', async () => {
    const { a, b, e } = await twoDeployments(0.2);
    a.setFault({ kind: 'status', status: 503 });
    b.setFault({ kind: 'status', status: 503 });
    await until(
      () => health(e),
      (h) => h.unhealthy_count === 2,
    );
    const n = chats(a) + chats(b);
    const r = await ask(e);
    expect(r.status).toBe(503);
    expect(chats(a) + chats(b)).toBeGreaterThan(n);
  });

  it('checks a model added at run time, and stops checking on close', async () => {
    const { a, b, e } = await twoDeployments(0.1);
    const c = await startOpenAIUpstream();
    ups.push(c);
    c.setFault({ kind: 'status', status: 500 });
    engine = await startTestEngine(
      {
        model_list: [
          { model_name: 'g', litellm_params: { model: 'openai/m', api_base: `${a.url}/v1`, api_key: 'k-000' } },
        ],
        general_settings: { master_key: 'sk-master-health', background_health_checks: true, health_check_interval: 30 },
      },
      {},
    );
    await e.close();
    const added = await post(
      `${engine.url}/model/new`,
      { model_name: 'g', litellm_params: { model: 'openai/m', api_base: `${c.url}/v1`, api_key: 'k-111' } },
      { authorization: 'Bearer sk-master-health' },
    );
    expect(added.status).toBe(200);
    // checked at once (not at the next interval, 30 s away): the new deployment is down, the group still answers
    const h = await until(
      () =>
        fetch(`${engine!.url}/health`, { headers: { authorization: 'Bearer sk-master-health' } }).then((r) => r.json()),
      (x: any) => x.unhealthy_count === 1,
    );
    expect(h.unhealthy_endpoints[0].model_id).toBe(added.json.model_id);
    for (let i = 0; i < 5; i++) {
      const r = await post(
        `${engine.url}/v1/chat/completions`,
        { model: 'g', messages: [{ role: 'user', content: 'hi' }] },
        { authorization: 'Bearer sk-master-health' },
      );
      expect(r.status).toBe(200);
    }
    expect(chats(c)).toBe(0);
    // the first engine is closed: its checks stopped
    const n = checks(b);
    await sleep(400);
    expect(checks(b)).toBe(n);
  });

  it('checks wildcards through health_check_model; one that cannot be checked stays in rotation', async () => {
    const key = 'AIzaHealthKey000000000000002';
    google = await startGoogleUpstream({ apiKey: key });
    engine = await startTestEngine({
      model_list: [
        { model_name: 'gemini/*', litellm_params: { model: 'gemini/*', api_base: google.url, api_key: key } },
        {
          model_name: 'g/*',
          litellm_params: { model: 'gemini/*', api_base: google.url, api_key: key },
          model_info: { health_check_model: 'gemini/gemini-2.0-flash' },
        },
      ],
      general_settings: { background_health_checks: true, health_check_interval: 60 },
    });
    const h = await until(
      () => health(engine!),
      (x) => x.unhealthy_count === 1,
    );
    expect(h.healthy_endpoints.map((x: { model_name: string }) => x.model_name)).toEqual(['g/*']);
    expect(h.unhealthy_endpoints[0].error).toMatch(/health_check_model/);
    expect(google.calls.map((c) => c.path)).toContainEqual(expect.stringContaining('/models/gemini-2.0-flash'));
    expect(google.calls.map((c) => c.path).filter((p) => p.includes('*'))).toEqual([]);
    const r = await ask(engine, 'gemini/gemini-2.0-flash');
    expect(r.status).toBe(200);
  });
});
