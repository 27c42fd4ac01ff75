/**
 * The Prometheus sink: LiteLLM's metric names, types, labels and latency buckets, fed only by settled
 * events (counters and histograms, updated in the settled bus's batch, off the response path) and by
 * the route table and RouterState read at scrape time (deployment state, remaining requests/tokens,
 * requests in flight). Each engine has its own prom-client Registry, so engines in one process never
 * share or collide. Imported lazily: an engine without `callbacks: ["prometheus"]` never loads it.
 */
import { type Aggregator, AggregatorRegistry, Gauge, type Registry as PromRegistry, Registry } from 'prom-client';
import { maskText } from '../../config/litellm/secrets.js';
import type { Deployment, ModelGroup } from '../deployment.js';
import type { ErrorClass } from '../errors.js';
import type { RouteTable } from '../router/table.js';
import type { RouterState, StateView } from '../state/router-state.js';
import type { JsonObject } from '../wire.js';
import type { PrometheusConfig } from './prometheus-config.js';
import { routeOf, type SettledAttemptDetail, type SettledEvent } from './settled.js';

type Labels = Record<string, string>;

// label sets as LiteLLM declares them (PrometheusMetricLabels); client_ip, user_agent and org labels are not kept
const KEY = ['hashed_api_key', 'api_key_alias', 'team', 'team_alias'];
const WHO = ['end_user', ...KEY, 'user'];
const DEPLOYMENT = ['requested_model', 'litellm_model_name', 'model_id', 'api_base', 'api_provider', ...KEY];
// overhead latency and remaining requests/tokens: a deployment and the key
const PER_DEPLOYMENT_KEY = [
  'model_group',
  'api_provider',
  'api_base',
  'litellm_model_name',
  'hashed_api_key',
  'api_key_alias',
  'model_id',
];
const L = {
  proxyTotal: [...WHO, 'requested_model', 'status_code', 'user_email', 'route', 'model_id'],
  proxyFailed: [...WHO, 'requested_model', 'user_email', 'exception_status', 'exception_class', 'route', 'model_id'],
  requests: [...WHO, 'model', 'user_email', 'model_id', 'api_provider'],
  tokens: [...WHO, 'model', 'user_email', 'requested_model', 'model_id'],
  totalLatency: [...WHO, 'requested_model', 'model', 'model_id'],
  apiLatency: [...WHO, 'model', 'requested_model', 'model_id'],
  overhead: PER_DEPLOYMENT_KEY,
  deployment: DEPLOYMENT,
  deploymentFailure: [...DEPLOYMENT, 'exception_status', 'exception_class'],
  state: ['litellm_model_name', 'model_id', 'api_base', 'api_provider'],
  cooled: ['litellm_model_name', 'model_id', 'api_base', 'api_provider', 'exception_status'],
  fallback: ['requested_model', 'fallback_model', ...KEY, 'exception_status', 'exception_class'],
  remaining: PER_DEPLOYMENT_KEY,
  cache: [...WHO, 'model'],
};

// the status and the LiteLLM exception class (OpenAI SDK names) of each error class
const STATUS_OF: Record<ErrorClass, number> = {
  bad_request: 400,
  context_window: 400,
  content_policy: 400,
  auth: 401,
  permission: 403,
  not_found: 404,
  too_large: 413,
  rate_limit: 429,
  upstream: 500,
  connection: 502,
  overloaded: 503,
  timeout: 408,
  internal: 500,
};
const CLASS_OF: Record<ErrorClass, string> = {
  bad_request: 'BadRequestError',
  context_window: 'ContextWindowExceededError',
  content_policy: 'ContentPolicyViolationError',
  auth: 'AuthenticationError',
  permission: 'PermissionDeniedError',
  not_found: 'NotFoundError',
  too_large: 'BadRequestError',
  rate_limit: 'RateLimitError',
  upstream: 'InternalServerError',
  connection: 'APIConnectionError',
  overloaded: 'ServiceUnavailableError',
  timeout: 'Timeout',
  internal: 'InternalServerError',
};

export interface PrometheusSinkOptions {
  config: PrometheusConfig;
  table: RouteTable;
  state: RouterState;
  /** HTTP requests in flight in the engine now (the scrape included, as LiteLLM counts) */
  inflight: () => number;
  /** secrets to mask out of api_base labels */
  secrets: readonly string[];
}

