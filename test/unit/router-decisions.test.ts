import { describe, expect, it } from 'vitest';
import { loadLiteLLMConfig } from '../../src/config/litellm/load.js';
import { ANONYMOUS } from '../../src/engine/auth/principal.js';
import type { Deployment } from '../../src/engine/deployment.js';
import { GatewayError } from '../../src/engine/errors.js';
import { ClientLink } from '../../src/engine/http/client-link.js';
import type { AttemptRunner, Outcome, RouteRequest } from '../../src/engine/router/attempt.js';
import { dispatch, type RouterDeps } from '../../src/engine/router/dispatch.js';
import { buildRouteTable } from '../../src/engine/router/table.js';
import type { DeploymentLoad, RouterState, StateView } from '../../src/engine/state/router-state.js';
import type { UpstreamClient } from '../../src/engine/upstream/client.js';

/** A RouterState the test sets by hand; it counts writes (the router itself must make none). */
class FakeState implements RouterState {
  loads = new Map<string, Partial<DeploymentLoad>>();
  resetMs = 42_000;
  async = false;
  reads = 0;
  writes = 0;

  read(): StateView | Promise<StateView> {
    this.reads++;
    const view: StateView = {
      of: (d) => ({ inflight: 0, latencyMs: 0, cooldownUntil: 0, requests: 0, tokens: 0, ...this.loads.get(d.id) }),
      msToReset: () => this.resetMs,
    };
    return this.async ? Promise.resolve(view) : view;
  }

  begin(): void {
    this.writes++;
  }

  settle(): void {
    this.writes++;
  }
}

type Script = Record<string, (req: RouteRequest) => GatewayError | undefined>;

/** Fake attempts: record which deployment was tried, fail as scripted, else answer. */
function attempts(script: Script = {}) {
  const calls: string[] = [];
  const run: AttemptRunner = async (_deps, dep, _group, req) => {
    calls.push(dep.id);
    const err = script[dep.id]?.(req);
    if (err) throw err;
    return { type: 'json', deployment: dep, response: { id: dep.id }, upstreamMs: 1 } satisfies Outcome;
  };
  return { calls, run };
}

const fail = (status: number) => () => new GatewayError(status, { message: `failed ${status}` });
const dep = (group: string, id: string, params: Record<string, unknown> = {}, info: Record<string, unknown> = {}) => ({
  model_name: group,
  litellm_params: { model: `openai/${id}`, mock_response: 'hi', ...params },
  model_info: { id, ...info },
});

async function router(models: Record<string, unknown>[], settings: Record<string, unknown> = {}, script: Script = {}) {
  const config = { model_list: models, router_settings: settings };
  const loaded = loadLiteLLMConfig({ kind: 'object', value: config, label: 'test' }, { env: {} });
  const table = await buildRouteTable(loaded, {});
  const state = new FakeState();
  const fake = attempts(script);
  const deps: RouterDeps = { table, client: {} as UpstreamClient, state, attempt: fake.run };
  const route = (body: Record<string, unknown> = {}, client = new ClientLink()) => {
    const full = { model: 'g', messages: [], ...body };
    const req: RouteRequest = {
      kind: 'chat',
      body: full,
      model: 'g',
      stream: false,
      requestId: 'r',
      client,
      principal: ANONYMOUS,
    };
    return dispatch(deps, req);
  };
  return { state, calls: fake.calls, route };
}

/** Which deployments `n` requests went to. */
async function picks(route: () => Promise<{ deployment: Deployment }>, n = 20): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add((await route()).deployment.id);
  return seen;
}

describe('strategies choose from the state', () => {
  it('least-busy: the fewest in flight', async () => {
    const r = await router([dep('g', 'a'), dep('g', 'b'), dep('g', 'c')], { routing_strategy: 'least-busy' });
    r.state.loads.set('a', { inflight: 3 }).set('b', { inflight: 1 }).set('c', { inflight: 2 });
    expect(await picks(() => r.route())).toEqual(new Set(['b']));
  });

  it('latency-based: unmeasured first, then the lowest average', async () => {
    const r = await router([dep('g', 'a'), dep('g', 'b')], { routing_strategy: 'latency-based-routing' });
    r.state.loads.set('a', { latencyMs: 50 });
    expect(await picks(() => r.route())).toEqual(new Set(['b']));
    r.state.loads.set('b', { latencyMs: 80 });
    expect(await picks(() => r.route())).toEqual(new Set(['a']));
  });

  it('usage-based: the fewest tokens this minute; cost-based: the cheapest', async () => {
    const u = await router([dep('g', 'a'), dep('g', 'b')], { routing_strategy: 'usage-based-routing-v2' });
    u.state.loads.set('a', { tokens: 100 }).set('b', { tokens: 10 });
    expect(await picks(() => u.route())).toEqual(new Set(['b']));
    const priced = (id: string, cost: number) => dep('g', id, {}, { input_cost_per_token: cost });
    const c = await router([priced('a', 2e-6), priced('b', 1e-6)], { routing_strategy: 'cost-based-routing' });
    expect(await picks(() => c.route())).toEqual(new Set(['b']));
  });

  it('simple-shuffle: by weight', async () => {
    const r = await router([dep('g', 'a', { weight: 1 }), dep('g', 'b', { weight: 0 })]);
    expect(await picks(() => r.route())).toEqual(new Set(['a']));
  });

  it('reads the state once per decision, awaiting a store that answers with a Promise', async () => {
    const r = await router([dep('g', 'a'), dep('g', 'b')], { routing_strategy: 'least-busy' });
    r.state.async = true;
    r.state.loads.set('a', { inflight: 5 });
    expect((await r.route()).deployment.id).toBe('b');
    expect(r.state.reads).toBe(1);
  });
});

