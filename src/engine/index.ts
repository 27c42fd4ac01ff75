import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { LoadedConfig } from '../config/litellm/load.js';
import { isSecretEnvName, urlPassword } from '../config/litellm/secrets.js';
import { VERSION } from '../version.js';
import { MasterKeyAuth } from './auth/master-key.js';
import type { Authenticator } from './auth/principal.js';
import { ResponseCache } from './cache/cache.js';
import { cacheSettings } from './cache/config.js';
import { LocalCache, RedisCache } from './cache/stores.js';
import { LOCAL_KEY_ENV } from './child-contract.js';
import type { ClusterLink } from './cluster/worker-link.js';
import type { ClientLimits, EngineContext } from './context.js';
import { loadPrices } from './cost/prices.js';
import { BackgroundHealth, DEFAULT_HEALTH_CHECK_INTERVAL_S } from './endpoints/background-health.js';
import { staticBodies } from './endpoints/models.js';
import { GatewayError } from './errors.js';
import type { GovernanceDbOptions } from './governance/db/open.js';
import type { Governance } from './governance/governance.js';
import type { RateLimiter } from './governance/limits/limiter.js';
import { BodyBytes } from './http/body.js';
import { LiveSet } from './live-set.js';
import { ModelRegistry } from './models/registry.js';
import type { ModelStore } from './models/store.js';
import { alertingConfig } from './observability/alerts/config.js';
import type { AlertSink } from './observability/alerts/sink.js';
import type { LangfuseSink } from './observability/langfuse.js';
import { langfuseConfig } from './observability/langfuse-config.js';
import { createLogger, type EngineLogger } from './observability/logger.js';
import type { OtelSink } from './observability/otel.js';
import { otelConfig, publicUrl } from './observability/otel-config.js';
import type { PrometheusSink } from './observability/prometheus.js';
import { prometheusConfig } from './observability/prometheus-config.js';
import { SettledBus, type SettledSubscriber } from './observability/settled.js';
import { buildPassThrough } from './passthrough/routes.js';
import { redisSettings } from './redis/settings.js';
import type { SharedRedis } from './redis/shared.js';
import { ConfigReloader, type ReloadReport } from './reload.js';
import { warmEncoders } from './router/pre-call.js';
import { buildRouteTable, type RouteTable } from './router/table.js';
import { createServer } from './server.js';
import { MemoryRouterState } from './state/memory.js';
import type { RouterState } from './state/router-state.js';
import { Dashboard } from './ui/serve.js';
import { UpstreamClient } from './upstream/client.js';

export type { Authenticator, Principal } from './auth/principal.js';
export { GatewayError } from './errors.js';
export { type ConfigInspection, type InspectedDeployment, inspectConfig, type UnservedEntry } from './inspect.js';
export type { EngineLogger } from './observability/logger.js';
export { createLogger } from './observability/logger.js';
export type { SettledEvent, SettledSubscriber } from './observability/settled.js';
export type { ReloadReport } from './reload.js';

export interface StartEngineOptions {
  loaded: LoadedConfig;
  /** default 127.0.0.1 */
  host?: string;
  /** default 4000; 0 binds a free port */
  port?: number;
  logger?: EngineLogger;
  /** how long close() waits for in-flight requests and streams (default 30 s) */
  drainTimeoutMs?: number;
  /** the environment for provider defaults and LITELLM_MASTER_KEY (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** per-request debug logs (default: the logger's debug level) */
  debug?: boolean;
  /** usage windows, cooldowns, latency, in flight (default: in this process; a shared store spans engines) */
  state?: RouterState;
  /** the counters behind key/user/team/end-user rate limits (default: in this process) */
  limiter?: RateLimiter;
  /**
   * this engine is a worker of `proxy start --num_workers N` (cluster/): /metrics and /kubiya/usage gather every
   * worker's through the primary, /health names the worker, change notices reach the other workers
   */
  cluster?: ClusterLink;
  /** who may call (default: the master key from the config or LITELLM_MASTER_KEY; none: anonymous) */
  authenticator?: Authenticator;
  /** told once per inference request when it settled (see `EngineHandle.onSettled`) */
  subscribers?: SettledSubscriber[];
  /**
   * Virtual keys, budgets and spend, on when a master key is set. Default: the store named by DATABASE_URL /
   * general_settings.database_url (Postgres) or KUBIYA_DB_PATH / ~/.kubiya/proxy/governance.db (SQLite).
   * An object names the store; false turns governance off (the master key alone authenticates).
   */
  governance?: false | GovernanceDbOptions;
  /** epoch ms clock for budgets, expiry and resets (tests cross windows with it); default Date.now */
  now?: () => number;
  /**
   * reads the config again, for a reload (`EngineHandle.reload`, `POST /kubiya/reload`); none: the engine
   * cannot reload (`proxy start` passes its --config file)
   */
  reloadConfig?: () => LoadedConfig;
}

