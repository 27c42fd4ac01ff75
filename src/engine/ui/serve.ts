/**
 * The admin dashboard at /ui: its files (built into dist/ui by `npm run build`, served from the package:
 * no CDN), its login, and the bridge from a browser session to the engine's own API. The page calls
 * `/ui/api/<path>` with its session cookie; a valid session (and, for a write, its CSRF token) turns that into
 * `<path>` carrying the session's key, so every page is served by the same management and model routes
 * (and the same access rules) as any other client. Two routes are the dashboard's own: the deployments'
 * live state and the logs' live tail (one server-sent-events stream, never polling).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { maskText } from '../../config/litellm/secrets.js';
import type { EngineContext } from '../context.js';
import { GatewayError } from '../errors.js';
import { sendJson } from '../http/respond.js';
import type { ResponseWriter } from '../http/response-writer.js';
import type { SettledEvent } from '../observability/settled.js';
import { COOKIE, cookieValue, Sessions, sameSecret, type UiSession } from './sessions.js';

// where the built page is, from where this code runs: dist/bundle (the CLI runs the bundle) -> dist/ui;
// src/engine/ui (tests run the sources after a build) -> dist/ui; dist/engine/ui (tsc's output) -> dist/ui.
// The assets/ folder tells the built page from ui/index.html, its source.
const FILES_DIR =
  ['../ui/', '../../../dist/ui/', '../../ui/']
    .map((rel) => fileURLToPath(new URL(rel, import.meta.url)))
    .find((d) => existsSync(`${d}assets/app.js`)) ?? fileURLToPath(new URL('../ui/', import.meta.url));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};
// the page loads only its own files and talks only to its own origin
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};
const LOGIN_BODY_LIMIT = 8192;
const HEARTBEAT_MS = 15_000;

interface StaticFile {
  type: string;
  raw: Buffer;
  gz: Buffer;
}

export interface DashboardOptions {
  masterKey?: string;
  env: NodeJS.ProcessEnv;
}

/** The dashboard of one engine; `ctx.ui` when it is on (DISABLE_ADMIN_UI unset). */
export class Dashboard {
  readonly sessions: Sessions;
  private readonly files = new Map<string, StaticFile | null>();
  private readonly username?: string;
  private readonly password?: string;
  /** the open live-tail streams (ended when the engine drains) */
  private readonly tails = new Set<() => void>();

  constructor(private readonly opts: DashboardOptions) {
    this.sessions = new Sessions(opts.masterKey);
    this.username = opts.env.UI_USERNAME || undefined;
    this.password = opts.env.UI_PASSWORD || undefined;
  }

  /**
   * A `/ui/api/<path>` request becomes `<path>` with the session's key (a write needs the session's CSRF
   * token too); returns the route to serve. Any other /ui route is the dashboard's (`serve`).
   */
  rewrite(req: IncomingMessage, route: string): string {
    if (!route.startsWith('/ui/api/') || route === '/ui/api/session' || route.startsWith('/ui/api/kubiya/'))
      return route;
    const session = this.sessions.fromCookie(req.headers.cookie);
    if (!session) {
      // not logged in (or expired): the API's own 401, unless the caller sent its own credentials
      if (req.headers.cookie) delete req.headers.authorization;
      return '/ui/_login';
    }
    const write = req.method !== 'GET' && req.method !== 'HEAD';
    if (write && !csrfOk(req, session)) return '/ui/_csrf';
    req.headers.authorization = `Bearer ${session.key}`;
    delete req.headers['x-litellm-api-key'];
    delete req.headers['api-key'];
    delete req.headers['x-api-key'];
    const path = (req.url ?? '').slice((req.url ?? '').indexOf('/ui/api/') + 7);
    req.url = path;
    return route.slice(7);
  }

