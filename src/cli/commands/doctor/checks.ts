import fs from 'node:fs';
import net from 'node:net';
import type { KubiyaConfigFile, KubiyaContext } from '../../../config/contexts/index.js';
import type { ProxyPlan } from '../../../config/plan.js';
import type { QueueConfigResult } from '../../../control-plane/client.js';
import { isUserError } from '../../../errors.js';
import { probePython, pythonFix, pythonProblem } from '../../../supervisor/python.js';
import { kubiyaDir } from '../../../util/paths.js';
import type { Handler } from '../../command.js';
import type { CliContext } from '../../context.js';
import type { DoctorOpts } from './index.js';

export type Status = 'ok' | 'warn' | 'fail';

/** One line of the report: `fail` means `worker start` would stop; `warn` that something is off but runs. */
export interface Check {
  name: string;
  status: Status;
  detail: string;
  fix?: string;
}

/** The Node majors the suite runs on (package.json engines, .ci/run). */
const TESTED_NODE = [20, 22, 24];
const PROBE_MS = 2000;

/** `kubiya doctor`: run every check, print them, exit 1 when one would stop `worker start`. */
export const doctor: Handler<DoctorOpts> = async (ctx, opts) => {
  const checks: Check[] = [];
  const add = (c: Check) => void checks.push(c);
  const { env } = ctx;

  add(nodeCheck());
  const cfg = await configChecks(ctx, add);
  const context = cfg ? contextCheck(cfg, ctx, add) : undefined;
  const customWorker = !!(env.KUBIYA_WORKER_COMMAND?.trim() || context?.workerCommand?.trim());
  if (opts.type === 'docker') await dockerChecks(env, add);
  else pythonChecks(env, customWorker, add);
  kubiyaDirCheck(env, add);

  const queueId = opts.queueId;
  if (queueId !== undefined) await queueCheck(queueId, env, add);
  const queue = await controlPlaneCheck(ctx, context, queueId, customWorker, add);
  const plan = await planCheck(ctx, cfg, context, queueId, queue, add);
  if (plan?.config) await storeChecks(plan, env, add);
  await portChecks(add);

  const failed = checks.filter((c) => c.status === 'fail').length;
  const warned = checks.filter((c) => c.status === 'warn').length;
  if (ctx.output === 'json') ctx.out.json({ ok: failed === 0, failed, warnings: warned, checks });
  else {
    const mark = { ok: ctx.color.green('ok  '), warn: ctx.color.yellow('warn'), fail: ctx.color.red('FAIL') };
    const width = Math.max(...checks.map((c) => c.name.length));
    for (const c of checks) {
      ctx.out.line(`${mark[c.status]}  ${c.name.padEnd(width)}  ${c.detail}`);
      if (c.fix && c.status !== 'ok') ctx.out.line(`      ${' '.repeat(width)}  fix: ${c.fix}`);
    }
    ctx.out.line(
      failed
        ? `\n${failed} problem${failed === 1 ? '' : 's'} would stop \`kubiya worker start\`` +
            (warned ? ` (and ${warned} warning${warned === 1 ? '' : 's'})` : '')
        : `\nnothing stops \`kubiya worker start\`${warned ? ` (${warned} warning${warned === 1 ? '' : 's'})` : ''}`,
    );
  }
  return failed ? 1 : 0;
};

function nodeCheck(): Check {
  const [major, minor] = process.versions.node.split('.').map(Number);
  const name = 'node';
  if (major < 20 || (major === 20 && minor < 19))
    return { name, status: 'fail', detail: `Node ${process.version} is too old`, fix: 'install Node 22 or 24 LTS' };
  if (!TESTED_NODE.includes(major))
    return {
      name,
      status: 'warn',
      detail: `Node ${process.version} is not one kubiya is tested on (${TESTED_NODE.join(', ')})`,
      fix: 'use Node 22 or 24 LTS',
    };
  if (major === 20)
    return {
      name,
      status: 'warn',
      detail: `Node ${process.version}: Node 20 reached end of life in April 2026`,
      fix: 'move to Node 22 or 24 LTS',
    };
  return { name, status: 'ok', detail: `Node ${process.version}` };
}

