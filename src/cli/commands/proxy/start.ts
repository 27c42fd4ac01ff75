import { loadLiteLLMConfig } from '../../../config/litellm/load.js';
import {
  capYoungGeneration,
  collectAfterBursts,
  EXIT_PORT_IN_USE,
  removeOwnPortFile,
  writePortFile,
} from '../../../engine/child-contract.js';
import { StoreError } from '../../../engine/governance/db/store-error.js';
import { createLogger, engineSecrets, startEngine } from '../../../engine/index.js';
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
}

/**
 * `kubiya proxy start`: serve until SIGTERM/SIGINT, then drain and exit 0. This process is the
 * engine's alone (standalone or as the supervisor's child), so it tunes and exits the process itself.
 */
export const proxyStart: Handler<ProxyStartOptions> = async (ctx, opts) => {
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UserError(`--port must be an integer from 0 to 65535, not "${opts.port}"`);
  const drainS = Number(opts.drainTimeout);
  if (!Number.isFinite(drainS) || drainS < 0)
    throw new UserError(`--drain-timeout must be a number of seconds, not "${opts.drainTimeout}"`);
  // watched from the first instant: a supervisor killed while this engine still starts must not leave it behind
  const parent = opts.exitWithParent ? watchParent(opts.parentPid) : undefined;
  const { env } = ctx;
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

  let engine: Awaited<ReturnType<typeof startEngine>>;
  try {
    engine = await startEngine({ loaded, host: opts.host, port, logger, debug, env, drainTimeoutMs: drainS * 1000 });
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
  const { portFile } = opts;
  if (portFile) {
    writePortFile(portFile, { pid: process.pid, host: engine.host, port: engine.port, url: engine.url });
  }

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
    parent?.started(() => {
      logger.warn({ parent_pid: parent.pid }, 'the process that started the engine is gone: draining and exiting');
      stop('SIGTERM');
    });
  });
  if (portFile) removeOwnPortFile(portFile, process.pid);
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