/** One engine's metrics: `observe` is its settled-event subscriber, `scrape` renders the text exposition. */
export class PrometheusSink {
  readonly registry = new Registry();
  readonly requireAuth: boolean;
  readonly cfg: PrometheusConfig;
  readonly extra: string[];
  private readonly m;
  /** deployment id -> whether its last call failed (litellm_deployment_state 1 until it answers again) */
  private readonly lastFailed = new Map<string, boolean>();
  /** deployment id -> the cooldown deadline last counted in litellm_deployment_cooled_down */
  private readonly cooledUntil = new Map<string, number>();
  private readonly byId = new Map<string, Deployment>();
  private readonly groupOf = new Map<Deployment, ModelGroup>();
  private readonly bases = new Map<Deployment, string>();
  // labelled children by label values: the success and failure series of requests, the series of calls
  private readonly okSeries = new Map<string, OkSeries>();
  private readonly failSeries = new Map<string, FailSeries>();
  private readonly callSeries = new Map<string, CallSeries>();
  /** the last successes' label values and series, newest first (recentOf) */
  private recent: RecentSuccess[] = [];

  /** whether background health checks took a deployment out of rotation (set when they run) */
  unhealthy?: (d: Deployment) => boolean;

  constructor(private readonly opts: PrometheusSinkOptions) {
    const cfg = opts.config;
    this.cfg = cfg;
    this.requireAuth = cfg.requireAuth;
    this.extra = [...cfg.metadataLabels.map((x) => x.label), ...cfg.tagLabels.map((x) => x.label)];
    this.setTable(opts.table);
    const registers = [this.registry];
    const x = this.extra;
    // prometheus_metrics_config: a metric no group lists is not made; a group's include_labels keep only those
    const on = (name: string) => cfg.enabled === undefined || cfg.enabled.has(name);
    const labelsOf = (name: string, labels: readonly string[]) => {
      const keep = cfg.includeLabels.get(name);
      return keep === undefined ? [...labels] : labels.filter((l) => keep.has(l));
    };
    // the families every request updates: plain accumulators per series (see FastCounter)
    const counter = (name: string, help: string, labels: string[], custom = true): CounterFamily =>
      on(name)
        ? new FastCounter(`${name}_total`, help, labelsOf(name, custom ? [...labels, ...x] : labels), this.registry)
        : NOOP;
    const histogram = (name: string, help: string, labels: string[]): HistogramFamily =>
      on(name) ? new FastHistogram(name, help, labelsOf(name, [...labels, ...x]), cfg.buckets, this.registry) : NOOP;
    // `aggregator`: how `--num_workers` adds up the workers' values (aggregate below)
    const gauge = (
      name: string,
      help: string,
      labels: readonly string[],
      collect: (set: GaugeSet) => unknown,
      aggregator: Aggregator = 'sum',
    ) => {
      if (!on(name)) return;
      const names = labelsOf(name, labels);
      new Gauge({
        name,
        help,
        labelNames: names,
        registers,
        aggregator,
        async collect() {
          this.reset();
          await collect((l, v) => this.set(pick(names, l), v));
        },
      });
    };
    this.m = {
      proxyTotal: counter(
        'litellm_proxy_total_requests_metric',
        'Total number of requests made to the proxy server - track number of client side requests',
        cfg.streamLabel ? [...L.proxyTotal, 'stream'] : L.proxyTotal,
      ),
      proxyFailed: counter(
        'litellm_proxy_failed_requests_metric',
        'Total number of failed responses from proxy - the client did not get a success response from litellm proxy',
        L.proxyFailed,
      ),
      requests: counter(
        'litellm_requests_metric',
        'deprecated - use litellm_proxy_total_requests_metric. Total number of LLM calls to litellm',
        L.requests,
      ),
      spend: counter('litellm_spend_metric', 'Total spend on LLM requests', L.requests),
      totalTokens: counter(
        'litellm_total_tokens_metric',
        'Total number of input + output tokens from LLM requests',
        L.tokens,
      ),
      inputTokens: counter('litellm_input_tokens_metric', 'Total number of input tokens from LLM requests', L.tokens),
      outputTokens: counter(
        'litellm_output_tokens_metric',
        'Total number of output tokens from LLM requests',
        L.tokens,
      ),
      totalLatency: histogram(
        'litellm_request_total_latency_metric',
        'Total latency (seconds) for a request to LiteLLM',
        L.totalLatency,
      ),
      apiLatency: histogram(
        'litellm_llm_api_latency_metric',
        'Total latency (seconds) for a models LLM API call',
        L.apiLatency,
      ),
      ttft: histogram(
        'litellm_llm_api_time_to_first_token_metric',
        'Time to first token for a models LLM API call',
        L.apiLatency,
      ),
      overhead: histogram(
        'litellm_overhead_latency_metric',
        'Latency overhead (seconds) added by LiteLLM processing',
        L.overhead,
      ),
      depSuccess: counter(
        'litellm_deployment_success_responses',
        'LLM Deployment Analytics - Total number of successful LLM API calls via litellm',
        L.deployment,
      ),
      depFailure: counter(
        'litellm_deployment_failure_responses',
        'LLM Deployment Analytics - Total number of failed LLM API calls for a specific LLM deployment',
        L.deploymentFailure,
      ),
      depTotal: counter(
        'litellm_deployment_total_requests',
        'LLM Deployment Analytics - Total number of LLM API calls via litellm - success + failure',
        L.deployment,
      ),
      cooled: counter(
        'litellm_deployment_cooled_down',
        'LLM Deployment Analytics - Number of times a deployment has been cooled down by LiteLLM load balancing logic',
        L.cooled,
      ),
      fallbackOk: counter(
        'litellm_deployment_successful_fallbacks',
        'LLM Deployment Analytics - Number of successful fallback requests from primary model -> fallback model',
        L.fallback,
      ),
      fallbackFailed: counter(
        'litellm_deployment_failed_fallbacks',
        'LLM Deployment Analytics - Number of failed fallback requests from primary model -> fallback model',
        L.fallback,
      ),
      cacheHits: counter('litellm_cache_hits_metric', 'Total number of LiteLLM cache hits', L.cache),
      cacheMisses: counter('litellm_cache_misses_metric', 'Total number of LiteLLM cache misses', L.cache),
      redisFails: counter(
        'litellm_redis_fails',
        'Number of failed calls to Redis (shared limits, routing state, change notices)',
        [],
        false,
      ),
      callbackFailures: counter(
        'litellm_callback_logging_failures_metric',
        'Total number of failures when emitting logs to callbacks (e.g. s3_v2, langfuse, etc)',
        ['callback_name'],
        false,
      ),
    };
    gauge(
      'litellm_deployment_state',
      'LLM Deployment Analytics - The state of the deployment: 0 = healthy, 1 = partial outage, 2 = complete outage',
      L.state,
      (set) =>
        this.eachDeployment((d, view, now) => {
          // cooling down or failing its background health checks (out of rotation): complete outage
          const out = view.of(d).cooldownUntil > now || this.unhealthy?.(d) === true;
          set(this.deploymentLabels(d), out ? 2 : this.lastFailed.get(d.id) ? 1 : 0);
        }),
      'max',
    );
    const remaining = (name: string, help: string, left: (d: Deployment, view: StateView) => number | undefined) =>
      gauge(
        name,
        help,
        L.remaining,
        (set) =>
          this.eachDeployment((d, view) => {
            const n = left(d, view);
            if (n === undefined) return;
            const labels = {
              ...this.deploymentLabels(d),
              model_group: d.modelName,
              hashed_api_key: '',
              api_key_alias: '',
            };
            set(labels, Math.max(0, n));
          }),
        // the workers share the usage window: each reports the same count, or less when it read earlier
        'min',
      );
    remaining(
      'litellm_remaining_requests_metric',
      'LLM Deployment Analytics - remaining requests for model (its rpm limit minus the requests this minute)',
      (d, v) => (d.rpm === undefined ? undefined : d.rpm - v.of(d).requests),
    );
    remaining(
      'litellm_remaining_tokens_metric',
      'remaining tokens for model (its tpm limit minus the tokens this minute)',
      (d, v) => (d.tpm === undefined ? undefined : d.tpm - v.of(d).tokens),
    );
    gauge('litellm_in_flight_requests', 'Number of HTTP requests currently in flight on this engine', [], (set) =>
      set({}, opts.inflight()),
    );
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition of every metric. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  /** A call to the shared Redis failed or passed its deadline (litellm_redis_fails). */
  redisFailure(n = 1): void {
    this.m.redisFails.inc({}, n);
  }

  /** The exposition of several workers' `registry.getMetricsAsJSON()`: counters summed, gauges by aggregator. */
  aggregate(workers: readonly unknown[]): Promise<string> {
    return AggregatorRegistry.aggregate(workers as object[]).metrics();
  }

  /** Count a failed delivery to a callback (a settled-event subscriber that threw, a sink that dropped events). */
  callbackFailure(name: string): void {
    this.m.callbackFailures.inc({ callback_name: name });
  }

  /** The settled-event subscriber: never throws (its own failures count as callback_name="prometheus"). */
  readonly observe = (e: SettledEvent): undefined => {
    try {
      this.record(e);
    } catch {
      this.callbackFailure('prometheus');
    }
    return undefined;
  };

  private record(e: SettledEvent): void {
    // LiteLLM records nothing for a request rejected as unauthenticated (no series per guessed key)
    if (e.httpStatus === 401) return;
    const l = new EventLabels(this, e);
    const details = e.attemptDetails ?? [];
    // requests that consulted the response cache: `model` is the model group
    if (e.cacheKey !== undefined)
      (e.cacheHit ? this.m.cacheHits : this.m.cacheMisses).inc({
        ...l.who(),
        model: e.modelGroup ?? e.requestedModel,
        ...l.extra(),
      });
    // a success with one call to its own deployment (or none: a cache hit): its series may be remembered
    const single = e.status === 'success' && this.extra.length === 0 ? singleCall(e, details) : undefined;
    let recent = single === undefined ? undefined : this.recentOf(e);
    if (e.status === 'success') {
      const s = recent?.ok ?? this.series(this.okSeries, l.key(e.requestedModel), () => this.okChildren(e, l));
      s.total.inc();
      s.requests.inc();
      s.spend.inc(e.responseCost ?? 0);
      s.totalTokens.inc(e.usage.total);
      s.inputTokens.inc(e.usage.prompt);
      s.outputTokens.inc(e.usage.completion);
      s.totalLatency.observe(e.durationMs / 1000);
      const last = details.length > 0 ? details[details.length - 1] : undefined;
      s.apiLatency.observe((last ? last.durationMs : e.upstreamMs) / 1000);
      const ttft = last ? last.timeToFirstTokenMs : e.timeToFirstTokenMs;
      if (e.stream && ttft !== undefined) s.ttft.observe(ttft / 1000);
      s.overhead.observe(Math.max(0, e.durationMs - e.upstreamMs) / 1000);
    } else {
      const status = e.httpStatus >= 400 ? e.httpStatus : e.errorClass ? STATUS_OF[e.errorClass] : e.httpStatus;
      const key = l.key(`${e.status}\u0001${e.requestedModel}\u0001${status}\u0001${e.errorClass}`);
      const s = this.series(this.failSeries, key, () => this.failChildren(e, l, status));
      s.total.inc();
      s.failed?.inc();
    }

    if (single !== undefined) {
      if (recent === undefined) {
        const ok = this.series(this.okSeries, l.key(e.requestedModel), () => this.okChildren(e, l));
        recent = this.remember(e, ok, single === null ? undefined : this.callSeriesOf(single, l, true, 0));
      }
      if (single !== null) this.countCall(single, recent.call!, true, 0, l);
      return;
    }

    // one series per upstream call: success / failure per deployment, cooldowns, fallbacks
    const calls: readonly SettledAttemptDetail[] =
      details.length > 0 || e.status !== 'success' || !e.deploymentId ? details : [impliedCall(e, e.deploymentId)];
    for (const a of calls) this.recordCall(a, l);
    if (calls.length > 1) this.recordFallbacks(calls, l.who(), l.extra());
  }

  /** The labelled children of one label combination, made once (prom-client hashes label objects per call). */
  private series<T>(cache: Map<string, T>, key: string, make: () => T): T {
    let s = cache.get(key);
    if (s === undefined) {
      if (cache.size >= MAX_SERIES_CACHE) cache.clear();
      cache.set(key, (s = make()));
    }
    return s;
  }

  private okChildren(e: SettledEvent, l: EventLabels): OkSeries {
    const m = this.m;
    const who = l.who();
    const extra = l.extra();
    const model = bareModel(e.litellmModel);
    const modelId = e.deploymentId ?? '';
    const requested = e.modelGroup ?? e.requestedModel;
    const userEmail = str(e.principal.metadata?.user_email);
    const route = routeOf(e);
    const perModel = { ...who, model, user_email: userEmail, model_id: modelId, ...extra };
    const tok = { ...perModel, requested_model: requested };
    const lat = { ...who, requested_model: requested, model, model_id: modelId, ...extra };
    return {
      total: m.proxyTotal.labels({
        ...who,
        requested_model: requested,
        status_code: '200',
        user_email: userEmail,
        route,
        model_id: modelId,
        ...this.stream(e),
        ...extra,
      }),
      requests: m.requests.labels({ ...perModel, api_provider: e.provider ?? '' }),
      spend: m.spend.labels({ ...perModel, api_provider: e.provider ?? '' }),
      totalTokens: m.totalTokens.labels(tok),
      inputTokens: m.inputTokens.labels(tok),
      outputTokens: m.outputTokens.labels(tok),
      totalLatency: m.totalLatency.labels(lat),
      apiLatency: m.apiLatency.labels(lat),
      ttft: m.ttft.labels(lat),
      overhead: m.overhead.labels({
        model_group: e.modelGroup ?? '',
        api_provider: e.provider ?? '',
        api_base: e.apiBase ?? '',
        litellm_model_name: model,
        hashed_api_key: who.hashed_api_key,
        api_key_alias: who.api_key_alias,
        model_id: modelId,
        ...extra,
      }),
    };
  }

  private failChildren(e: SettledEvent, l: EventLabels, status: number): FailSeries {
    const base = {
      ...l.who(),
      requested_model: e.requestedModel,
      user_email: str(e.principal.metadata?.user_email),
      route: routeOf(e),
      model_id: e.deploymentId ?? '',
      ...l.extra(),
    };
    return {
      total: this.m.proxyTotal.labels({ ...base, status_code: String(status), ...this.stream(e) }),
      failed:
        e.status === 'failure'
          ? this.m.proxyFailed.labels({
              ...base,
              exception_status: String(status),
              exception_class: exceptionClass(e.errorClass ?? 'internal', e.provider),
            })
          : undefined,
    };
  }

  private recordCall(a: SettledAttemptDetail, l: EventLabels): void {
    if (a.status === 'client_abort') return;
    const errorStatus = a.errorStatus ?? (a.errorClass ? STATUS_OF[a.errorClass] : 500);
    if (a.status === 'error' && errorStatus === 401) return; // as LiteLLM: auth failures are not recorded
    const ok = a.status === 'ok';
    this.countCall(a, this.callSeriesOf(a, l, ok, errorStatus), ok, errorStatus, l);
  }

  /** The per-deployment series of one upstream call. */
  private callSeriesOf(a: SettledAttemptDetail, l: EventLabels, ok: boolean, errorStatus: number): CallSeries {
    const key = l.key(`${a.deploymentId}\u0001${a.modelGroup}\u0001${ok ? '' : `${errorStatus}${a.errorClass}`}`);
    return this.series(this.callSeries, key, () => {
      const who = l.who();
      const labels: Labels = {
        requested_model: a.modelGroup,
        litellm_model_name: bareModel(a.litellmModel),
        model_id: a.deploymentId,
        api_base: a.apiBase ?? '',
        api_provider: a.provider ?? '',
        hashed_api_key: who.hashed_api_key,
        api_key_alias: who.api_key_alias,
        team: who.team,
        team_alias: who.team_alias,
        ...l.extra(),
      };
      const outcome = ok
        ? this.m.depSuccess.labels(labels)
        : this.m.depFailure.labels({
            ...labels,
            exception_status: String(errorStatus),
            exception_class: exceptionClass(a.errorClass ?? 'upstream', a.provider),
          });
      return { total: this.m.depTotal.labels(labels), outcome };
    });
  }

  private countCall(a: SettledAttemptDetail, s: CallSeries, ok: boolean, errorStatus: number, l: EventLabels): void {
    s.total.inc();
    s.outcome.inc();
    if (ok) {
      if (this.lastFailed.get(a.deploymentId)) this.lastFailed.set(a.deploymentId, false);
      return;
    }
    this.lastFailed.set(a.deploymentId, true);
    this.countCooldown(a, String(errorStatus), l.extra());
  }

  /**
   * The series of a recent success with the event's label values, compared value by value (building and hashing
   * the key string cost more than the rest of the sink); undefined when none of the last few matches.
   */
  private recentOf(e: SettledEvent): RecentSuccess | undefined {
    const p = e.principal;
    const endUser = this.cfg.endUser ? p.endUserId : undefined;
    for (const r of this.recent)
      if (
        r.requestedModel === e.requestedModel &&
        r.deploymentId === e.deploymentId &&
        r.modelGroup === e.modelGroup &&
        r.keyHash === p.keyHash &&
        r.principalMetadata === p.metadata &&
        r.keyAlias === p.keyAlias &&
        r.teamId === p.teamId &&
        r.userId === p.userId &&
        r.endUser === endUser &&
        r.litellmModel === e.litellmModel &&
        r.provider === e.provider &&
        r.apiBase === e.apiBase &&
        r.endpoint === e.endpoint &&
        r.passThrough === e.passThrough &&
        r.stream === e.stream
      )
        return r;
    return undefined;
  }

  private remember(e: SettledEvent, ok: OkSeries, call: CallSeries | undefined): RecentSuccess {
    const p = e.principal;
    const r: RecentSuccess = {
      requestedModel: e.requestedModel,
      deploymentId: e.deploymentId,
      modelGroup: e.modelGroup,
      keyHash: p.keyHash,
      principalMetadata: p.metadata,
      keyAlias: p.keyAlias,
      teamId: p.teamId,
      userId: p.userId,
      endUser: this.cfg.endUser ? p.endUserId : undefined,
      litellmModel: e.litellmModel,
      provider: e.provider,
      apiBase: e.apiBase,
      endpoint: e.endpoint,
      passThrough: e.passThrough,
      stream: e.stream,
      ok,
      call,
    };
    this.recent.unshift(r);
    if (this.recent.length > RECENT_SUCCESSES) this.recent.pop();
    return r;
  }

  /** A failed call that put its deployment into cooldown (a new deadline in the RouterState) counts once. */
  private countCooldown(a: SettledAttemptDetail, status: string, extra: Labels): void {
    const d = this.byId.get(a.deploymentId);
    const g = d && this.groupOf.get(d);
    if (!d || !g) return;
    const now = Date.now();
    const check = (view: StateView) => {
      const until = view.of(d).cooldownUntil;
      if (until <= now || this.cooledUntil.get(d.id) === until) return;
      this.cooledUntil.set(d.id, until);
      const { litellm_model_name, model_id, api_base, api_provider } = this.deploymentLabels(d);
      this.m.cooled.inc({ litellm_model_name, model_id, api_base, api_provider, exception_status: status, ...extra });
    };
    const v = this.opts.state.read(g, now);
    if (v instanceof Promise) v.then(check, () => this.callbackFailure('prometheus'));
    else check(v);
  }

  /**
   * LiteLLM counts each fallback group tried: successful when it answered, failed otherwise, labelled
   * with the group first asked and the error that sent the request away from it.
   */
  private recordFallbacks(calls: readonly SettledAttemptDetail[], who: Labels, extra: Labels): void {
    if (calls.length < 2) return;
    const first = calls[0].modelGroup;
    let i = 0;
    while (i < calls.length && calls[i].modelGroup === first) i++;
    if (i === calls.length) return;
    const cause = calls[i - 1];
    const key = {
      requested_model: first,
      hashed_api_key: who.hashed_api_key,
      api_key_alias: who.api_key_alias,
      team: who.team,
      team_alias: who.team_alias,
      exception_status: String(cause.errorStatus ?? (cause.errorClass ? STATUS_OF[cause.errorClass] : '')),
      exception_class: cause.errorClass ? exceptionClass(cause.errorClass, cause.provider) : '',
      ...extra,
    };
    while (i < calls.length) {
      const group = calls[i].modelGroup;
      let ok = false;
      for (; i < calls.length && calls[i].modelGroup === group; i++) if (calls[i].status === 'ok') ok = true;
      (ok ? this.m.fallbackOk : this.m.fallbackFailed).inc({ ...key, fallback_model: group });
    }
  }

  private stream(e: SettledEvent): Labels {
    return this.cfg.streamLabel ? { stream: e.stream ? 'True' : 'False' } : {};
  }

  /** custom_prometheus_metadata_labels and custom_prometheus_tags of one event */
  extraLabels(e: SettledEvent): Labels {
    if (this.extra.length === 0) return NO_LABELS;
    const out: Labels = {};
    for (const { label, path } of this.cfg.metadataLabels) out[label] = str(dig(e.metadata, path));
    for (const { label, match } of this.cfg.tagLabels) out[label] = e.tags.some(match) ? 'true' : 'false';
    return out;
  }

  /** The deployments to report (at start, and again when the model API replaces the route table). */
  setTable(table: RouteTable): void {
    this.groupOf.clear();
    this.byId.clear();
    this.bases.clear();
    for (const g of [...table.groups.values(), ...table.wildcards.map((w) => w.group)])
      for (const d of g.deployments) this.groupOf.set(d, g);
    for (const d of table.deployments) {
      if (!this.byId.has(d.id)) this.byId.set(d.id, d);
      this.bases.set(d, d.apiBase === undefined ? '' : maskText(d.apiBase, this.opts.secrets));
    }
  }

  private deploymentLabels(d: Deployment): Labels {
    return {
      litellm_model_name: bareModel(d.litellmModel),
      model_id: d.id,
      api_base: this.bases.get(d) ?? '',
      api_provider: d.provider ?? '',
    };
  }

  /** One RouterState read per group, then `fn` for each of its deployments. */
  private async eachDeployment(fn: (d: Deployment, view: StateView, now: number) => void): Promise<void> {
    const seen = new Set<ModelGroup>();
    for (const g of this.groupOf.values()) {
      if (seen.has(g)) continue;
      seen.add(g);
      const now = Date.now();
      const r = this.opts.state.read(g, now);
      const view = r instanceof Promise ? await r : r;
      for (const d of g.deployments) fn(d, view, now);
    }
  }
}

/** One labelled series of a fast family, made on its first update (as prom-client shows no series before). */
interface CounterSeries {
  labels: Labels;
  value: number;
}
interface HistogramSeries {
  labels: Labels;
  /** per bucket (not cumulative), the last one +Inf */
  counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A counter family registered in a prom-client Registry (which renders it with the others) whose
 * labelled children are plain numbers: prom-client hashes the label object on every update of a child,
 * ten times per request here; these hash a label set once, when its child is made.
 */
class FastCounter {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, CounterSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    registry: PromRegistry,
  ) {
    registry.registerMetric(this as never);
  }