/** Python 3.8+ with venv and pip: the default worker is a pip package installed into a per-queue venv. */
function pythonChecks(env: NodeJS.ProcessEnv, customWorker: boolean, add: (c: Check) => void): void {
  // not needed by a worker command of the user's own: then a missing Python is only worth a warning
  const bad: Status = customWorker ? 'warn' : 'fail';
  const why = customWorker ? ' (only the default worker needs it; yours is a command of your own)' : '';
  // the same probe and verdict as `worker start` (src/supervisor/python.ts)
  const p = probePython(env);
  const usable = p.found && p.recent;
  const problem = pythonProblem(p, false);
  if (!usable) {
    add({ name: 'python', status: bad, detail: `${problem}${why}`, fix: pythonFix() });
    return;
  }
  add({ name: 'python', status: 'ok', detail: `${p.python} ${p.version}` });
  // `python -m venv` makes the queue's venv (ensurepip puts pip in it) and that pip installs the worker
  const venvProblem = pythonProblem(p, true);
  if (venvProblem) add({ name: 'python venv/pip', status: bad, detail: `${venvProblem}${why}`, fix: pythonFix() });
  else add({ name: 'python venv/pip', status: 'ok', detail: `venv and ensurepip${p.pip ? ', pip' : ''}` });
}

/** `--type docker`: the Docker engine answers at DOCKER_HOST, and the proxy could listen on its bridge gateway. */
async function dockerChecks(env: NodeJS.ProcessEnv, add: (c: Check) => void): Promise<void> {
  const { DockerApi, bridgeGateway, checkEngine, dockerEndpoint } = await import(
    '../../../supervisor/docker/engine-api.js'
  );
  let docker: InstanceType<typeof DockerApi>;
  try {
    docker = new DockerApi(dockerEndpoint(env), PROBE_MS);
  } catch (e) {
    add({
      name: 'docker engine',
      status: 'fail',
      detail: (e as Error).message,
      fix: 'set DOCKER_HOST to unix:///path or tcp://host:port',
    });
    return;
  }
  const fail = (name: string, e: unknown) => {
    const hint = isUserError(e) ? e.hint : undefined;
    add({ name, status: 'fail', detail: (e as Error).message, ...(hint ? { fix: hint } : {}) });
  };
  try {
    add({ name: 'docker engine', status: 'ok', detail: `${await checkEngine(docker)} at ${docker.endpoint.where}` });
  } catch (e) {
    fail('docker engine', e);
    return;
  }
  try {
    const gw = await bridgeGateway(docker);
    add({ name: 'docker bridge', status: 'ok', detail: `gateway ${gw}: the proxy listens there for the container` });
  } catch (e) {
    fail('docker bridge', e);
  }
}

/** ~/.kubiya: ours, not writable by others (configs, logs and keys' hashes live there). */
function kubiyaDirCheck(env: NodeJS.ProcessEnv, add: (c: Check) => void): void {
  const dir = kubiyaDir(env);
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    add({ name: '~/.kubiya', status: 'ok', detail: `${dir} does not exist yet (made on first use, mode 0700)` });
    return;
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    add({
      name: '~/.kubiya',
      status: 'fail',
      detail: `${dir} belongs to uid ${st.uid}, not to you (uid ${uid})`,
      fix: `sudo chown -R ${uid} ${dir}`,
    });
    return;
  }
  try {
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    add({ name: '~/.kubiya', status: 'fail', detail: `${dir} is not writable by you`, fix: `chmod u+rwx ${dir}` });
    return;
  }
  const mode = st.mode & 0o777;
  if (mode & 0o022)
    add({
      name: '~/.kubiya',
      status: 'warn',
      detail: `${dir} is writable by others (mode ${mode.toString(8).padStart(4, '0')})`,
      fix: `chmod 700 ${dir}`,
    });
  else add({ name: '~/.kubiya', status: 'ok', detail: `${dir} (mode ${mode.toString(8).padStart(4, '0')})` });
}

