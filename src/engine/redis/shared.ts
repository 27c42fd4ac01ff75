/**
 * The engine's one connection to a shared Redis (ioredis: a single server, a Cluster or a Sentinel-managed
 * master), with the rules every user of it follows:
 * - a deadline on every call (default 100 ms: REDIS_SOCKET_TIMEOUT in seconds, as LiteLLM's), and no offline
 *   queue: a request never waits on a Redis that is away. The deadline measures Redis, not this process: when
 *   its timer fires, an answer that already arrived but waits behind a busy event loop is read first (a burst
 *   of requests would otherwise "time out" answers Redis gave in a millisecond, and fall back to local counts);
 * - a circuit breaker: after `threshold` failures in a row (REDIS_CIRCUIT_BREAKER_FAILURE_THRESHOLD, 5) the
 *   engine is local-only for `recoveryMs` (REDIS_CIRCUIT_BREAKER_RECOVERY_TIMEOUT in seconds, default 10);
 *   then one call probes, and a success (or the connection coming back) closes it again;
 * - failures are counted (`onFailure`: litellm_redis_fails) and said once per outage in the log.
 * Callers check `up` before a round trip and fall back to their in-process state when it is false.
 * Loaded only when a Redis is configured (ioredis stays out of an engine that has none).
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { EngineLogger } from '../observability/logger.js';
import { type RedisSettings, redisWhere } from './settings.js';

export type RedisClient = Redis | Cluster;

export interface SharedRedisOptions {
  logger: EngineLogger;
  env?: NodeJS.ProcessEnv;
  /** ms a command may take (default 100) */
  commandTimeoutMs?: number;
  /** consecutive failures that open the circuit (default 5) */
  threshold?: number;
  /** ms the circuit stays open before a probe (default 10 000) */
  recoveryMs?: number;
  /** ms start() waits for the first connection before going on local-only (default 2000) */
  connectTimeoutMs?: number;
}

export type RedisHealth = {
  status: 'connected' | 'local-only' | 'connecting';
  where: string;
  mode: RedisSettings['mode'];
  source: string;
  failures: number;
  last_error?: string;
};

const posNum = (v: string | undefined, scale: number): number | undefined =>
  v !== undefined && Number(v) > 0 ? Number(v) * scale : undefined;

export class SharedRedis {
  readonly client: RedisClient;
  readonly where: string;
  private readonly threshold: number;
  private readonly recoveryMs: number;
  private readonly connectTimeoutMs: number;
  private consecutive = 0;
  private openUntil = 0;
  private everReady = false;
  private outageLogged = false;
  private lastError?: string;
  private readonly failureHooks: ((kind: string) => void)[] = [];
  private readonly subscribers: RedisClient[] = [];
  private readonly closing: (() => void)[] = [];
  /** ms a call may take (REDIS_SOCKET_TIMEOUT) */
  readonly deadlineMs: number;
  /** total failures since start (what litellm_redis_fails counts) */
  failures = 0;

  constructor(
    readonly settings: RedisSettings,
    private readonly opts: SharedRedisOptions,
  ) {
    const env = opts.env ?? process.env;
    this.where = redisWhere(settings);
    this.threshold = opts.threshold ?? (Number(env.REDIS_CIRCUIT_BREAKER_FAILURE_THRESHOLD) || 5);
    this.recoveryMs = opts.recoveryMs ?? posNum(env.REDIS_CIRCUIT_BREAKER_RECOVERY_TIMEOUT, 1000) ?? 10_000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 2000;
    this.deadlineMs = opts.commandTimeoutMs ?? posNum(env.REDIS_SOCKET_TIMEOUT, 1000) ?? 100;
    // ioredis's own timeout is the backstop for commands nobody waits on (writes after a call)
    const commandTimeout = Math.max(1000, this.deadlineMs * 10);
    this.client = createClient(settings, { commandTimeout, enableOfflineQueue: false, lazyConnect: true });
    this.client.on('ready', () => {
      this.everReady = true;
      if (this.outageLogged) opts.logger.info({ redis: this.where }, 'redis back: shared state on again');
      this.outageLogged = false;
      this.consecutive = 0;
      this.openUntil = 0;
    });
    // ioredis reconnects by itself; an error event without a listener would crash the process
    this.client.on('error', (e: Error) => this.noteError(e));
  }

