/**
 * GET /metrics with `callbacks: ["prometheus"]`: LiteLLM's metric names, types, labels and buckets,
 * counted from settled events after known requests (success, upstream 500, stream, fallback, 401),
 * gauges read at scrape time, /health/backlog, auth when configured, 404 when not enabled.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS } from '../../src/engine/observability/prometheus-config.js';
import { type FaultUpstream, startFaultUpstream } from '../fakes/fault-upstream.js';
import { type FakeUpstream, startOpenAIUpstream } from '../fakes/openai-upstream.js';
import { post, startTestEngine, type TestEngine } from './engine-helpers.js';
import { type Exposition, parseExposition, select, sum } from './prometheus-text.js';

const MASTER = 'sk-master-metrics-0123';
const UPSTREAM_KEY = 'sk-upstream-metrics-secret';
const KEY_HASH = createHash('sha256').update(MASTER).digest('hex');
const auth = { authorization: `Bearer ${MASTER}` };
const msgs = [{ role: 'user', content: 'hello there' }];

let up: FakeUpstream;
let primary: FaultUpstream;
let backup: FaultUpstream;
let engine: TestEngine;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function scrape(e: TestEngine = engine, headers: Record<string, string> = {}): Promise<Exposition> {
  const r = await fetch(`${e.url}/metrics`, { headers });
  expect(r.status).toBe(200);
  return parseExposition(await r.text());
}

/** Scrape until `ok` holds (events reach the sink on the next tick, after the response). */
async function scrapeUntil(ok: (e: Exposition) => boolean): Promise<Exposition> {
  const t0 = Date.now();
  for (;;) {
    const e = await scrape();
    if (ok(e) || Date.now() - t0 > 3000) return e;
    await sleep(10);
  }
}

beforeAll(async () => {
  up = await startOpenAIUpstream();
  primary = await startFaultUpstream('primary');
  backup = await startFaultUpstream('backup');
  engine = await startTestEngine(
    {
      model_list: [
        {
          model_name: 'mocked',
          litellm_params: { model: 'openai/whatever', mock_response: 'Hi from the mock.' },
          model_info: { id: 'dep-mock' },
        },
        {
          model_name: 'gpt',
          litellm_params: { model: 'openai/gpt-4o', api_base: `${up.url}/v1`, api_key: UPSTREAM_KEY, rpm: 100 },
          model_info: { id: 'dep-gpt' },
        },
        {
          model_name: 'main',
          litellm_params: { model: 'openai/p-model', api_base: primary.base, api_key: UPSTREAM_KEY },
          model_info: { id: 'main-primary' },
        },
        {
          model_name: 'spare',
          litellm_params: { model: 'openai/b-model', api_base: backup.base, api_key: UPSTREAM_KEY },
          model_info: { id: 'spare-backup' },
        },
      ],
      router_settings: { fallbacks: [{ main: ['spare'] }], num_retries: 0, disable_cooldowns: true },
      litellm_settings: { callbacks: ['prometheus'], custom_prometheus_metadata_labels: ['metadata.project'] },
      general_settings: { master_key: MASTER },
    },
    { apiKey: MASTER },
  );
});
afterAll(async () => {
  await engine?.close();
  await Promise.all([up?.close(), primary?.close(), backup?.close()]);
});
beforeEach(() => {
  up.setFault(undefined);
  primary.script([]);
  backup.script([]);
});

