/**
 * Where the shared Redis is, as LiteLLM users configure it: `router_settings.redis_*` (the router's), else
 * `litellm_settings.cache_params` (host/port/password, `redis_startup_nodes` for Cluster, `sentinel_nodes` +
 * `service_name` for Sentinel, `ssl`), else the environment (REDIS_URL, REDIS_HOST/PORT/PASSWORD/USERNAME/SSL,
 * REDIS_CLUSTER_NODES, REDIS_SENTINEL_NODES + REDIS_SERVICE_NAME). One connection serves everything shared:
 * limits, routing state, budgets' notices and the response cache.
 */
import type { LiteLLMConfig } from '../../config/litellm/schema.js';

export interface RedisNode {
  host: string;
  port: number;
}

export interface RedisSettings {
  mode: 'single' | 'cluster' | 'sentinel';
  /** redis:// or rediss:// (single mode); host/port/password below win over what it says */
  url?: string;
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls: boolean;
  /** Cluster: the startup nodes */
  nodes: RedisNode[];
  /** Sentinel: the sentinels, the master's name, the sentinels' password */
  sentinels: RedisNode[];
  name?: string;
  sentinelPassword?: string;
  /** the config key path or variable it came from (for logs and errors) */
  source: string;
}

type Rec = Record<string, unknown>;

const str = (v: unknown): string | undefined =>
  v === undefined || v === null || v === '' ? undefined : typeof v === 'string' ? v : String(v);
const numOf = (v: unknown): number | undefined => {
  const s = str(v);
  if (s === undefined) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
};
const bool = (v: unknown): boolean => v === true || (typeof v === 'string' && /^(true|1|yes)$/i.test(v));

/**
 * Nodes as LiteLLM takes them: `[{host, port}]`, `[[host, port]]`, `["host:port"]`, or a JSON string of any
 * of those (REDIS_CLUSTER_NODES, REDIS_SENTINEL_NODES).
 */
export function parseNodes(v: unknown, where: string): RedisNode[] {
  if (v === undefined || v === null || v === '') return [];
  let list = v;
  if (typeof v === 'string') {
    try {
      list = JSON.parse(v);
    } catch {
      list = v.split(',').map((s) => s.trim());
    }
  }
  if (!Array.isArray(list)) throw new Error(`${where}: expected a list of nodes ([{host, port}] or ["host:port"])`);
  return list.map((n, i) => {
    let host: unknown;
    let port: unknown;
    if (Array.isArray(n)) [host, port] = n;
    else if (typeof n === 'string') {
      const at = n.lastIndexOf(':');
      host = at > 0 ? n.slice(0, at) : n;
      port = at > 0 ? n.slice(at + 1) : 6379;
    } else if (n && typeof n === 'object') ({ host, port } = n as Rec);
    const p = numOf(port ?? 6379);
    if (typeof host !== 'string' || !host || p === undefined)
      throw new Error(`${where}[${i}]: expected a node with a host and a port, got ${JSON.stringify(n)}`);
    return { host, port: p };
  });
}

/** The shared Redis the config and environment name, or undefined (state stays in this process). */
export function redisSettings(cfg: LiteLLMConfig, env: NodeJS.ProcessEnv): RedisSettings | undefined {
  const rs = cfg.router_settings as Rec;
  const ls = cfg.litellm_settings as Rec;
  const cp = (ls.cache_params ?? {}) as Rec;
  const cacheRedis = ls.cache === true && (cp.type === undefined || cp.type === 'redis');
  let source: string | undefined;
  let url: string | undefined;
  let host: string | undefined;
  let port: number | undefined;
  let password: string | undefined;
  let username: string | undefined;
  let db: number | undefined;
  let tls = false;
  let nodes: RedisNode[] = [];
  let sentinels: RedisNode[] = [];
  let name: string | undefined;
  let sentinelPassword: string | undefined;
  if (str(rs.redis_host) || str(rs.redis_url)) {
    source = 'router_settings';
    url = str(rs.redis_url);
    host = str(rs.redis_host);
    port = numOf(rs.redis_port);
    password = str(rs.redis_password);
    db = numOf(rs.redis_db);
  } else if (cacheRedis || str(cp.host) || cp.redis_startup_nodes || cp.sentinel_nodes || str(cp.url)) {
    source = 'litellm_settings.cache_params';
    url = str(cp.url) ?? str(cp.redis_url);
    host = str(cp.host);
    port = numOf(cp.port);
    password = str(cp.password);
    username = str(cp.username);
    db = numOf(cp.db);
    tls = bool(cp.ssl);
    nodes = parseNodes(cp.redis_startup_nodes, `${source}.redis_startup_nodes`);
    sentinels = parseNodes(cp.sentinel_nodes, `${source}.sentinel_nodes`);
    name = str(cp.service_name);
    sentinelPassword = str(cp.sentinel_password);
  }
  const fromEnv =
    source === undefined &&
    (str(env.REDIS_URL) || str(env.REDIS_HOST) || str(env.REDIS_CLUSTER_NODES) || str(env.REDIS_SENTINEL_NODES));
  if (source === undefined && !fromEnv) return undefined;
  if (fromEnv) source = 'environment (REDIS_*)';
  // the environment fills what the config left out (LiteLLM reads REDIS_* under cache_params too)
  url ??= str(env.REDIS_URL);
  host ??= str(env.REDIS_HOST);
  port ??= numOf(env.REDIS_PORT);
  password ??= str(env.REDIS_PASSWORD);
  username ??= str(env.REDIS_USERNAME);
  db ??= numOf(env.REDIS_DB);
  tls ||= bool(env.REDIS_SSL);
  if (nodes.length === 0) nodes = parseNodes(env.REDIS_CLUSTER_NODES, 'REDIS_CLUSTER_NODES');
  if (sentinels.length === 0) sentinels = parseNodes(env.REDIS_SENTINEL_NODES, 'REDIS_SENTINEL_NODES');
  name ??= str(env.REDIS_SERVICE_NAME);
  sentinelPassword ??= str(env.REDIS_SENTINEL_PASSWORD);
  if (url?.startsWith('rediss://')) tls = true;
  if (sentinels.length > 0 && !name)
    throw new Error(`${source}: sentinel nodes are set but not service_name (REDIS_SERVICE_NAME), the master's name`);
  const mode = nodes.length > 0 ? 'cluster' : sentinels.length > 0 ? 'sentinel' : 'single';
  let h = host ?? '127.0.0.1';
  let p = port ?? 6379;
  if (url && !host) {
    try {
      const u = new URL(url);
      h = u.hostname || h;
      p = u.port ? Number(u.port) : p;
    } catch {
      throw new Error(`${source}: redis_url is not a URL (expected redis://[user:password@]host:port[/db])`);
    }
  }
  return {
    mode,
    url,
    host: h,
    port: p,
    username,
    password,
    db,
    tls,
    nodes,
    sentinels,
    name,
    sentinelPassword,
    source: source as string,
  };
}

/** host:port (or the nodes) for logs and /health: never a password. */
export function redisWhere(s: RedisSettings): string {
  if (s.mode === 'cluster') return `cluster ${s.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
  if (s.mode === 'sentinel') return `sentinel ${s.name} via ${s.sentinels.map((n) => `${n.host}:${n.port}`).join(',')}`;
  return `${s.host}:${s.port}${s.db ? `/${s.db}` : ''}`;
}
