import cluster from 'node:cluster';
import { type LoadedConfig, loadLiteLLMConfig } from '../../../config/litellm/load.js';
import {
  capYoungGeneration,
  collectAfterBursts,
  EXIT_PORT_IN_USE,
  removeOwnPortFile,
  writePortFile,
} from '../../../engine/child-contract.js';
import { CLUSTER_PORT_ENV } from '../../../engine/cluster/protocol.js';
import type { WorkerLink } from '../../../engine/cluster/worker-link.js';
import { StoreError } from '../../../engine/governance/db/store-error.js';
import type { Change, Governance } from '../../../engine/governance/governance.js';
import { createLogger, engineSecrets, startEngine } from '../../../engine/index.js';
import { redisSettings } from '../../../engine/redis/settings.js';
import { strategyNamed } from '../../../engine/router/strategies/index.js';
import { UserError } from '../../../errors.js';
import type { Handler } from '../../command.js';
import { configSource } from './config-path.js';
import { type StoreFlags, storeEnv } from './store-flags.js';

export interface ProxyStartOptions extends StoreFlags {
  config?: string;
  host: string;
  port: string;
  portFile?: string;
  drainTimeout: string;
  detailedDebug?: boolean;
  detailed_debug?: boolean;
  debug?: boolean;
  jsonLogs?: boolean;
  exitWithParent?: boolean;
  parentPid?: string;
  numWorkers?: string;
  num_workers?: string;
}

/** `--num-workers` / `--num_workers` / NUM_WORKERS (LiteLLM's names); 1 when none is given. */
export function numWorkers(opts: ProxyStartOptions, env: NodeJS.ProcessEnv): number {
  const raw = opts.numWorkers ?? opts.num_workers ?? env.NUM_WORKERS;
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    const from = (opts.numWorkers ?? opts.num_workers) ? '--num-workers' : 'NUM_WORKERS';
    throw new UserError(`${from} must be a whole number of processes from 1 to 256, not "${raw}"`);
  }
  return n;
}

/**
 * `kubiya proxy start`: serve until SIGTERM/SIGINT, then drain and exit 0. This process is the
 * engine's alone (standalone or as the supervisor's child), so it tunes and exits the process itself.
 */
