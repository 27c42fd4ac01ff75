import type { Authenticator } from './auth/principal.js';
import type { ResponseCache } from './cache/cache.js';
import type { ClusterLink } from './cluster/worker-link.js';
import type { PriceMap } from './cost/prices.js';
import type { BackgroundHealth } from './endpoints/background-health.js';
import type { ModelBodies } from './endpoints/models.js';
import type { GatewayError } from './errors.js';
import type { Governance } from './governance/governance.js';
import type { Admission } from './governance/types.js';
import type { BodyBytes } from './http/body.js';
import type { LiveSet, LiveSlot } from './live-set.js';
import type { ModelRegistry } from './models/registry.js';
import type { EngineLogger } from './observability/logger.js';
import type { PrometheusSink } from './observability/prometheus.js';
import type { SettledBus } from './observability/settled.js';
import type { PassThrough } from './passthrough/routes.js';
import type { SharedRedis } from './redis/shared.js';
import type { RouteTable } from './router/table.js';
import type { RouterState } from './state/router-state.js';
import type { Dashboard } from './ui/serve.js';
import type { UpstreamClient } from './upstream/client.js';

/** The management API's router and handler (governance/api/index.ts), present with governance only. */
export interface Management {
  find: typeof import('./governance/api/index.js').findManagementRoute;
  handle: typeof import('./governance/api/index.js').handleManagement;
  /** every management route, for GET /routes */
  routes: readonly { method: string; path: string }[];
}

/** What clients may hold: connections at once, and how long their headers and whole request may take to arrive. */
export interface ClientLimits {
  maxConnections: number;
  headerTimeoutMs: number;
  bodyTimeoutMs: number;
}

/** Everything a request handler needs, built once at start-up. */
export interface EngineContext {
  /**
   * the models served: replaced as a whole when the model API changes them (models/registry.ts); a request
   * reads it once and keeps that table
   */
  table: RouteTable;
  /** reads the config file again and serves it (POST /kubiya/reload; see reload.ts); none: no reload here */
  reload?: () => Promise<import('./reload.js').ReloadReport>;
  /** the model API's runtime models (/model/new, /model/update, /model/delete) */
  models?: ModelRegistry;
  /** background health checks (general_settings.background_health_checks): /health is served from them */
  health?: BackgroundHealth;
  client: UpstreamClient;
  state: RouterState;
  /** the shared Redis (router_settings.redis_*, cache_params, REDIS_*): limits, routing state, cache, notices */
  redis?: SharedRedis;
  /** the admin dashboard at /ui (off with DISABLE_ADMIN_UI=True) */
  ui?: Dashboard;
  /** SERVER_ROOT_PATH: a prefix every route may carry (a reverse proxy that does not strip it) */
  rootPath?: string;
  /** this engine is one worker of `proxy start --num_workers N`: /metrics and /kubiya/usage cover all of them */
  cluster?: ClusterLink;
  auth: Authenticator;
  /** the response cache (`litellm_settings.cache: true`); undefined: none, and nothing is hashed per request */
  cache?: ResponseCache;
  /** virtual keys, budgets, spend (on when a master key is set); undefined: master key or anonymous only */
  governance?: Governance;
  /** per-request checks of virtual keys (model access, budgets, limits), run before routing */
  admission?: Admission;
  /** the pass-through routes (/anthropic/*, /openai/*, ..., general_settings.pass_through_endpoints) */
  passthrough?: PassThrough;
  /** the management API (/key/*, /team/*, /spend/*, ...), loaded with governance */
  management?: Management;
  /** settled events of the inference requests (built only while someone subscribes) */
  settled: SettledBus;
  /** the Prometheus sink behind GET /metrics (`callbacks: ["prometheus"]`); undefined: /metrics is a 404 */
  metrics?: PrometheusSink;
  logger: EngineLogger;
  /** the model price map (POST /spend/calculate; deployments carry their own price) */
  prices: PriceMap;
  /** per-request logs (off unless --detailed-debug / set_verbose) */
  debug: boolean;
  maxRequestBytes: number;
  /** connection cap and arrival deadlines for clients (general_settings; see docs/engine.md) */
  clientLimits: ClientLimits;
  /** request-body bytes held at once (general_settings.max_inflight_request_mb) */
  bodyBytes: BodyBytes;
  /** resolved secrets, masked out of anything sent back or logged */
  secretValues: string[];
  /** precomputed bodies for the model endpoints (replaced with the table) */
  staticBodies: ModelBodies;
  /** true once SIGTERM / close() started draining */
  draining: boolean;
  inflight: number;
  /** inference requests whose settled event is not emitted yet (close() waits for them) */
  settling: number;
  /** inference requests not settled yet: the drain deadline answers each with an error rather than cutting it */
  open: LiveSet<DeadlineCut>;
}

/** A request the drain deadline can end in its API's words. */
export interface DeadlineCut extends LiveSlot {
  /** answer with `err` (or end the stream with its event), stop the upstream call; resolves once flushed */
  cutAtDeadline(err: GatewayError): Promise<void>;
}
