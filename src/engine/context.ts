import type { Authenticator } from './auth/principal.js';
import type { ClusterLink } from './cluster/worker-link.js';
import type { PriceMap } from './cost/prices.js';
import type { ModelBodies } from './endpoints/models.js';
import type { GatewayError } from './errors.js';
import type { Governance } from './governance/governance.js';
import type { Admission } from './governance/types.js';
import type { BodyBytes } from './http/body.js';
import type { EngineLogger } from './observability/logger.js';
import type { PrometheusSink } from './observability/prometheus.js';
import type { SettledBus } from './observability/settled.js';
import type { SharedRedis } from './redis/shared.js';
import type { RouteTable } from './router/table.js';
import type { RouterState } from './state/router-state.js';
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
  table: RouteTable;
  client: UpstreamClient;
  state: RouterState;
  /** the shared Redis (router_settings.redis_*, cache_params, REDIS_*): limits, routing state, cache, notices */
  redis?: SharedRedis;
  /** this engine is one worker of `proxy start --num_workers N`: /metrics and /kubiya/usage cover all of them */
  cluster?: ClusterLink;
  auth: Authenticator;
  /** virtual keys, budgets, spend (on when a master key is set); undefined: master key or anonymous only */
  governance?: Governance;
  /** per-request checks of virtual keys (model access, budgets, limits), run before routing */
  admission?: Admission;
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
  /** precomputed bodies for the static endpoints */
  staticBodies: ModelBodies;
  /** true once SIGTERM / close() started draining */
  draining: boolean;
  inflight: number;
  /** inference requests whose settled event is not emitted yet (close() waits for them) */
  settling: number;
  /** inference requests not settled yet: the drain deadline answers each with an error rather than cutting it */
  open: Set<DeadlineCut>;
}

/** A request the drain deadline can end in its API's words. */
export interface DeadlineCut {
  /** answer with `err` (or end the stream with its event), stop the upstream call; resolves once flushed */
  cutAtDeadline(err: GatewayError): Promise<void>;
}
