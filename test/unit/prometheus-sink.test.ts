/**
 * The Prometheus sink on its own: which config turns it on and how, the callback warning, labels from
 * synthetic settled events (end_user, custom metadata and tag labels), cooldowns read from the
 * RouterState, and subscriber failures counted in litellm_callback_logging_failures_metric.
 */
import { describe, expect, it } from 'vitest';
import { loadLiteLLMConfig } from '../../src/config/litellm/load.js';
import type { SettledEvent } from '../../src/engine/index.js';
import { PrometheusSink } from '../../src/engine/observability/prometheus.js';
import { LATENCY_BUCKETS, prometheusConfig } from '../../src/engine/observability/prometheus-config.js';
import { SettledBus } from '../../src/engine/observability/settled.js';
import { buildRouteTable } from '../../src/engine/router/table.js';
import { MemoryRouterState } from '../../src/engine/state/memory.js';
import type { RouterState } from '../../src/engine/state/router-state.js';
import { parseExposition, sum } from '../integration/prometheus-text.js';

const load = (value: Record<string, unknown>) => loadLiteLLMConfig({ kind: 'object', value, label: 't' }, { env: {} });
const model_list = [
  { model_name: 'g', litellm_params: { model: 'openai/a', mock_response: 'x' }, model_info: { id: 'dep-a' } },
  { model_name: 'g', litellm_params: { model: 'openai/b', mock_response: 'x' }, model_info: { id: 'dep-b' } },
];

async function sink(litellm_settings: Record<string, unknown>, state: RouterState = new MemoryRouterState()) {
  const loaded = load({ model_list, litellm_settings: { callbacks: ['prometheus'], ...litellm_settings } });
  const table = await buildRouteTable(loaded, {});
  return new PrometheusSink({ config: prometheusConfig(loaded.config)!, table, state, inflight: () => 3, secrets: [] });
}

function event(over: Partial<SettledEvent> = {}): SettledEvent {
  return {
    callId: 'c1',
    principal: { kind: 'master', keyHash: 'h'.repeat(64), endUserId: 'eu-1' },
    endpoint: 'chat',
    requestedModel: 'g',
    modelGroup: 'g',
    deploymentId: 'dep-a',
    litellmModel: 'openai/a',
    provider: 'openai',
    stream: false,
    status: 'success',
    httpStatus: 200,
    usage: { prompt: 3, completion: 4, total: 7, cached: 0, cacheCreation: 0, reasoning: 0 },
    usageReported: true,
    responseCost: 0.25,
    startTime: 0,
    endTime: 10,
    durationMs: 10,
    upstreamMs: 8,
    attemptedRetries: 0,
    attemptedFallbacks: 0,
    attempts: 1,
    cacheHit: false,
    tags: [],
    ...over,
  };
}

const metrics = async (s: PrometheusSink) => parseExposition(await s.scrape());

describe('prometheusConfig', () => {
  it('is on with "prometheus" in callbacks, success_callback or failure_callback, off otherwise', () => {
    const on = (ls: Record<string, unknown>) => prometheusConfig(load({ model_list, litellm_settings: ls }).config);
    expect(on({})).toBeUndefined();
    expect(on({ callbacks: ['langfuse'] })).toBeUndefined();
    expect(on({ callbacks: ['prometheus'] })).toMatchObject({ requireAuth: false, endUser: false });
    expect(on({ success_callback: ['prometheus'] })).toBeDefined();
    expect(on({ failure_callback: 'prometheus' })).toBeDefined();
    expect(on({ callbacks: ['prometheus'] })!.buckets).toEqual(LATENCY_BUCKETS);
    expect(on({ callbacks: ['prometheus'], require_auth_for_metrics_endpoint: true })!.requireAuth).toBe(true);
    expect(on({ callbacks: ['prometheus'], enable_end_user_cost_tracking_prometheus_only: true })!.endUser).toBe(true);
  });

  it('LiteLLM buckets: 5 ms to 300 s', () => {
    expect(LATENCY_BUCKETS.slice(0, 8)).toEqual([0.005, 0.00625, 0.0125, 0.025, 0.05, 0.1, 0.5, 1]);
    expect(LATENCY_BUCKETS.slice(-9)).toEqual([15, 20, 25, 30, 60, 120, 180, 240, 300]);
    expect(LATENCY_BUCKETS).toHaveLength(35);
  });

  it('the loader accepts prometheus and names each callback it does not implement yet', () => {
    const quiet = load({ model_list, litellm_settings: { callbacks: ['prometheus'], success_callback: 'prometheus' } });
    expect(quiet.warnings.filter((w) => w.path.includes('callback'))).toEqual([]);
    const loud = load({
      model_list,
      litellm_settings: { callbacks: ['prometheus', 'datadog'], success_callback: ['langfuse'] },
    });
    // langfuse (and otel) are implemented too (their own sinks): only datadog is named
    expect(loud.warnings.filter((w) => w.path.includes('callback'))).toEqual([
      {
        path: 'litellm_settings.callbacks',
        message: 'not supported yet; ignored: "datadog" (implemented: prometheus, langfuse, otel)',
      },
    ]);
  });
});