  async serve(ctx: EngineContext, req: IncomingMessage, w: ResponseWriter, route: string): Promise<void> {
    const res = w.res;
    const method = req.method ?? 'GET';
    if (route === '/ui') {
      // the page's links are relative: /ui must become /ui/ (the prefix a reverse proxy added is kept)
      const url = req.url ?? '/ui';
      const q = url.indexOf('?');
      const path = q === -1 ? url : url.slice(0, q);
      if (!path.endsWith('/')) {
        res.writeHead(308, { location: `${path.slice(path.lastIndexOf('/') + 1)}/` });
        res.end();
        return;
      }
    }
    if (route === '/ui/_login') throw notLoggedIn();
    if (route === '/ui/_csrf')
      throw new GatewayError(403, {
        message: 'Missing or wrong x-csrf-token header: reload the dashboard.',
        type: 'auth_error',
        errorClass: 'permission',
      });
    if (route === '/ui/login' && method === 'POST') return this.login(ctx, req, w);
    if (route === '/ui/logout' && method === 'POST') {
      const s = this.sessions.fromCookie(req.headers.cookie);
      if (s && csrfOk(req, s)) this.sessions.end(s.id);
      sendJson(res, 200, '{"status":"logged out"}', { 'set-cookie': clearCookie(), ...SECURITY_HEADERS });
      return;
    }
    if (method !== 'GET' && method !== 'HEAD')
      throw new GatewayError(405, {
        message: `Method ${method} is not allowed on ${route}.`,
        errorClass: 'bad_request',
      });
    if (route === '/ui/api/session') {
      const s = this.sessions.fromCookie(req.headers.cookie);
      if (!s) throw notLoggedIn();
      return sendJson(res, 200, JSON.stringify(sessionView(s)), { ...SECURITY_HEADERS });
    }
    if (route.startsWith('/ui/api/kubiya/')) {
      const s = this.sessions.fromCookie(req.headers.cookie);
      if (!s) throw notLoggedIn();
      if (route === '/ui/api/kubiya/deployments') return this.deployments(ctx, s, w);
      if (route === '/ui/api/kubiya/logs/stream') return this.tail(ctx, s, req, w);
      throw new GatewayError(404, { message: `No route GET ${route}.`, errorClass: 'not_found' });
    }
    // the page and its files; any other path under /ui/ is the page (its views are #fragments)
    const name = route.startsWith('/ui/assets/') ? route.slice(4) : 'index.html';
    const f = this.file(name);
    if (!f) {
      if (name === 'index.html')
        throw new GatewayError(503, {
          message: 'The dashboard files are missing from this install (dist/ui): run `npm run build`.',
          errorClass: 'overloaded',
        });
      throw new GatewayError(404, { message: `No file ${route}.`, errorClass: 'not_found' });
    }
    const gz = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gz ? f.gz : f.raw;
    const headers: Record<string, string | number> = {
      ...SECURITY_HEADERS,
      'content-type': f.type,
      'content-length': body.length,
      vary: 'accept-encoding',
    };
    if (gz) headers['content-encoding'] = 'gzip';
    // hashed names could be cached forever; ours are not hashed, so the browser revalidates
    if (name !== 'index.html') headers['cache-control'] = 'no-cache';
    res.writeHead(200, headers);
    res.end(method === 'HEAD' ? undefined : body);
  }

  /** End every live tail (the engine is draining). */
  close(): void {
    for (const end of this.tails) end();
  }

  private file(name: string): StaticFile | null {
    if (name.includes('..') || name.includes('\\')) return null;
    let f = this.files.get(name);
    if (f !== undefined) return f;
    try {
      const raw = readFileSync(FILES_DIR + name);
      const ext = name.slice(name.lastIndexOf('.'));
      f = { type: TYPES[ext] ?? 'application/octet-stream', raw, gz: gzipSync(raw) };
    } catch {
      f = null;
    }
    this.files.set(name, f);
    return f;
  }