  /** The child of one label set (labels not named by the family are ignored, missing ones are ''). */
  labels(labels: Labels): Inc {
    const key = seriesKey(this.labelNames, labels);
    let s: CounterSeries | undefined;
    return {
      inc: (v = 1) => {
        s ??= this.seriesOf(key, labels);
        s.value += v;
      },
    };
  }

  inc(labels: Labels, v = 1): void {
    this.seriesOf(seriesKey(this.labelNames, labels), labels).value += v;
  }

  private seriesOf(key: string, labels: Labels): CounterSeries {
    let s = this.series.get(key);
    if (s === undefined) this.series.set(key, (s = { labels: pick(this.labelNames, labels), value: 0 }));
    return s;
  }

  get() {
    const values = [...this.series.values()].map((s) => ({ labels: s.labels, value: s.value }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.series.clear();
  }
}

/** A histogram family like FastCounter: each child counts into its own buckets; cumulated at scrape time. */
class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, HistogramSeries>();
  private readonly bounds: readonly number[];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    buckets: readonly number[],
    registry: PromRegistry,
  ) {
    this.bounds = [...buckets].sort((a, b) => a - b);
    registry.registerMetric(this as never);
  }

  labels(labels: Labels): Obs {
    const key = seriesKey(this.labelNames, labels);
    let s: HistogramSeries | undefined;
    return {
      observe: (v) => {
        if (s === undefined) {
          s = this.series.get(key);
          if (s === undefined) {
            s = {
              labels: pick(this.labelNames, labels),
              counts: new Float64Array(this.bounds.length + 1),
              sum: 0,
              count: 0,
            };
            this.series.set(key, s);
          }
        }
        const b = this.bounds;
        let i = 0;
        while (i < b.length && v > b[i]!) i++;
        s.counts[i]!++;
        s.sum += v;
        s.count++;
      },
    };
  }