describe('what the router skips', () => {
  it('deployments cooling down or at their rpm/tpm limit', async () => {
    const r = await router([dep('g', 'a'), dep('g', 'b', { rpm: 5 }), dep('g', 'c', { tpm: 100 }), dep('g', 'd')]);
    r.state.loads
      .set('a', { cooldownUntil: Date.now() + 10_000 })
      .set('b', { requests: 5 })
      .set('c', { tokens: 100 });
    expect(await picks(() => r.route())).toEqual(new Set(['d']));
  });

  it('all cooling down: 429 no_deployments_available with Retry-After of the first back, nothing tried', async () => {
    const r = await router([dep('g', 'a'), dep('g', 'b')]);
    r.state.loads.set('a', { cooldownUntil: Date.now() + 7_000 }).set('b', { cooldownUntil: Date.now() + 2_500 });
    await expect(r.route()).rejects.toMatchObject({ status: 429, code: 'no_deployments_available', retryAfter: '3' });
    expect(r.calls).toEqual([]);
  });

  it('all at their limits: 429 with the end of the minute as Retry-After', async () => {
    const r = await router([dep('g', 'a', { rpm: 1 })]);
    r.state.loads.set('a', { requests: 1 });
    r.state.resetMs = 12_300;
    await expect(r.route()).rejects.toMatchObject({ status: 429, retryAfter: '13' });
    expect(r.calls).toEqual([]);
  });
});

describe('retries and fallbacks', () => {
  const models = [dep('g', 'a'), dep('g', 'b'), dep('fb', 'f')];
  const settings = { fallbacks: [{ g: ['fb'] }] };

  it('a failure goes to the other deployment of the group first, then to the fallback group', async () => {
    const r = await router(models, settings, { a: fail(500), b: fail(503) });
    const out = await r.route();
    expect(out.deployment.id).toBe('f');
    expect(new Set(r.calls.slice(0, 2))).toEqual(new Set(['a', 'b']));
    expect(r.calls[2]).toBe('f');
    expect([out.attemptedRetries, out.attemptedFallbacks]).toEqual([0, 1]);
  });

  it('an answer after a retry says so; the router never writes the state itself', async () => {
    const r = await router(models, { ...settings, routing_strategy: 'least-busy' }, { a: fail(500) });
    r.state.loads.set('b', { inflight: 1 }); // a first, every time
    for (let i = 0; i < 3; i++) {
      const out = await r.route();
      expect([out.deployment.id, out.attemptedRetries, out.attemptedFallbacks]).toEqual(['b', 1, undefined]);
    }
    expect(r.calls).toEqual(['a', 'b', 'a', 'b', 'a', 'b']);
    expect(r.state.writes).toBe(0);
  });

  it('a bad request is neither retried nor sent to fallbacks', async () => {
    const r = await router(models, settings, { a: fail(400), b: fail(400) });
    await expect(r.route()).rejects.toMatchObject({ status: 400 });
    expect(r.calls).toHaveLength(1);
  });

  it('the client gone: no retry, no fallback', async () => {
    const link = new ClientLink();
    const gone = () => {
      link.fire();
      return new GatewayError(502, { message: 'the client went away', errorClass: 'connection' });
    };
    const r = await router(models, { ...settings, num_retries: 3 }, { a: gone, b: gone });
    await expect(r.route({}, link)).rejects.toMatchObject({ status: 502 });
    expect(r.calls).toHaveLength(1);
  });

  it('every group failing: the last error, naming the first failure and the fallbacks tried', async () => {
    const r = await router(models, settings, { a: fail(500), b: fail(500), f: fail(503) });
    const err = await r.route().catch((e: GatewayError) => e);
    expect(err).toMatchObject({ status: 503 });
    expect((err as GatewayError).message).toMatch(/model group "g" failed with: failed 500; 1 fallback tried/);
  });
});