  /**
   * POST /ui/login {username, password}: UI_USERNAME / UI_PASSWORD, or the master key as the password (any
   * username when UI_USERNAME is unset, else "admin"), or a virtual key as the password (that key's own view).
   */
  private async login(ctx: EngineContext, req: IncomingMessage, w: ResponseWriter): Promise<void> {
    const client = req.socket.remoteAddress ?? '?';
    if (this.sessions.locked(client))
      throw new GatewayError(429, {
        message: 'Too many failed logins from this address: wait a minute.',
        errorClass: 'rate_limit',
        headers: { 'retry-after': '60' },
      });
    const body = await readSmallJson(req);
    const username = typeof body.username === 'string' ? body.username : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const mk = this.opts.masterKey;
    if (!mk)
      throw new GatewayError(400, {
        message:
          'The dashboard needs a master key: set general_settings.master_key (or LITELLM_MASTER_KEY) and restart.',
        errorClass: 'bad_request',
      });
    let session: UiSession | undefined;
    const userOk = this.username === undefined || sameSecret(username, this.username) || username === 'admin';
    if (this.username && this.password && sameSecret(username, this.username) && sameSecret(password, this.password))
      session = this.sessions.create({ key: mk, role: 'admin', name: username });
    else if (password && userOk && sameSecret(password, mk))
      session = this.sessions.create({ key: mk, role: 'admin', name: username || 'admin' });
    else if (password.startsWith('sk-')) {
      try {
        const p = await ctx.auth.authenticate({ authorization: `Bearer ${password}` });
        const role = (p as { role?: string }).role;
        const admin = p.kind === 'master' || role === 'proxy_admin';
        session = this.sessions.create({
          key: password,
          role: admin ? 'admin' : 'user',
          name: p.keyAlias ?? p.userId ?? `key ${password.slice(0, 6)}…`,
          userId: p.userId,
        });
      } catch {
        session = undefined;
      }
    }
    if (!session) {
      this.sessions.failed(client);
      ctx.logger.warn({ client, username: username.slice(0, 64) }, 'dashboard login refused');
      throw new GatewayError(401, {
        message: 'Invalid username or password.',
        type: 'auth_error',
        errorClass: 'auth',
      });
    }
    ctx.logger.info({ client, user: session.name, role: session.role }, 'dashboard login');
    sendJson(w.res, 200, JSON.stringify(sessionView(session)), {
      ...SECURITY_HEADERS,
      'set-cookie': sessionCookie(session.id, req),
    });
  }

  /** GET /ui/api/kubiya/deployments: each deployment with its live routing state (admins only). */
  private async deployments(ctx: EngineContext, s: UiSession, w: ResponseWriter): Promise<void> {
    if (s.role !== 'admin')
      throw new GatewayError(403, { message: 'Only an admin sees deployments.', errorClass: 'permission' });
    const now = Date.now();
    const out: Record<string, unknown>[] = [];
    const table = ctx.table;
    const groups = [...table.groups.values(), ...table.wildcards.map((x) => x.group)];
    for (const g of groups) {
      const view = await ctx.state.read(g, now);
      for (const d of g.deployments) {
        const load = view.of(d);
        out.push({
          model_name: d.modelName,
          model_id: d.id,
          litellm_model: d.litellmModel,
          provider: d.provider ?? (d.mockResponse !== undefined ? 'mock' : undefined),
          api_base: d.mockResponse !== undefined ? 'mock_response' : d.apiBase && maskText(d.apiBase, ctx.secretValues),
          mode: d.mode,
          rpm: d.rpm,
          tpm: d.tpm,
          requests_this_minute: load.requests,
          tokens_this_minute: load.tokens,
          in_flight: load.inflight,
          latency_ms: load.latencyMs ? Math.round(load.latencyMs) : null,
          cooldown_until: load.cooldownUntil > now ? new Date(load.cooldownUntil).toISOString() : null,
          // background health checks (general_settings.background_health_checks): null when they are off
          health: ctx.health ? (d.down === true ? 'unhealthy' : 'healthy') : null,
          db_model: d.publicInfo.db_model === true,
        });
      }
    }
    sendJson(w.res, 200, JSON.stringify({ data: out }), { ...SECURITY_HEADERS });
  }