export const proxyStart: Handler<ProxyStartOptions> = async (ctx, opts) => {
  const { env } = ctx;
  const workers = numWorkers(opts, env);
  // a worker of `--num_workers N` (forked by the primary below, with the same arguments): the primary watches
  // the parent and writes the port file; the worker exits when the primary goes (node:cluster does that)
  const isWorker = workers > 1 && cluster.isWorker;
  // a replacement worker binds the port the first ones got (with --port 0, another listen(0) could pick another)
  const pinned = isWorker ? Number(env[CLUSTER_PORT_ENV]) : Number.NaN;
  const port = pinned > 0 ? pinned : Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UserError(`--port must be an integer from 0 to 65535, not "${opts.port}"`);
  const drainS = Number(opts.drainTimeout);
  if (!Number.isFinite(drainS) || drainS < 0)
    throw new UserError(`--drain-timeout must be a number of seconds, not "${opts.drainTimeout}"`);
  // watched from the first instant: a supervisor killed while this engine still starts must not leave it behind
  const parent = opts.exitWithParent && !isWorker ? watchParent(opts.parentPid) : undefined;
  // the store flags act as their environment variables (DATABASE_URL, KUBIYA_DB_PATH, KUBIYA_SKIP_MIGRATIONS)
  Object.assign(env, storeEnv({}, opts));
  const loaded = loadLiteLLMConfig(configSource(opts.config, ctx), { env });
  capYoungGeneration(); // this process is the engine's alone: keep its memory small under load
  collectAfterBursts(); // and give back what bursts of big bodies leave behind
  // like LiteLLM: environment_variables from the config become the engine's environment
  Object.assign(env, loaded.environment);
  const ls = loaded.config.litellm_settings;
  const debug = !!(opts.detailedDebug || opts.detailed_debug || opts.debug || ls.set_verbose);
  const logger = createLogger({
    json: !!(opts.jsonLogs || ls.json_logs),
    level: debug ? 'debug' : 'info',
    secrets: engineSecrets(loaded, env).secretValues,
  });

  const { portFile } = opts;
  if (workers > 1 && !isWorker) {
    // the config loaded above (a bad one fails here, once); the workers load it again and serve
    const { runPrimary } = await import('../../../engine/cluster/primary.js');
    const code = await runPrimary({
      workers,
      logger,
      drainTimeoutMs: drainS * 1000,
      onSignal: (signals, fn) => ctx.onSignal(signals, fn),
      onReady: (a) => {
        const url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${a.port}`;
        if (portFile) writePortFile(portFile, { pid: process.pid, host: opts.host, port: a.port, url });
        logger.info({ url, workers }, 'proxy engine listening');
      },
      started: parent && ((stop) => parent.started(stop)),
    });
    if (portFile) removeOwnPortFile(portFile, process.pid);
    logger.info({ exit_code: code }, 'proxy engine stopped');
    process.exit(code);
  }
  const shared = isWorker ? await workerState(loaded, env) : undefined;

  let engine: Awaited<ReturnType<typeof startEngine>>;
  try {
    engine = await startEngine({
      loaded,
      host: opts.host,
      port,
      logger,
      debug,
      env,
      drainTimeoutMs: drainS * 1000,
      // a reload (SIGHUP, or the supervisor's POST /kubiya/reload) reads the same file again
      reloadConfig: () => loadLiteLLMConfig(configSource(opts.config, ctx), { env }),
      ...shared,
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new UserError(
        `port ${port} on ${opts.host} is already in use (pick another with --port, or --port 0 for a free one)`,
        { exitCode: EXIT_PORT_IN_USE },
      );
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
      throw new UserError(`cannot bind ${opts.host}: no such local address`);
    if (code === 'EACCES') throw new UserError(`not allowed to bind port ${port} (ports below 1024 need privileges)`);
    // the virtual-key store (a master key is set) cannot be opened, reached or migrated
    if (e instanceof StoreError) throw new UserError(e.message, { exitCode: 1 });
    throw e;
  }
  if (shared?.cluster) shareChanges(shared.cluster, engine.governance);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal, drain_timeout_s: drainS }, 'draining: no new connections, finishing in-flight requests');
      engine.close().then(resolve, resolve);
    };
    ctx.onSignal(['SIGTERM', 'SIGINT'], stop);
    // only now the port file: a signal that arrives before its handler is installed kills the process at once
    // (the OS's default), and whoever reads the port file may signal right away
    if (portFile && !isWorker) {
      writePortFile(portFile, { pid: process.pid, host: engine.host, port: engine.port, url: engine.url });
    }
    // SIGHUP reloads the config (one process; a --num_workers cluster restarts instead): the old one stays on error
    if (!shared?.cluster)
      ctx.onSignal(['SIGHUP'], () => {
        engine.reload().catch((e) => {
          logger.warn({}, `config not reloaded, the old one stays in force: ${(e as Error).message}`);
        });
      });
    // the primary's drain order (its own SIGTERM, SIGINT); a Ctrl-C reaches the workers too: one stop
    if (shared?.cluster) {
      shared.cluster.onDrain = () => {
        if (!stopping) stop('SIGTERM');
      };
      if (shared.cluster.drainAsked) stop('SIGTERM');
    }
    parent?.started(() => {
      logger.warn({ parent_pid: parent.pid }, 'the process that started the engine is gone: draining and exiting');
      stop('SIGTERM');
    });
  });
  if (portFile && !isWorker) removeOwnPortFile(portFile, process.pid);
  logger.info({}, 'proxy engine stopped');
  process.exit(0);
};

/**
 * A supervisor that is SIGKILLed cannot stop its engine: the engine notices it was re-parented (its
 * parent is no longer `--parent-pid`, the supervisor's pid: right even if the supervisor died before
 * this process looked) and goes: at once while it still starts, draining once it serves.
 */
function watchParent(parentPid: string | undefined): { pid: number; started: (stop: () => void) => void } {
  const pid = parentPid !== undefined ? Number(parentPid) : process.ppid;
  if (!Number.isInteger(pid) || pid <= 0) throw new UserError(`--parent-pid must be a pid, not "${parentPid}"`);
  let onGone: () => void = () => {
    process.stderr.write(`the process that started the engine (pid ${pid}) is gone: exiting before serving\n`);
    process.exit(0);
  };
  const check = () => {
    if (process.ppid === pid) return;
    clearInterval(timer);
    onGone();
  };
  const timer = setInterval(check, 1000);
  timer.unref();
  check();
  return { pid, started: (stop) => (onGone = stop) };
}

/**
 * A worker's link to the primary, and the state shared through it: without Redis the rate limits and the
 * router's shared state (usage windows, cooldowns) live in the primary; with Redis the engine uses Redis.
 */
async function workerState(loaded: LoadedConfig, env: NodeJS.ProcessEnv) {
  const { WorkerLink } = await import('../../../engine/cluster/worker-link.js');
  const link = new WorkerLink(cluster.worker?.id ?? 0);
  if (redisSettings(loaded.config, env)) return { cluster: link };
  const { IpcRateLimiter } = await import('../../../engine/cluster/ipc-limiter.js');
  const { IpcRouterState } = await import('../../../engine/cluster/ipc-state.js');
  const rs = loaded.config.router_settings.routing_strategy;
  const readsUsage = typeof rs === 'string' && strategyNamed(rs)?.readsUsage === true;
  return { cluster: link, limiter: new IpcRateLimiter(link), state: new IpcRouterState(link, readsUsage) };
}

/** A key blocked, deleted or edited on one worker is forgotten by the others' caches at once. */
function shareChanges(link: WorkerLink, g: Governance | undefined): void {
  if (!g) return;
  let remote = false;
  g.onChange((change) => {
    if (!remote) link.post({ t: 'change', change });
  });
  link.onChange = (change) => {
    remote = true;
    try {
      g.changed(change as Change);
    } finally {
      remote = false;
    }
  };
}