/** The contexts file: readable, valid, private. */
async function configChecks(ctx: CliContext, add: (c: Check) => void): Promise<KubiyaConfigFile | undefined> {
  let cfg: KubiyaConfigFile;
  try {
    cfg = await ctx.configStore();
  } catch (e) {
    add({
      name: 'config',
      status: 'fail',
      detail: (e as Error).message,
      fix: 'fix the file (kubiya config view shows it), or point KUBIYA_CONFIG at another one',
    });
    return undefined;
  }
  if (!cfg.exists) {
    add({ name: 'config', status: 'ok', detail: `${cfg.path} does not exist (no contexts: defaults and env apply)` });
    return cfg;
  }
  const mode = fs.statSync(cfg.path).mode & 0o777;
  if (mode & 0o077)
    add({
      name: 'config',
      status: 'warn',
      detail: `${cfg.path} is readable by others (mode ${mode.toString(8).padStart(4, '0')}); it holds API keys`,
      fix: `chmod 600 ${cfg.path}`,
    });
  else add({ name: 'config', status: 'ok', detail: `${cfg.path} (${cfg.contexts.length} context(s))` });
  return cfg;
}

/** The context in effect exists (worker start stops on a current-context that names nothing). */
function contextCheck(cfg: KubiyaConfigFile, ctx: CliContext, add: (c: Check) => void): KubiyaContext | undefined {
  const eff = cfg.effectiveName(ctx.env);
  if (!eff.name) {
    add({ name: 'context', status: 'ok', detail: 'none selected (flags, environment and defaults apply)' });
    return undefined;
  }
  const c = cfg.get(eff.name);
  const from = eff.from === 'KUBIYA_CONTEXT' ? 'KUBIYA_CONTEXT' : 'current-context';
  if (!c) {
    const names = cfg.contexts.map((x) => x.name);
    add({
      name: 'context',
      status: 'fail',
      detail: `${from} is "${eff.name}", but ${cfg.path} has no such context`,
      fix: names.length
        ? `kubiya config use-context ${names[0]}   (there are: ${names.join(', ')})`
        : 'kubiya config set-context NAME --api-url URL --token KEY',
    });
    return undefined;
  }
  add({ name: 'context', status: 'ok', detail: `"${c.name}" (from ${from})` });
  return c;
}

/** The queue directory: a queue that already runs makes `worker start` stop. */
async function queueCheck(queueId: string, env: NodeJS.ProcessEnv, add: (c: Check) => void): Promise<void> {
  const { validateQueueId } = await import('../../../config/queue-id.js');
  try {
    validateQueueId(queueId);
  } catch (e) {
    add({ name: 'queue', status: 'fail', detail: (e as Error).message, fix: 'use letters, digits, . _ -' });
    return;
  }
  const { queuePaths } = await import('../../../supervisor/queue-dir.js');
  const { runningSupervisor } = await import('../../../supervisor/queue-lock.js');
  const running = runningSupervisor(queuePaths(queueId, env));
  if (running)
    add({
      name: 'queue',
      status: 'fail',
      detail: `queue "${queueId}" is already running (supervisor pid ${running.supervisor_pid})`,
      fix: `kubiya worker stop --queue-id ${queueId}`,
    });
  else add({ name: 'queue', status: 'ok', detail: `queue "${queueId}" is not running` });
}

/** Where the control plane is and with which key, as `worker start` picks them (flags aside). */
function controlPlane(ctx: CliContext, context: KubiyaContext | undefined): { url: string; key?: string } {
  const url = ctx.env.KUBIYA_CONTROL_PLANE_BASE_URL?.trim() || context?.apiUrl || 'https://control-plane.kubiya.ai';
  return { url, key: ctx.env.KUBIYA_API_KEY?.trim() || context?.token || undefined };
}