  /**
   * GET /ui/api/kubiya/logs/stream: every settled request the session may see, as it settles (admins: all;
   * a user: their own keys'), one `data:` line each; no prompt or answer ever goes out on it.
   */
  private tail(ctx: EngineContext, s: UiSession, req: IncomingMessage, w: ResponseWriter): void {
    const res = w.res;
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(': connected\n\n');
    const keyHash = createHash('sha256').update(s.key).digest('hex');
    const unsubscribe = ctx.settled.subscribe((e) => {
      if (s.role !== 'admin' && e.principal.keyHash !== keyHash && (!s.userId || e.principal.userId !== s.userId))
        return;
      res.write(`data: ${JSON.stringify(logLine(e, ctx.secretValues))}\n\n`);
    });
    const beat = setInterval(() => {
      if (ctx.draining) end();
      else res.write(': ping\n\n');
    }, HEARTBEAT_MS);
    beat.unref();
    const end = () => {
      clearInterval(beat);
      unsubscribe();
      this.tails.delete(end);
      if (!res.writableEnded) res.end();
    };
    this.tails.add(end);
    req.once('close', end);
    res.once('close', end);
  }
}

/** What the live tail says of one request (the Logs page's columns); never a prompt, an answer or a key. */
function logLine(e: SettledEvent, secrets: readonly string[]): Record<string, unknown> {
  return {
    request_id: e.callId,
    startTime: new Date(e.startTime).toISOString(),
    endpoint: e.endpoint,
    model: e.requestedModel,
    model_group: e.modelGroup,
    model_id: e.deploymentId,
    provider: e.provider,
    status: e.status,
    http_status: e.httpStatus,
    duration_ms: Math.round(e.durationMs),
    prompt_tokens: e.usage.prompt,
    completion_tokens: e.usage.completion,
    total_tokens: e.usage.total,
    spend: e.responseCost ?? 0,
    cache_hit: e.cacheHit,
    fallbacks: e.attemptedFallbacks,
    retries: e.attemptedRetries,
    key_alias: e.principal.keyAlias,
    api_key: e.principal.keyHash,
    user: e.principal.userId,
    team_id: e.principal.teamId,
    error: e.errorMessage && maskText(e.errorMessage, secrets),
  };
}

function sessionView(s: UiSession): Record<string, unknown> {
  return { user: s.name, role: s.role, user_id: s.userId, csrf_token: s.csrf };
}

function csrfOk(req: IncomingMessage, s: UiSession): boolean {
  const t = req.headers['x-csrf-token'];
  if (typeof t !== 'string' || !sameSecret(t, s.csrf)) return false;
  // a browser names the page's origin on a write: it must be this host's
  const origin = req.headers.origin;
  if (typeof origin === 'string' && origin !== 'null') {
    try {
      if (new URL(origin).host !== req.headers.host) return false;
    } catch {
      return false;
    }
  }
  return true;
}

function sessionCookie(id: string, req: IncomingMessage): string {
  const secure = req.headers['x-forwarded-proto'] === 'https' || (req.socket as { encrypted?: boolean }).encrypted;
  return `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200${secure ? '; Secure' : ''}`;
}

function clearCookie(): string {
  return `${COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
}

function notLoggedIn(): GatewayError {
  return new GatewayError(401, {
    message: 'Not logged in to the dashboard (or the session expired): log in again.',
    type: 'auth_error',
    errorClass: 'auth',
  });
}

function readSmallJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > LOGIN_BODY_LIMIT) {
        reject(new GatewayError(413, { message: 'Login body too large.', errorClass: 'bad_request' }));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      try {
        const v = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        resolve(v && typeof v === 'object' && !Array.isArray(v) ? v : {});
      } catch {
        reject(new GatewayError(400, { message: 'The login body must be JSON.', errorClass: 'bad_request' }));
      }
    });
    req.on('error', reject);
  });
}

export { cookieValue };