  get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const s of this.series.values()) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.counts[i]!;
        values.push({ labels: { ...s.labels, le: this.bounds[i]! }, value: acc, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.series.clear();
  }
}

/** A family as the sink uses it; NOOP stands for a metric prometheus_metrics_config leaves out. */
interface CounterFamily {
  labels(labels: Labels): Inc;
  inc(labels: Labels, v?: number): void;
}
interface HistogramFamily {
  labels(labels: Labels): Obs;
}
type GaugeSet = (labels: Labels, value: number) => void;
const NOOP_HANDLE = { inc() {}, observe() {} };
const NOOP = { labels: () => NOOP_HANDLE, inc() {} };

const seriesKey = (names: readonly string[], labels: Labels): string => {
  let k = '';
  for (const n of names) k += `${labels[n] ?? ''}\u0001`;
  return k;
};

const pick = (names: readonly string[], labels: Labels): Labels => {
  const out: Labels = {};
  for (const n of names) out[n] = labels[n] ?? '';
  return out;
};

const NO_LABELS: Labels = Object.freeze({}) as Labels;
// label combinations whose children are kept; past it the cache starts over (the series stay in the registry)
const MAX_SERIES_CACHE = 10_000;

type Inc = { inc(v?: number): void };
type CallSeries = { total: Inc; outcome: Inc };
/** What a success's series depend on (with no custom labels), and the series. */
interface RecentSuccess {
  requestedModel: string;
  deploymentId?: string;
  modelGroup?: string;
  keyHash?: string;
  principalMetadata?: unknown;
  keyAlias?: string;
  teamId?: string;
  userId?: string;
  endUser?: string;
  litellmModel?: string;
  provider?: string;
  apiBase?: string;
  endpoint: string;
  passThrough: string | undefined;
  stream: boolean;
  ok: OkSeries;
  call?: CallSeries;
}
// label combinations of successes remembered (a gateway's steady traffic is a few keys and models)
const RECENT_SUCCESSES = 8;

/** The call a success without recorded attempts implies: one, to the deployment that answered. */
function impliedCall(e: SettledEvent, deploymentId: string): SettledAttemptDetail {
  return {
    deploymentId,
    modelGroup: e.modelGroup ?? e.requestedModel,
    litellmModel: e.litellmModel ?? '',
    provider: e.provider,
    apiBase: e.apiBase,
    status: 'ok',
    durationMs: e.upstreamMs,
  };
}

/**
 * The one upstream call of a success that went straight to its own deployment (null: none was made, a cache
 * hit); undefined when it took retries or fallbacks (their series are found by key).
 */
function singleCall(
  e: SettledEvent,
  details: readonly SettledAttemptDetail[],
): SettledAttemptDetail | null | undefined {
  if (details.length === 0) return e.deploymentId ? impliedCall(e, e.deploymentId) : null;
  const a = details[0]!;
  const own =
    details.length === 1 &&
    a.status === 'ok' &&
    a.deploymentId === e.deploymentId &&
    a.modelGroup === e.modelGroup &&
    a.litellmModel === e.litellmModel &&
    a.provider === e.provider &&
    a.apiBase === e.apiBase;
  return own ? a : undefined;
}
type Obs = { observe(v: number): void };
interface OkSeries {
  total: Inc;
  requests: Inc;
  spend: Inc;
  totalTokens: Inc;
  inputTokens: Inc;
  outputTokens: Inc;
  totalLatency: Obs;
  apiLatency: Obs;
  ttft: Obs;
  overhead: Obs;
}
interface FailSeries {
  total: Inc;
  failed?: Inc;
}

/** The principal and custom labels of one event: a cache key from the values, label objects only when needed. */
class EventLabels {
  private base?: string;
  private whoLabels?: Labels;
  private extraValues?: Labels;