describe('GET /metrics (callbacks: ["prometheus"])', () => {
  it('is open by default, in Prometheus text format, with every LiteLLM metric family and its type', async () => {
    const r = await fetch(`${engine.url}/metrics/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const e = parseExposition(await r.text());
    const want: Record<string, string> = {
      litellm_proxy_total_requests_metric_total: 'counter',
      litellm_proxy_failed_requests_metric_total: 'counter',
      litellm_requests_metric_total: 'counter',
      litellm_spend_metric_total: 'counter',
      litellm_total_tokens_metric_total: 'counter',
      litellm_input_tokens_metric_total: 'counter',
      litellm_output_tokens_metric_total: 'counter',
      litellm_request_total_latency_metric: 'histogram',
      litellm_llm_api_latency_metric: 'histogram',
      litellm_llm_api_time_to_first_token_metric: 'histogram',
      litellm_overhead_latency_metric: 'histogram',
      litellm_deployment_state: 'gauge',
      litellm_deployment_success_responses_total: 'counter',
      litellm_deployment_failure_responses_total: 'counter',
      litellm_deployment_cooled_down_total: 'counter',
      litellm_deployment_successful_fallbacks_total: 'counter',
      litellm_deployment_failed_fallbacks_total: 'counter',
      litellm_remaining_requests_metric: 'gauge',
      litellm_remaining_tokens_metric: 'gauge',
      litellm_in_flight_requests: 'gauge',
      litellm_callback_logging_failures_metric_total: 'counter',
    };
    for (const [name, type] of Object.entries(want)) expect(e.types.get(name), name).toBe(type);
    // scrape-time gauges: every deployment healthy, the scrape itself in flight, rpm 100 left this minute
    expect(
      select(e, 'litellm_deployment_state')
        .map((s) => s.labels.model_id)
        .sort(),
    ).toEqual(['dep-gpt', 'dep-mock', 'main-primary', 'spare-backup'].sort());
    expect(sum(e, 'litellm_deployment_state')).toBe(0);
    expect(sum(e, 'litellm_in_flight_requests')).toBe(1);
    expect(select(e, 'litellm_remaining_requests_metric')).toEqual([
      {
        name: 'litellm_remaining_requests_metric',
        labels: {
          model_group: 'gpt',
          api_provider: 'openai',
          api_base: `${up.url}/v1`,
          litellm_model_name: 'gpt-4o',
          hashed_api_key: '',
          api_key_alias: '',
          model_id: 'dep-gpt',
        },
        value: 100,
      },
    ]);
  });

  it('a success: requests, tokens, spend, latency histograms with LiteLLM buckets, deployment success', async () => {
    const body = { model: 'mocked', messages: msgs, user: 'end-user-1', metadata: { project: 'apollo' } };
    const r = await post(`${engine.url}/v1/chat/completions`, body, auth);
    expect(r.status).toBe(200);
    const usage = r.json.usage;
    const who = { hashed_api_key: KEY_HASH, end_user: '', model_id: 'dep-mock', metadata_project: 'apollo' };
    const e = await scrapeUntil((x) => sum(x, 'litellm_proxy_total_requests_metric_total', who) > 0);
    expect(select(e, 'litellm_proxy_total_requests_metric_total', who)).toEqual([
      {
        name: 'litellm_proxy_total_requests_metric_total',
        labels: {
          end_user: '',
          hashed_api_key: KEY_HASH,
          api_key_alias: '',
          team: '',
          team_alias: '',
          user: '',
          requested_model: 'mocked',
          status_code: '200',
          user_email: '',
          route: '/v1/chat/completions',
          model_id: 'dep-mock',
          metadata_project: 'apollo',
        },
        value: 1,
      },
    ]);
    expect(sum(e, 'litellm_requests_metric_total', { ...who, model: 'whatever', api_provider: 'openai' })).toBe(1);
    expect(sum(e, 'litellm_spend_metric_total', who)).toBe(0);
    expect(sum(e, 'litellm_input_tokens_metric_total', who)).toBe(usage.prompt_tokens);
    expect(sum(e, 'litellm_output_tokens_metric_total', who)).toBe(usage.completion_tokens);
    expect(sum(e, 'litellm_total_tokens_metric_total', who)).toBe(usage.total_tokens);
    expect(sum(e, 'litellm_deployment_success_responses_total', { model_id: 'dep-mock' })).toBe(1);
    for (const h of ['litellm_request_total_latency_metric', 'litellm_overhead_latency_metric']) {
      const buckets = select(e, `${h}_bucket`, { model_id: 'dep-mock' });
      expect(buckets.map((b) => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le)))).toEqual([
        ...LATENCY_BUCKETS,
        Infinity,
      ]);
      expect(buckets.at(-1)!.value).toBe(1);
      expect(sum(e, `${h}_count`, { model_id: 'dep-mock' })).toBe(1);
    }
    // not a stream: no time to first token
    expect(sum(e, 'litellm_llm_api_time_to_first_token_metric_count', { model_id: 'dep-mock' })).toBe(0);
  });

  it('an upstream 500: a failed request with LiteLLM exception labels, a deployment failure, state 1', async () => {
    up.setFault({ kind: 'status', status: 500, body: { error: { message: 'boom' } } });
    const r = await post(`${engine.url}/v1/chat/completions`, { model: 'gpt', messages: msgs }, auth);
    expect(r.status).toBe(500);
    const where = { requested_model: 'gpt', exception_status: '500' };
    const e = await scrapeUntil((x) => sum(x, 'litellm_proxy_failed_requests_metric_total', where) > 0);
    expect(select(e, 'litellm_proxy_failed_requests_metric_total', where).map((s) => s.labels)).toEqual([
      expect.objectContaining({
        hashed_api_key: KEY_HASH,
        exception_class: 'Openai.InternalServerError',
        model_id: 'dep-gpt',
        route: '/v1/chat/completions',
      }),
    ]);
    expect(sum(e, 'litellm_proxy_failed_requests_metric_total', where)).toBe(1);
    expect(sum(e, 'litellm_proxy_total_requests_metric_total', { requested_model: 'gpt', status_code: '500' })).toBe(1);
    expect(
      sum(e, 'litellm_deployment_failure_responses_total', {
        model_id: 'dep-gpt',
        requested_model: 'gpt',
        litellm_model_name: 'gpt-4o',
        api_provider: 'openai',
        api_base: `${up.url}/v1`,
        exception_status: '500',
        exception_class: 'Openai.InternalServerError',
      }),
    ).toBe(1);
    expect(sum(e, 'litellm_deployment_state', { model_id: 'dep-gpt' })).toBe(1);
    expect(sum(e, 'litellm_requests_metric_total', { model_id: 'dep-gpt' })).toBe(0);
  });

  it('a stream: time to first token and api latency observed; the deployment is healthy again', async () => {
    const stream = await engine.openai.chat.completions.create({ model: 'gpt', messages: msgs as never, stream: true });
    for await (const _ of stream) {
      // drain
    }
    const where = { model_id: 'dep-gpt', requested_model: 'gpt' };
    const e = await scrapeUntil((x) => sum(x, 'litellm_llm_api_time_to_first_token_metric_count', where) > 0);
    expect(sum(e, 'litellm_llm_api_time_to_first_token_metric_count', where)).toBe(1);
    expect(sum(e, 'litellm_llm_api_latency_metric_count', where)).toBe(1);
    expect(sum(e, 'litellm_proxy_total_requests_metric_total', { ...where, status_code: '200' })).toBe(1);
    expect(sum(e, 'litellm_deployment_state', { model_id: 'dep-gpt' })).toBe(0);
    expect(sum(e, 'litellm_remaining_requests_metric', { model_id: 'dep-gpt' })).toBeLessThan(100);
  });

  it('a fallback: the failed primary, the answering spare, one successful fallback main -> spare', async () => {
    primary.script([{ kind: 'status', status: 500 }]);
    const r = await post(`${engine.url}/v1/chat/completions`, { model: 'main', messages: msgs }, auth);
    expect(r.status).toBe(200);
    const e = await scrapeUntil((x) => sum(x, 'litellm_deployment_successful_fallbacks_total') > 0);
    expect(select(e, 'litellm_deployment_successful_fallbacks_total').map((s) => [s.labels, s.value])).toEqual([
      [
        expect.objectContaining({
          requested_model: 'main',
          fallback_model: 'spare',
          hashed_api_key: KEY_HASH,
          exception_status: '500',
          exception_class: 'Openai.InternalServerError',
        }),
        1,
      ],
    ]);
    expect(sum(e, 'litellm_deployment_failed_fallbacks_total')).toBe(0);
    expect(sum(e, 'litellm_deployment_failure_responses_total', { model_id: 'main-primary' })).toBe(1);
    expect(sum(e, 'litellm_deployment_success_responses_total', { model_id: 'spare-backup' })).toBe(1);
    // the client got an answer: one successful request for the group that answered
    expect(sum(e, 'litellm_proxy_total_requests_metric_total', { status_code: '200', model_id: 'spare-backup' })).toBe(
      1,
    );
    expect(sum(e, 'litellm_proxy_failed_requests_metric_total', { requested_model: 'main' })).toBe(0);
  });

  it('a fallback that fails too: one failed fallback main -> spare, one failed request for main', async () => {
    primary.script([{ kind: 'status', status: 500 }]);
    backup.script([{ kind: 'status', status: 503 }]);
    const r = await post(`${engine.url}/v1/chat/completions`, { model: 'main', messages: msgs }, auth);
    expect(r.status).toBe(503);
    const e = await scrapeUntil((x) => sum(x, 'litellm_deployment_failed_fallbacks_total') > 0);
    expect(
      sum(e, 'litellm_deployment_failed_fallbacks_total', {
        requested_model: 'main',
        fallback_model: 'spare',
        exception_status: '500',
      }),
    ).toBe(1);
    expect(sum(e, 'litellm_deployment_successful_fallbacks_total')).toBe(1); // the earlier test's
    expect(
      sum(e, 'litellm_proxy_failed_requests_metric_total', {
        requested_model: 'main',
        exception_status: '503',
        exception_class: 'Openai.ServiceUnavailableError',
      }),
    ).toBe(1);
    expect(
      sum(e, 'litellm_deployment_failure_responses_total', { model_id: 'spare-backup', exception_status: '503' }),
    ).toBe(1);
  });

  it('a 401 is not recorded (no series per guessed key), as LiteLLM does', async () => {
    const before = sum(await scrape(), 'litellm_proxy_total_requests_metric_total');
    const r = await post(
      `${engine.url}/v1/chat/completions`,
      { model: 'mocked', messages: msgs },
      {
        authorization: 'Bearer sk-wrong',
      },
    );
    expect(r.status).toBe(401);
    await sleep(50);
    const e = await scrape();
    expect(sum(e, 'litellm_proxy_total_requests_metric_total')).toBe(before);
    expect(sum(e, 'litellm_proxy_failed_requests_metric_total', { exception_status: '401' })).toBe(0);
  });

  it('GET /health/backlog: the requests in flight (this one included), behind the authenticator', async () => {
    const r = await fetch(`${engine.url}/health/backlog`, { headers: auth });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ in_flight_requests: 1 });
    expect((await fetch(`${engine.url}/health/backlog`)).status).toBe(401);
  });
});

describe('/metrics configuration', () => {
  const model_list = [{ model_name: 'm', litellm_params: { model: 'openai/m', mock_response: 'x' } }];

  it('is a 404 without the prometheus callback', async () => {
    const e = await startTestEngine({ model_list, litellm_settings: { callbacks: [] } });
    try {
      expect((await fetch(`${e.url}/metrics`)).status).toBe(404);
    } finally {
      await e.close();
    }
  });

  it('require_auth_for_metrics_endpoint: true puts it behind the master key', async () => {
    const e = await startTestEngine({
      model_list,
      litellm_settings: { success_callback: ['prometheus'], require_auth_for_metrics_endpoint: true },
      general_settings: { master_key: MASTER },
    });
    try {
      expect((await fetch(`${e.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${e.url}/metrics`, { headers: auth })).status).toBe(200);
      // no warning for prometheus itself
      expect(e.logs.join('\n')).not.toMatch(/success_callback/);
    } finally {
      await e.close();
    }
  });

  it('prometheus_metrics_config: only the listed metrics, with the listed labels (LiteLLM groups)', async () => {
    const e = await startTestEngine({
      model_list,
      litellm_settings: {
        callbacks: ['prometheus'],
        custom_prometheus_metadata_labels: ['metadata.project'],
        prometheus_metrics_config: [
          {
            group: 'requests',
            metrics: ['litellm_proxy_total_requests_metric', 'litellm_request_total_latency_metric'],
            include_labels: ['requested_model', 'status_code', 'metadata_project'],
          },
          { group: 'health', metrics: ['litellm_deployment_state'] },
        ],
      },
    });
    try {
      const r = await post(`${e.url}/v1/chat/completions`, {
        model: 'm',
        messages: msgs,
        metadata: { project: 'apollo' },
      });
      expect(r.status).toBe(200);
      await sleep(50);
      const x = parseExposition(await (await fetch(`${e.url}/metrics`)).text());
      expect([...x.types.keys()].sort()).toEqual(
        [
          'litellm_deployment_state',
          'litellm_proxy_total_requests_metric_total',
          'litellm_request_total_latency_metric',
        ].sort(),
      );
      expect(select(x, 'litellm_proxy_total_requests_metric_total')).toEqual([
        {
          name: 'litellm_proxy_total_requests_metric_total',
          labels: { requested_model: 'm', status_code: '200', metadata_project: 'apollo' },
          value: 1,
        },
      ]);
      expect(select(x, 'litellm_request_total_latency_metric_count')[0]?.labels).toEqual({
        requested_model: 'm',
        metadata_project: 'apollo',
      });
      // a group without include_labels keeps every default label
      expect(Object.keys(select(x, 'litellm_deployment_state')[0]?.labels ?? {}).sort()).toEqual(
        ['api_base', 'api_provider', 'litellm_model_name', 'model_id'].sort(),
      );
    } finally {
      await e.close();
    }
  });

  it('prometheus_metrics_config of the wrong shape: a config error naming the key', async () => {
    await expect(
      startTestEngine({
        model_list,
        litellm_settings: { callbacks: ['prometheus'], prometheus_metrics_config: [{ group: 'g', metrics: 'all' }] },
      }),
    ).rejects.toThrow(/litellm_settings\.prometheus_metrics_config\[0\]\.metrics.*expected array/);
  });

  it('two engines in one process keep their own registries', async () => {
    const cfg = { model_list, litellm_settings: { callbacks: ['prometheus'] } };
    const [a, b] = await Promise.all([startTestEngine(cfg), startTestEngine(cfg)]);
    try {
      await post(`${a.url}/v1/chat/completions`, { model: 'm', messages: msgs });
      await sleep(50);
      const ea = parseExposition(await (await fetch(`${a.url}/metrics`)).text());
      const eb = parseExposition(await (await fetch(`${b.url}/metrics`)).text());
      expect(sum(ea, 'litellm_proxy_total_requests_metric_total')).toBe(1);
      expect(sum(eb, 'litellm_proxy_total_requests_metric_total')).toBe(0);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