/** The control plane: reachable; with a queue id, it accepts the key and knows the queue. */
async function controlPlaneCheck(
  ctx: CliContext,
  context: KubiyaContext | undefined,
  queueId: string | undefined,
  customWorker: boolean,
  add: (c: Check) => void,
): Promise<QueueConfigResult | undefined> {
  const cp = controlPlane(ctx, context);
  if (!cp.key) {
    add({
      name: 'api key',
      status: customWorker ? 'warn' : 'fail',
      detail:
        "no Kubiya API key (KUBIYA_API_KEY or the context user's token): the Kubiya worker cannot reach its " +
        'control plane or the LLM gateway',
      fix: 'export KUBIYA_API_KEY=... or kubiya config set-context NAME --token KEY',
    });
    return undefined;
  }
  add({
    name: 'api key',
    status: 'ok',
    detail: `set (${ctx.env.KUBIYA_API_KEY?.trim() ? 'KUBIYA_API_KEY' : 'context'})`,
  });
  const { controlPlaneTimeoutMs, fetchQueueConfig } = await import('../../../control-plane/client.js');
  const timeoutMs = Math.min(controlPlaneTimeoutMs(ctx.env), 5000);
  if (queueId !== undefined) {
    const r = await fetchQueueConfig({ controlPlaneUrl: cp.url, apiKey: cp.key, queueId, timeoutMs });
    if (r.ok)
      add({ name: 'control plane', status: 'ok', detail: `${cp.url} accepts the key; queue "${queueId}" found` });
    else
      add({
        name: 'control plane',
        status: 'fail',
        detail: r.reason,
        fix:
          r.status === 401 || r.status === 403
            ? 'set a valid key (KUBIYA_API_KEY, or kubiya config set-context NAME --token KEY)'
            : r.status === 404
              ? 'check the queue id in the Kubiya UI'
              : 'check the URL (KUBIYA_CONTROL_PLANE_BASE_URL or the context api-url) and your network or proxy',
      });
    return r;
  }
  const reach = await httpReachable(cp.url, timeoutMs);
  if (reach === true)
    add({ name: 'control plane', status: 'ok', detail: `${cp.url} answers (pass --queue-id to check the key too)` });
  else
    add({
      name: 'control plane',
      status: 'fail',
      detail: `${cp.url} cannot be reached: ${reach}`,
      fix: 'check the URL (KUBIYA_CONTROL_PLANE_BASE_URL or the context api-url) and your network or proxy',
    });
  return undefined;
}