export interface EngineHandle {
  port: number;
  host: string;
  url: string;
  /** the route table served now (the model API replaces it) */
  readonly table: RouteTable;
  /**
   * Subscribe to settled events (one per inference request, delivered off the response path);
   * returns the unsubscribe
   */
  onSettled(fn: SettledSubscriber): () => void;
  /** stop accepting, drain in-flight requests up to the drain timeout, then close everything */
  close(): Promise<void>;
  /** read the config again and serve its models (see reload.ts); rejects with the reason, the old one kept */
  reload(): Promise<ReloadReport>;
  /** the governance runtime (with a master key and a store); tests listen to its change notices */
  governance?: Governance;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

// alert webhook URLs (SLACK_WEBHOOK_URL, WEBHOOK_URL): the whole URL is the credential; key-like names
// (OPENAI_API_KEY, AWS_SECRET_ACCESS_KEY, HF_TOKEN, ...) are secrets.ts isSecretEnvName
const WEBHOOK_ENV_NAME = /WEBHOOK_URL$/i;

/**
 * The master key (config, else LITELLM_MASTER_KEY) and every secret to keep out of output: the
 * config's, the master key, and the values of key-like environment variables (provider defaults).
 */
export function engineSecrets(
  loaded: LoadedConfig,
  env: NodeJS.ProcessEnv = process.env,
): { masterKey?: string; secretValues: string[] } {
  const masterKey = loaded.config.general_settings.master_key || env.LITELLM_MASTER_KEY || undefined;
  const all = new Set(loaded.secretValues);
  if (masterKey) all.add(masterKey);
  // the config's environment_variables too: a SLACK_WEBHOOK_URL set there is as secret as one in the environment
  for (const [name, value] of Object.entries({ ...env, ...loaded.environment })) {
    if (!value || value.length < 8) continue;
    // an alert webhook's whole URL is its credential (Slack's carries the token in its path)
    if (WEBHOOK_ENV_NAME.test(name)) all.add(value);
    // a variable named like a key (its value is what an adapter may send), except an address in one: only the
    // password a URL carries is secret
    else if (!isSecretEnvName(name)) continue;
    else if (!/^https?:\/\//i.test(value)) all.add(value);
    else {
      const pw = urlPassword(value);
      if (pw) all.add(pw);
    }
  }
  return { masterKey, secretValues: [...all] };
}

/**
 * Connections at once (general_settings.max_client_connections; default: half the process's open-file limit,
 * at most 16384, so upstream sockets and files always have room), and the arrival deadlines of a request's
 * headers (client_header_timeout, default 30 s) and of the whole request (client_body_timeout, default 120 s).
 */
function clientLimits(gs: LoadedConfig['config']['general_settings']): ClientLimits {
  return {
    maxConnections: gs.max_client_connections ?? defaultConnectionCap(),
    headerTimeoutMs: (gs.client_header_timeout ?? 30) * 1000,
    bodyTimeoutMs: (gs.client_body_timeout ?? 120) * 1000,
  };
}

/** Half the soft open-file limit (Linux: /proc/self/limits), 64..16384; 4096 where it cannot be read. */
function defaultConnectionCap(): number {
  try {
    const m = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m) return Math.min(16384, Math.max(64, Math.floor(Number(m[1]) / 2)));
  } catch {
    // not Linux: the default below
  }
  return 4096;
}

/** SERVER_ROOT_PATH as a prefix to strip (`/proxy/` -> `/proxy`); undefined for none or `/`. */
function rootPathOf(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const p = `/${v.replace(/^\/+|\/+$/g, '')}`;
  return p === '/' ? undefined : p;
}

/** Start the proxy engine in this process. Rejects with an `EADDRINUSE` error when the port is taken. */
export async function startEngine(opts: StartEngineOptions): Promise<EngineHandle> {
  const { loaded } = opts;
  const cfg = loaded.config;
  const env = opts.env ?? process.env;
  const ls = cfg.litellm_settings;
  const { masterKey, secretValues } = engineSecrets(loaded, env);
  const logger =
    opts.logger ??
    createLogger({ json: ls.json_logs === true, level: ls.set_verbose ? 'debug' : 'info', secrets: secretValues });
  const host = opts.host ?? '127.0.0.1';
  // the model price map (bundled, or LITELLM_MODEL_COST_MAP_URL's): each deployment's price is set at table build
  const prices = await loadPrices({ env, warn: (msg, fields) => logger.warn(fields, msg) });
  const table = await buildRouteTable(loaded, env, prices);
  const client = new UpstreamClient();
  let metrics: PrometheusSink | undefined;
  const settled = new SettledBus(
    (err) => {
      logger.warn({ error: err instanceof Error ? err.message : String(err) }, 'settled-event subscriber failed');
    },
    (fn) => metrics?.callbackFailure(fn.name || 'custom_callback'),
  );
  for (const fn of opts.subscribers ?? []) settled.subscribe(fn);
  // the shared Redis, when the config or the environment names one: connected (or found down) before serving;
  // ioredis is loaded only then
  const rset = redisSettings(cfg, env);
  let redis: SharedRedis | undefined;
  let state = opts.state;
  let limiter = opts.limiter;
  // the shared router state made here has a refresh timer to stop at close (a caller's state is the caller's)
  let ownState: { close(): void } | undefined;
  if (rset) {
    const [{ SharedRedis }, { RedisRouterState }, { RedisRateLimiter }] = await Promise.all([
      import('./redis/shared.js'),
      import('./redis/router-state.js'),
      import('./redis/limiter.js'),
    ]);
    redis = new SharedRedis(rset, { logger, env });
    await redis.start();
    // usage windows and cooldowns, and key/user/team limits, shared by every engine on this Redis (unless the
    // caller brought its own: a supervisor's limiter spanning its workers, a test's state)
    if (!state) state = ownState = new RedisRouterState(redis, table);
    limiter ??= new RedisRateLimiter(redis);
  }
  // the response cache (`litellm_settings.cache: true`): in this process, or in the shared Redis
  const cset = cacheSettings(cfg, (msg) => logger.warn({ path: 'litellm_settings.cache_params' }, msg));
  let cache: ResponseCache | undefined;
  if (cset) {
    const store =
      cset.type === 'redis' && redis
        ? new RedisCache(redis, cset.namespace)
        : new LocalCache(cset.maxEntries, cset.maxItemBytes, opts.now);
    cache = new ResponseCache(cset, store, opts.now);
    const where = cset.type === 'redis' && redis ? { redis: redis.where, namespace: cset.namespace } : {};
    logger.info(
      { type: cset.type, mode: cset.mode, ttl_s: cset.ttlS, scope: cset.scope, ...where },
      'response cache on',
    );
  }
  // virtual keys, budgets and spend: only with a master key (as LiteLLM), in the store the config names
  let governance: Governance | undefined;
  // loaded only here: an engine without a master key never pays for the store's drivers
  const gov = masterKey && opts.governance !== false ? await import('./governance/runtime.js') : undefined;
  if (gov && masterKey) {
    governance = await gov.startGovernance({
      loaded,
      env,
      masterKeyHash: createHash('sha256').update(masterKey).digest('hex'),
      logger,
      table,
      prices,
      db: opts.governance || undefined,
      now: opts.now,
    });
  }
  // a management change on this engine reaches every engine sharing the store and the Redis at once
  const stopSharing = governance && redis && (await import('./redis/changes.js')).shareChanges(governance, redis);
  // prompts and answers reach no sink with turn_off_message_logging; the config's metadata reaches all
  settled.messageLogging = ls.turn_off_message_logging !== true;
  settled.metadata = ls.metadata;
  const ctx: EngineContext = {
    table,
    client,
    state: state ?? new MemoryRouterState(),
    redis,
    cache,
    cluster: opts.cluster,
    auth:
      opts.authenticator ??
      (gov && governance && masterKey
        ? gov.virtualKeyAuth(governance, masterKey)
        : new MasterKeyAuth(masterKey, { extraKeys: env[LOCAL_KEY_ENV] ? [env[LOCAL_KEY_ENV]] : [] })),
    governance,
    // model access, budgets (reserving), rate limits: before routing, for virtual keys and end users
    admission: gov && governance && gov.createAdmission(governance, limiter),
    passthrough: buildPassThrough(cfg.general_settings.pass_through_endpoints, { ...env, ...loaded.environment }),
    management: gov && { find: gov.findManagementRoute, handle: gov.handleManagement, routes: gov.MANAGEMENT_ROUTES },
    settled,
    logger,
    prices,
    debug: opts.debug ?? logger.isLevelEnabled?.('debug') ?? false,
    maxRequestBytes: (cfg.general_settings.max_request_size_mb ?? 32) * 1024 * 1024,
    clientLimits: clientLimits(cfg.general_settings),
    bodyBytes: new BodyBytes((cfg.general_settings.max_inflight_request_mb ?? 512) * 1024 * 1024),
    secretValues,
    staticBodies: staticBodies(table, secretValues),
    ui: /^(true|1|yes)$/i.test(env.DISABLE_ADMIN_UI ?? '') ? undefined : new Dashboard({ masterKey, env }),
    rootPath: rootPathOf(env.SERVER_ROOT_PATH),
    draining: false,
    inflight: 0,
    settling: 0,
    open: new LiveSet(),
  };
  const prom = prometheusConfig(cfg);
  if (prom) {
    // prom-client is loaded only when the config asks for it
    const { PrometheusSink } = await import('./observability/prometheus.js');
    ctx.metrics = metrics = new PrometheusSink({
      config: prom,
      table,
      state: ctx.state,
      inflight: () => ctx.inflight,
      secrets: secretValues,
    });
    settled.subscribe(metrics.observe);
    if (redis) {
      // failures before this point (start-up) count too
      if (redis.failures > 0) metrics.redisFailure(redis.failures);
      redis.onFailure(() => metrics?.redisFailure());
    }
    const registry = metrics.registry;
    ctx.cluster?.provide('metrics', () => registry.getMetricsAsJSON());
  }
  // Langfuse (`success_callback` / `failure_callback` / `callbacks: ["langfuse"]`): keys from the environment,
  // the config's environment_variables included; loaded only when enabled
  const lf = langfuseConfig(cfg, { ...env, ...loaded.environment }, (msg) => logger.warn({}, msg));
  let langfuse: LangfuseSink | undefined;
  if (lf) {
    const { LangfuseSink } = await import('./observability/langfuse.js');
    langfuse = new LangfuseSink({
      config: lf,
      warn: (fields, msg) => logger.warn(fields, msg),
      onDrop: (n) => {
        for (let i = 0; i < n; i++) metrics?.callbackFailure('langfuse');
      },
    });
    settled.subscribe(langfuse.observe);
    if (lf.content) settled.content = true;
    logger.info({ host: lf.host, message_logging: lf.content }, 'langfuse callback on');
  }
  // OpenTelemetry (`callbacks: ["otel"]`): OTEL_EXPORTER_OTLP_* from the environment or environment_variables;
  // the SDK is loaded only when enabled, with a tracer provider of the engine's own (not the global one)
  const oc = otelConfig(cfg, { ...env, ...loaded.environment }, (msg) => logger.warn({}, msg));
  let otel: OtelSink | undefined;
  if (oc) {
    const { OtelSink, otlpExporter } = await import('./observability/otel.js');
    otel = new OtelSink(
      {
        config: oc,
        warn: (fields, msg) => logger.warn(fields, msg),
        onDrop: (n) => {
          for (let i = 0; i < n; i++) metrics?.callbackFailure('otel');
        },
        scheduledDelayMs: Number(env.OTEL_BSP_SCHEDULE_DELAY) > 0 ? Number(env.OTEL_BSP_SCHEDULE_DELAY) : undefined,
      },
      await otlpExporter(oc),
    );
    settled.subscribe(otel.observe);
    settled.trace = true;
    // the endpoint without credentials or query; the headers' values are never logged
    const headers = Object.keys(oc.headers).join(',') || undefined;
    logger.info(
      { endpoint: publicUrl(oc.url), protocol: oc.protocol, service: oc.serviceName, headers },
      'otel callback on',
    );
  }
  // alerts (`general_settings.alerting: ["slack", "webhook"]`): URLs from the environment or environment_variables;
  // loaded only when on. Budgets and new keys are heard through governance's hooks, deployments through the bus
  const ac = alertingConfig(cfg, { ...env, ...loaded.environment }, (msg) => logger.warn({}, msg));
  let alerts: AlertSink | undefined;
  if (ac) {
    const { AlertSink } = await import('./observability/alerts/sink.js');
    alerts = new AlertSink({ config: ac, table, state: ctx.state, warn: (f, m) => logger.warn(f, m), now: opts.now });
    settled.subscribe(alerts.observe);
    if (governance) {
      alerts.governance = governance;
      governance.alerts = alerts;
    }
    logger.info({ slack: ac.slack !== undefined, webhook: ac.webhook !== undefined }, 'alerting on');
  }
  if (governance) {
    const writer = gov?.startSpendWriter(governance);
    if (writer) settled.subscribe(writer);
    // the rows keep prompts and answers only with store_prompts_in_spend_logs (and message logging on)
    if (governance.settings.storePrompts) settled.content = true;
  }
  // the model API (/model/new, /model/update, /model/delete): with store_model_in_db and a store, its models
  // persist there (and reach every engine sharing it); otherwise they live in memory until restart
  const gs = cfg.general_settings as Record<string, unknown>;
  const storeModels = gs.store_model_in_db === true || /^(true|1|yes)$/i.test(env.STORE_MODEL_IN_DB ?? '');
  let modelStore: ModelStore | undefined;
  if (storeModels && governance) {
    const { ModelStore } = await import('./models/store.js');
    modelStore = new ModelStore(governance.store);
  }
  const models = new ModelRegistry({
    ctx,
    loaded,
    env,
    prices,
    logger,
    store: modelStore,
    saltKey: env.LITELLM_SALT_KEY || undefined,
    memoryReason: !storeModels
      ? 'general_settings.store_model_in_db is not true'
      : 'no database: store_model_in_db needs a master key, which opens the store',
    onSwap: [
      (t) => {
        if (governance) governance.table = t;
        metrics?.setTable(t);
        alerts?.setTable(t);
        ctx.health?.tableChanged(t);
      },
    ],
  });
  ctx.models = models;
  await models.start();
  const reloader = opts.reloadConfig && new ConfigReloader(ctx, models, loaded, opts.reloadConfig);
  if (reloader && !opts.cluster) ctx.reload = () => reloader.reload();
  // background health checks: /health from their last results, failing deployments out of rotation
  if (gs.background_health_checks === true) {
    const s =
      typeof gs.health_check_interval === 'number' && gs.health_check_interval > 0 ? gs.health_check_interval : 0;
    ctx.health = new BackgroundHealth(ctx, (s || DEFAULT_HEALTH_CHECK_INTERVAL_S) * 1000);
    if (metrics) metrics.unhealthy = (d) => d.down === true;
  }
  // enable_pre_call_checks counts prompt tokens with the deployments' BPE tokenizers: built now, not mid-traffic
  if (table.settings.preCallChecks) await warmEncoders(table.deployments.map((d) => d.encoding));
  const server = createServer(ctx, env.KUBIYA_USAGE_TOKEN, env[LOCAL_KEY_ENV]);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: opts.port ?? 4000 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  for (const w of [...loaded.warnings, ...table.warnings]) logger.warn({ path: w.path }, w.message);
  for (const g of [...table.groups.values(), ...table.wildcards.map((w) => w.group)]) {
    const d = g.deployments;
    logger.info(
      {
        model_name: g.name,
        deployments: d.length,
        models: [...new Set(d.map((x) => x.litellmModel))].join(','),
        api_base: [
          ...new Set(d.map((x) => (x.mockResponse !== undefined ? 'mock_response' : x.apiBase)).filter(Boolean)),
        ].join(','),
      },
      'serving model',
    );
  }
  for (const [alias, a] of table.aliases) logger.info({ alias, model_name: a.target }, 'serving alias');
  if (table.deployments.length === 0) logger.warn({}, 'no model can be served: every request will get a 400');
  if (!ctx.auth.enabled && !LOOPBACK.test(host)) {
    logger.warn(
      { host },
      'listening on a non-loopback address without a master key: ' +
        'anyone who can reach it can use your provider keys ' +
        '(set general_settings.master_key or LITELLM_MASTER_KEY)',
    );
  }
  logger.info({ url, version: VERSION, auth: ctx.auth.enabled ? ctx.auth.name : 'none' }, 'proxy engine listening');

  ctx.health?.start();
  if (ctx.health) logger.info({ interval_s: ctx.health.intervalS }, 'background health checks on');

  const drainTimeoutMs = opts.drainTimeoutMs ?? 30_000;
  let closing: Promise<void> | undefined;
  const close = () => {
    // no poll or health check starts once closing began (one running ends on its own, its answer dropped)
    models.close();
    ctx.health?.close();
    return (closing ??= drain(ctx, server, drainTimeoutMs).then(() =>
      // alerts drain before the store closes (a budget alert reads names from it)
      Promise.all([langfuse?.close(), otel?.close(), Promise.resolve(alerts?.close()).then(() => governance?.close())])
        .then(async () => {
          await stopSharing?.();
          ownState?.close();
        })
        .then(() => redis?.close()),
    ));
  };
  return {
    port,
    host,
    url,
    get table() {
      return ctx.table;
    },
    onSettled: (fn) => settled.subscribe(fn),
    close,
    reload: () =>
      reloader ? reloader.reload() : Promise.reject(new Error('this engine was started without a config to reload')),
    governance,
  };
}

/** Stop accepting, let in-flight requests and streams finish up to the deadline, then cut what is left. */
async function drain(ctx: EngineContext, server: import('node:http').Server, timeoutMs: number): Promise<void> {
  ctx.draining = true;
  ctx.ui?.close();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const deadline = Date.now() + timeoutMs;
  while (ctx.inflight > 0 && Date.now() < deadline) {
    server.closeIdleConnections();
    await new Promise((r) => setTimeout(r, 25));
  }
  const cut = ctx.inflight > 0;
  if (cut) {
    ctx.logger.warn({ inflight: ctx.inflight }, 'drain deadline passed: closing the remaining connections');
    // an open request is answered in its API's words (a stream: an error event, then [DONE]; one not answered
    // yet: a 503) rather than cut, which a client cannot tell from a network fault; the connections close once
    // that is flushed (at most a second)
    const err = new GatewayError(503, {
      message: `The proxy is shutting down: this request was still open at the end of its ${timeoutMs / 1000} s drain.`,
      errorClass: 'overloaded',
    });
    const flushed = ctx.open.values().map((w) => w.cutAtDeadline(err));
    if (flushed.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(flushed), new Promise((r) => (timer = setTimeout(r, 1000)))]);
      clearTimeout(timer);
    }
  }
  server.closeAllConnections();
  await Promise.all([closed, ctx.client.close(cut)]);
  // requests cut above settle once their handlers see it; then deliver every queued event
  const settleBy = Date.now() + 1000;
  while (ctx.settling > 0 && Date.now() < settleBy) await new Promise((r) => setTimeout(r, 10));
  ctx.settled.flush();
}