  constructor(
    private readonly sink: PrometheusSink,
    private readonly e: SettledEvent,
  ) {}

  /** a cache key: the event's label values plus `more` */
  key(more: string): string {
    if (this.base === undefined) {
      const e = this.e;
      const p = e.principal;
      let k =
        `${p.keyHash}\u0001${p.keyAlias}\u0001${p.teamId}\u0001${str(p.metadata?.team_alias)}\u0001${p.userId}` +
        `\u0001${str(p.metadata?.user_email)}\u0001${this.sink.cfg.endUser ? p.endUserId : ''}\u0001${e.modelGroup}` +
        `\u0001${e.deploymentId}\u0001${e.litellmModel}\u0001${e.provider}\u0001${e.apiBase}\u0001${e.endpoint}` +
        `\u0001${e.stream}\u0001${e.passThrough}`;
      if (this.sink.extra.length > 0) for (const v of Object.values(this.extra())) k += `\u0001${v}`;
      this.base = k;
    }
    return `${this.base}\u0002${more}`;
  }

  who(): Labels {
    if (this.whoLabels) return this.whoLabels;
    const p = this.e.principal;
    this.whoLabels = {
      end_user: this.sink.cfg.endUser ? (p.endUserId ?? '') : '',
      hashed_api_key: p.keyHash ?? '',
      api_key_alias: p.keyAlias ?? '',
      team: p.teamId ?? '',
      team_alias: str(p.metadata?.team_alias),
      user: p.userId ?? '',
    };
    return this.whoLabels;
  }

  extra(): Labels {
    this.extraValues ??= this.sink.extraLabels(this.e);
    return this.extraValues;
  }
}

const str = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';

function dig(o: JsonObject | undefined, path: readonly string[]): unknown {
  let v: unknown = o;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as JsonObject)[k];
  }
  return v;
}

// `openai/gpt-4o` -> `gpt-4o`: LiteLLM's `model` / `litellm_model_name` labels carry the model without its provider
const bare = new Map<string, string>();
function bareModel(m: string | undefined): string {
  if (!m) return '';
  let b = bare.get(m);
  if (b === undefined) {
    const i = m.indexOf('/');
    b = i === -1 ? m : m.slice(i + 1);
    if (bare.size < 10_000) bare.set(m, b);
  }
  return b;
}

/** LiteLLM's `exception_class`: `Openai.RateLimitError` (provider capitalised), or the bare class without one. */
function exceptionClass(c: ErrorClass, provider: string | undefined): string {
  const name = CLASS_OF[c];
  return provider ? `${provider[0].toUpperCase()}${provider.slice(1)}.${name}` : name;
}