/** Any HTTP answer means reachable; else why not. */
async function httpReachable(url: string, timeoutMs: number): Promise<true | string> {
  const { request } = await import('undici');
  try {
    const res = await request(url, {
      method: 'GET',
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    await res.body.dump();
    return true;
  } catch (e) {
    const err = e as { name?: string; code?: string; cause?: { code?: string }; message?: string };
    const code = err.code ?? err.cause?.code;
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return `no answer within ${timeoutMs / 1000} s`;
    return code === 'ECONNREFUSED' ? 'connection refused' : (code ?? err.message ?? String(e));
  }
}

/** What `worker start` would run: resolves the plan as it does, then checks the proxy config it would serve. */
async function planCheck(
  ctx: CliContext,
  cfg: KubiyaConfigFile | undefined,
  context: KubiyaContext | undefined,
  queueId: string | undefined,
  queue: QueueConfigResult | undefined,
  add: (c: Check) => void,
): Promise<ProxyPlan | undefined> {
  const { resolveProxyPlan } = await import('../../../config/resolve.js');
  let plan: ProxyPlan;
  try {
    plan = await resolveProxyPlan({
      queueId: queueId ?? 'doctor',
      flags: {},
      env: ctx.env,
      cwd: ctx.cwd,
      context,
      contextFile: cfg?.path,
      // the control plane was asked once already (above); without a queue id there is nothing to ask
      fetchQueue: async () => queue ?? { ok: false, reason: 'no --queue-id given' },
    });
  } catch (e) {
    if (!isUserError(e)) throw e;
    add({ name: 'proxy config', status: 'fail', detail: e.message, fix: e.hint ?? 'kubiya proxy validate FILE' });
    return undefined;
  }
  if (plan.mode !== 'local-proxy' || !plan.config) {
    add({
      name: 'proxy config',
      status: 'ok',
      detail: `no local proxy: the worker uses the LLM gateway ${plan.gatewayUrl}`,
    });
    return plan;
  }
  const loaded = plan.config;
  const { inspectConfig } = await import('../../../engine/index.js');
  const seen = await inspectConfig(loaded, ctx.env);
  const where = `${loaded.source} (from ${plan.configSource?.level ?? 'config'})`;
  if (seen.servedModels.length === 0)
    add({
      name: 'proxy config',
      status: 'fail',
      detail: `${where} serves no model${seen.warnings.length ? `: ${listWarnings(seen.warnings)}` : ''}`,
      fix: `kubiya proxy validate ${loaded.source}`,
    });
  else if (seen.warnings.length)
    add({
      name: 'proxy config',
      status: 'warn',
      detail: `${where} serves ${seen.servedModels.join(', ')}; but ` + listWarnings(seen.warnings),
      fix: 'set the missing credentials in the environment (os.environ/NAME), or see kubiya proxy validate',
    });
  else add({ name: 'proxy config', status: 'ok', detail: `${where} serves ${seen.servedModels.join(', ')}` });
  return plan;
}

const listWarnings = (ws: { path: string; message: string }[]) => ws.map((w) => `${w.path}: ${w.message}`).join('; ');

/** Redis and the virtual-key store, when the proxy config uses them: reachable before the engine needs them. */
async function storeChecks(plan: ProxyPlan, env: NodeJS.ProcessEnv, add: (c: Check) => void): Promise<void> {
  const loaded = plan.config!;
  const { redisSettings } = await import('../../../engine/redis/settings.js');
  const redis = redisSettings(loaded.config, env);
  if (redis) {
    const node =
      redis.mode === 'single' ? { host: redis.host, port: redis.port } : (redis.nodes[0] ?? redis.sentinels[0]);
    const r = node ? await tcpProbe(node.host, node.port) : 'no node given';
    add(
      r === true
        ? { name: 'redis', status: 'ok', detail: `${node!.host}:${node!.port} (${redis.source}) accepts connections` }
        : {
            name: 'redis',
            status: 'fail',
            detail: `${node ? `${node.host}:${node.port}` : redis.source} (${redis.source}): ${r}`,
            fix: 'start Redis, or fix the redis settings of the config (router_settings.redis_*, REDIS_*)',
          },
    );
  }
  const masterKey = loaded.config.general_settings.master_key || env.LITELLM_MASTER_KEY;
  if (!masterKey) return; // no master key: no store
  const { storeLocation } = await import('../../../engine/governance/governance.js');
  const where = storeLocation(loaded, env);
  if (where.url) {
    let host = '';
    let port = 5432;
    try {
      const u = new URL(where.url);
      host = u.hostname || 'localhost';
      port = Number(u.port || 5432);
    } catch {
      add({ name: 'database', status: 'fail', detail: 'DATABASE_URL is not a URL', fix: 'postgresql://user@host/db' });
      return;
    }
    const r = await tcpProbe(host, port);
    add(
      r === true
        ? { name: 'database', status: 'ok', detail: `Postgres at ${host}:${port} accepts connections` }
        : {
            name: 'database',
            status: 'fail',
            detail: `Postgres at ${host}:${port}: ${r}`,
            fix: 'start Postgres, or fix DATABASE_URL / general_settings.database_url',
          },
    );
    return;
  }
  const { loadSqlite } = await import('../../../engine/governance/db/open.js');
  try {
    const driver = await loadSqlite();
    const how = driver.name === 'better-sqlite3' ? 'better-sqlite3 loads' : "Node's built-in node:sqlite";
    add({ name: 'database', status: 'ok', detail: `SQLite at ${where.path} (${how})` });
  } catch (e) {
    add({
      name: 'database',
      status: 'fail',
      detail: (e as Error).message,
      fix:
        'npm install -g better-sqlite3@12 --allow-scripts=better-sqlite3, or use Node 22+ (built-in node:sqlite), ' +
        'or set DATABASE_URL (Postgres)',
    });
  }
}

/** The engine binds a free loopback port; `proxy start` defaults to 4000. */
async function portChecks(add: (c: Check) => void): Promise<void> {
  const free = await canBind(0);
  if (free !== true) {
    add({
      name: 'ports',
      status: 'fail',
      detail: `cannot bind 127.0.0.1: ${free}`,
      fix: 'check the loopback interface',
    });
    return;
  }
  const d = await canBind(4000);
  add(
    d === true
      ? { name: 'ports', status: 'ok', detail: '127.0.0.1 binds; port 4000 (proxy start default) is free' }
      : {
          name: 'ports',
          status: 'warn',
          detail: `127.0.0.1 binds, but port 4000 (proxy start default) is taken (${d}); worker start picks a free one`,
          fix: 'kubiya proxy start --port 0 (any free port) or another --port',
        },
  );
}

function canBind(port: number): Promise<true | string> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function tcpProbe(host: string, port: number): Promise<true | string> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (r: true | string) => {
      sock.destroy();
      resolve(r);
    };
    sock.setTimeout(PROBE_MS, () => done(`no answer within ${PROBE_MS / 1000} s`));
    sock.once('connect', () => done(true));
    sock.once('error', (e: NodeJS.ErrnoException) =>
      done(e.code === 'ECONNREFUSED' ? 'connection refused' : (e.code ?? e.message)),
    );
  });
}