  /** Connect, waiting at most the connect timeout; a Redis that is down leaves the engine local-only. */
  async start(): Promise<void> {
    const connected = this.client.connect().then(
      () => true,
      (e: Error) => {
        // the error event said why (ECONNREFUSED ...); the rejection only says the connection closed
        if (this.lastError === undefined) this.noteError(e);
        return false;
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const ok = await Promise.race([
      connected,
      new Promise<boolean>((r) => (timer = setTimeout(r, this.connectTimeoutMs, false))),
    ]);
    clearTimeout(timer);
    if (ok)
      this.opts.logger.info(
        { redis: this.where, mode: this.settings.mode, from: this.settings.source },
        'shared state through redis',
      );
    else {
      this.openUntil = Date.now() + this.recoveryMs;
      this.outageLogged = true;
      this.opts.logger.warn(
        { redis: this.where, from: this.settings.source, error: this.lastError },
        'redis unreachable at start: running on local state until it answers ' +
          '(limits and cooldowns are per engine meanwhile)',
      );
    }
  }

  /** May a caller use Redis now? False while the circuit is open or the connection is down. */
  get up(): boolean {
    // open: local-only until the recovery time has passed; then half-open: calls go (the first answers decide:
    // a success closes the circuit, a failure opens it again). No side effect here, so checking twice is fine
    if (this.openUntil !== 0 && Date.now() < this.openUntil) return false;
    if (this.client.status === 'ready') return true;
    // the connection dropped (ioredis reconnects meanwhile): a call that could not be made counts as failed,
    // so a lost Redis opens the circuit as a failing one does and shows in litellm_redis_fails
    this.fail(this.lastError ?? `not connected (${this.client.status})`, 'connection');
    return false;
  }

  /** A call succeeded: the failure streak ends (and a half-open circuit closes). */
  ok(): void {
    if (this.consecutive === 0 && this.openUntil === 0) return;
    this.consecutive = 0;
    if (this.openUntil !== 0) {
      this.openUntil = 0;
      this.opts.logger.info({ redis: this.where }, 'redis answering again: shared state on');
      this.outageLogged = false;
    }
  }

  /** A call failed (timeout, connection, script error): counted; enough in a row open the circuit. */
  fail(e: unknown, kind = 'command'): void {
    this.failures++;
    for (const h of this.failureHooks) h(kind);
    this.noteError(e);
    this.opts.logger.debug({ redis: this.where, kind, error: this.lastError }, 'redis call failed');
    const now = Date.now();
    if (++this.consecutive >= this.threshold && (this.openUntil === 0 || now >= this.openUntil)) {
      this.openUntil = now + this.recoveryMs;
      if (!this.outageLogged) {
        this.opts.logger.warn(
          { redis: this.where, failures: this.consecutive, retry_in_ms: this.recoveryMs, error: this.lastError },
          'redis failing: local-only state until it answers again',
        );
        this.outageLogged = true;
      }
    }
  }

  /**
   * Run `fn` against Redis with the rules above; `fallback` answers when Redis is not usable or fails. `deadlineMs`:
   * what is left of the deadline of a caller that already waited (never more than the deadline).
   */
  async run<T>(fn: (c: RedisClient) => Promise<T>, fallback: () => T, kind?: string, deadlineMs?: number): Promise<T> {
    if (!this.up) return fallback();
    try {
      const v = await withDeadline(fn(this.client), Math.min(deadlineMs ?? this.deadlineMs, this.deadlineMs));
      this.ok();
      return v;
    } catch (e) {
      this.fail(e, kind);
      return fallback();
    }
  }

  /**
   * A write nobody waits on (tokens after a call, a cooldown, a change notice, a refresh): no 100 ms deadline
   * (a cold connection to a Cluster node may take longer, and no request is held), only ioredis's backstop
   * timeout; skipped while Redis is not usable, failures counted as run()'s.
   */
  send(fn: (c: RedisClient) => Promise<unknown>, kind?: string): void {
    if (!this.up) return;
    let p: Promise<unknown>;
    try {
      p = fn(this.client);
    } catch (e) {
      this.fail(e, kind);
      return;
    }
    p.then(
      () => this.ok(),
      (e) => this.fail(e, kind),
    );
  }

  /** Count failures somewhere else too (Prometheus). */
  onFailure(fn: (kind: string) => void): void {
    this.failureHooks.push(fn);
  }

  /** A second connection for SUBSCRIBE (a subscribed connection takes no other commands); closed with this. */
  subscriber(): RedisClient {
    const s = createClient(this.settings, { enableOfflineQueue: true, lazyConnect: false });
    s.on('error', () => {});
    this.subscribers.push(s);
    return s;
  }

  health(): RedisHealth {
    const status =
      this.client.status === 'ready' && this.openUntil === 0
        ? 'connected'
        : this.everReady || this.outageLogged
          ? 'local-only'
          : 'connecting';
    const h: RedisHealth = {
      status,
      where: this.where,
      mode: this.settings.mode,
      source: this.settings.source,
      failures: this.failures,
    };
    if (status !== 'connected' && this.lastError) h.last_error = this.lastError;
    return h;
  }

  /** Run `fn` (send what a user of this connection still holds) just before the connection closes. */
  beforeClose(fn: () => void): void {
    this.closing.push(fn);
  }

  async close(): Promise<void> {
    for (const fn of this.closing) fn();
    await Promise.all(
      [this.client, ...this.subscribers].map((c) =>
        c.quit().then(
          () => {},
          () => c.disconnect(),
        ),
      ),
    );
  }

  private noteError(e: unknown): void {
    const msg = e instanceof Error ? e.message : String(e);
    // never a password: ioredis's messages name host and port only, but a URL could carry one
    this.lastError = msg.replace(/\/\/[^@/\s]*@/g, '//***@');
  }
}

/**
 * `p`, or a timeout error after `ms`. The timer's rejection waits one turn of the event loop (setImmediate runs
 * after the I/O phase), so a reply already on the socket wins over a timer that fired late only because this
 * process was busy.
 */
function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const timer = setTimeout(
      () =>
        setImmediate(() => {
          if (!done) reject(new Error(`Redis did not answer within ${ms} ms`));
          done = true;
        }),
      ms,
    );
    p.then(
      (v) => {
        clearTimeout(timer);
        if (!done) resolve(v);
        done = true;
      },
      (e) => {
        clearTimeout(timer);
        if (!done) reject(e);
        done = true;
      },
    );
  });
}

function createClient(s: RedisSettings, extra: RedisOptions): RedisClient {
  const base: RedisOptions = {
    username: s.username,
    password: s.password,
    db: s.db,
    tls: s.tls ? {} : undefined,
    maxRetriesPerRequest: 1,
    // reconnect forever, backing off to 1 s: a Redis that comes back is used again within a second
    retryStrategy: (times) => Math.min(50 * times, 1000),
    connectTimeout: 2000,
    ...extra,
  };
  if (s.mode === 'cluster') {
    return new Cluster(s.nodes, {
      redisOptions: base,
      enableOfflineQueue: extra.enableOfflineQueue,
      lazyConnect: extra.lazyConnect,
      clusterRetryStrategy: (times) => Math.min(50 * times, 1000),
    });
  }
  if (s.mode === 'sentinel') {
    return new Redis({ ...base, sentinels: s.sentinels, name: s.name, sentinelPassword: s.sentinelPassword });
  }
  if (s.url) return new Redis(s.url, base);
  return new Redis({ ...base, host: s.host, port: s.port });
}