describe('PrometheusSink', () => {
  it('end_user stays empty unless enable_end_user_cost_tracking_prometheus_only', async () => {
    const off = await sink({});
    off.observe(event());
    expect(sum(await metrics(off), 'litellm_proxy_total_requests_metric_total', { end_user: '' })).toBe(1);
    const on = await sink({ enable_end_user_cost_tracking_prometheus_only: true });
    on.observe(event());
    expect(sum(await metrics(on), 'litellm_proxy_total_requests_metric_total', { end_user: 'eu-1' })).toBe(1);
  });

  it('spend from responseCost, tokens from usage; custom metadata and tag labels', async () => {
    const s = await sink({
      custom_prometheus_metadata_labels: ['metadata.env'],
      custom_prometheus_tags: ['prod', 'User-Agent: claude-cli/*'],
    });
    s.observe(event({ metadata: { env: 'staging' }, tags: ['prod', 'User-Agent: claude-cli/1.2'] }));
    s.observe(event({ responseCost: undefined, tags: [] }));
    const e = await metrics(s);
    const tagged = { metadata_env: 'staging', tag_prod: 'true', tag_User_Agent__claude_cli__: 'true' };
    expect(sum(e, 'litellm_spend_metric_total', tagged)).toBe(0.25);
    expect(sum(e, 'litellm_spend_metric_total', { metadata_env: '', tag_prod: 'false' })).toBe(0);
    expect(sum(e, 'litellm_total_tokens_metric_total', { model: 'a', requested_model: 'g' })).toBe(14);
    expect(sum(e, 'litellm_in_flight_requests')).toBe(3);
  });

  it('successes of many label combinations (more than the sink remembers), interleaved, count apart', async () => {
    const s = await sink({ enable_end_user_cost_tracking_prometheus_only: true, prometheus_emit_stream_label: true });
    const key = (c: string) => c.repeat(64);
    const b = { deploymentId: 'dep-b', litellmModel: 'openai/b' };
    // each variant differs from the first in one label value (or a few)
    const variants: [Partial<SettledEvent>, Record<string, string>][] = [
      [{}, { hashed_api_key: key('h'), model_id: 'dep-a', stream: 'False', end_user: 'eu-1' }],
      [{ stream: true }, { hashed_api_key: key('h'), model_id: 'dep-a', stream: 'True' }],
      [b, { hashed_api_key: key('h'), model_id: 'dep-b', stream: 'False' }],
      [{ principal: { kind: 'virtual_key', keyHash: key('k'), endUserId: 'eu-1' } }, { hashed_api_key: key('k') }],
      [{ principal: { kind: 'master', keyHash: key('h'), endUserId: 'eu-2' } }, { end_user: 'eu-2' }],
      [{ principal: { kind: 'master', keyHash: key('h'), endUserId: 'eu-1', teamId: 't1' } }, { team: 't1' }],
      [
        { principal: { kind: 'master', keyHash: key('h'), endUserId: 'eu-1', metadata: { team_alias: 'blue' } } },
        { team_alias: 'blue' },
      ],
      [{ principal: { kind: 'master', keyHash: key('h'), endUserId: 'eu-1', userId: 'u1' } }, { user: 'u1' }],
      [{ requestedModel: 'alias' }, { requested_model: 'g', model_id: 'dep-a', hashed_api_key: key('h') }],
      [{ endpoint: 'embedding' }, { route: '/v1/embeddings' }],
      [
        { ...b, stream: true },
        { model_id: 'dep-b', stream: 'True' },
      ],
      [
        { principal: { kind: 'virtual_key', keyHash: key('k'), endUserId: 'eu-1', keyAlias: 'ci' } },
        { api_key_alias: 'ci' },
      ],
    ];
    // variant i is sent i + 1 times, round-robin: no two neighbours alike
    for (let round = 0; round < variants.length; round++)
      for (let i = round; i < variants.length; i++) s.observe(event(variants[i]![0]));
    const e = await metrics(s);
    const total = (where: Record<string, string>) => sum(e, 'litellm_proxy_total_requests_metric_total', where);
    const n = variants.length;
    expect(total({})).toBe((n * (n + 1)) / 2);
    expect(total({ route: '/v1/embeddings' })).toBe(10);
    expect(total({ end_user: 'eu-2' })).toBe(5);
    expect(total({ team: 't1' })).toBe(6);
    expect(total({ team_alias: 'blue' })).toBe(7);
    expect(total({ user: 'u1' })).toBe(8);
    expect(total({ api_key_alias: 'ci' })).toBe(12);
    expect(total({ hashed_api_key: key('k') })).toBe(4 + 12);
    expect(total({ stream: 'True' })).toBe(2 + 11);
    // the per-deployment series: one call each, on the deployment that answered
    const dep = (where: Record<string, string>) => sum(e, 'litellm_deployment_success_responses_total', where);
    expect(dep({ model_id: 'dep-b' })).toBe(3 + 11);
    expect(dep({ model_id: 'dep-a' })).toBe((n * (n + 1)) / 2 - 14);
    expect(sum(e, 'litellm_spend_metric_total', { model_id: 'dep-b' })).toBeCloseTo(0.25 * 14);
  });

  it('a client that left is counted in total requests, not as a failure', async () => {
    const s = await sink({});
    s.observe(event({ status: 'client_abort', httpStatus: 499 }));
    const e = await metrics(s);
    expect(sum(e, 'litellm_proxy_total_requests_metric_total', { status_code: '499' })).toBe(1);
    expect(sum(e, 'litellm_proxy_failed_requests_metric_total')).toBe(0);
  });

  it('a failed call that cooled its deployment down counts once per cooldown; the state gauge says 2', async () => {
    let until = 0;
    const load0 = { inflight: 0, latencyMs: 0, requests: 0, tokens: 0 };
    const state: RouterState = {
      read: () => ({ of: () => ({ ...load0, cooldownUntil: until }), msToReset: () => 0 }),
      begin() {},
      settle() {},
    };
    const s = await sink({}, state);
    const failed = event({
      status: 'failure',
      httpStatus: 429,
      errorClass: 'rate_limit',
      attemptDetails: [
        {
          deploymentId: 'dep-a',
          modelGroup: 'g',
          litellmModel: 'openai/a',
          provider: 'openai',
          status: 'error',
          errorClass: 'rate_limit',
          errorStatus: 429,
          durationMs: 2,
        },
      ],
    });
    s.observe(failed); // not cooling: counted as a failure only
    until = Date.now() + 60_000;
    s.observe(failed);
    s.observe(failed); // the same cooldown
    const e = await metrics(s);
    expect(sum(e, 'litellm_deployment_failure_responses_total', { model_id: 'dep-a', exception_status: '429' })).toBe(
      3,
    );
    expect(
      sum(e, 'litellm_deployment_cooled_down_total', {
        model_id: 'dep-a',
        litellm_model_name: 'a',
        api_provider: 'openai',
        exception_status: '429',
      }),
    ).toBe(1);
    expect(sum(e, 'litellm_deployment_state', { model_id: 'dep-a' })).toBe(2);
    expect(
      sum(e, 'litellm_proxy_failed_requests_metric_total', {
        exception_status: '429',
        exception_class: 'Openai.RateLimitError',
      }),
    ).toBe(3);
  });

  it('every failure of a settled-event subscriber is counted by callback name', async () => {
    const s = await sink({});
    const logged: unknown[] = [];
    const bus = new SettledBus(
      (err) => logged.push(err),
      (fn) => s.callbackFailure(fn.name || 'custom_callback'),
    );
    const spendWriter = () => {
      throw new Error('down');
    };
    bus.subscribe(spendWriter);
    bus.emit(event());
    bus.emit(event());
    bus.flush();
    expect(logged).toHaveLength(1); // logged once
    const e = await metrics(s);
    expect(sum(e, 'litellm_callback_logging_failures_metric_total', { callback_name: 'spendWriter' })).toBe(2);
  });
});
