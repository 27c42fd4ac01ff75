import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { maskCommandLine } from '../config/litellm/secrets.js';
import type { ProxyPlan, WorkerStartOptions } from '../config/plan.js';
import { defaultModel, resolveProxyPlan } from '../config/resolve.js';
import { WORKER_PACKAGE } from '../config/worker-package.js';
import { controlPlaneTimeoutMs, fetchQueueConfig, type QueueConfigResult } from '../control-plane/client.js';
import { LOCAL_KEY_ENV } from '../engine/child-contract.js';
import type { ReloadReport } from '../engine/index.js';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { AutoUpdater, PipPackages, short } from './auto-update.js';
import { type ChildExit, describeExit, exitStatus, type Spawned, spawnChild } from './child.js';
import { HOST_ALIAS, removeQueueContainers, startContainer } from './docker/container.js';
import { bridgeGateway, DockerApi, dockerEndpoint } from './docker/engine-api.js';
import { type EngineSpec, EngineStartError, spawnEngine } from './engine.js';
import { identityOf } from './identity.js';
import type { SupervisorIo } from './io.js';
import { type PidInfo, removePidFile, writePidFile } from './pid-file.js';
import { envNumber, RestartTracker, restartPolicy } from './policy.js';
import { isAlive, signalAll, terminateTree, treeOf } from './process-tree.js';
import { ensureQueueDir, type QueuePaths } from './queue-dir.js';
import { acquireQueue } from './queue-lock.js';
import { RotatingLog } from './rotating-log.js';
import { fetchUsage, newUsageToken, usageSummary } from './usage.js';
import { newPageToken, WorkerPage } from './webui.js';
import { workerNotFound } from './worker-command.js';
import { type Endpoint, engineKey, gatewayEndpoint, newLocalKey, workerEnv } from './worker-env.js';
import { localRun, type WorkerRun } from './worker-run.js';

/** After its drain budget the engine closes what is left and exits; it is SIGKILLed only this much later. */
const DRAIN_MARGIN_MS = 2000;

/** Everything one supervisor run needs. */
export interface SuperviseRequest {
  plan: ProxyPlan;
  options: WorkerStartOptions;
  /** the resolved worker command */
  command: string[];
  daemon: boolean;
  /** called once the engine is ready and the worker started (the daemon's handshake) */
  onReady?: (info: PidInfo) => void;
  /** status lines for the user (foreground: the terminal; daemon: supervisor.log) */
  say: (message: string) => void;
  /** the environment children inherit and the terminal a foreground run echoes to */
  io: SupervisorIo;
}

/**
 * Run and watch the engine and the worker until the worker is done or a stop is requested;
 * resolves to the exit code for the CLI. Throws UserError when the queue is taken or the engine
 * cannot start (then no worker is started).
 */
export class Supervisor {
  private readonly paths: QueuePaths;
  private readonly info: PidInfo;
  private stopSignal?: NodeJS.Signals;
  private wakeStop!: () => void;
  private readonly stopped = new Promise<void>((r) => (this.wakeStop = r));
  private engineChild?: Spawned;
  private worker?: WorkerRun;
  /** `--type docker`: the Engine API client, and the bridge gateway the proxy engine listens on */
  private docker?: { api: DockerApi; host?: string };
  private proxyLog?: RotatingLog;
  private workerLog?: RotatingLog;
  /** the drain budget: the engine's --drain-timeout; it is killed only a margin after it */
  private readonly drainMs: number;
  /** opens the engine's GET /kubiya/usage (see usage.ts) */
  private usageToken?: string;
  /** the worker's key for this run's engine, which requires it (see newLocalKey); renewed when the engine moves */
  private localKey = newLocalKey();
  /** where the worker's calls go (the engine's URL changes when its port was taken: see moveEngine) */
  private endpoint?: Endpoint;
  /** the worker is being stopped to start again (why: a new endpoint, a new package), not because it failed */
  private workerRestart?: string;
  /** --auto-update's checker (see auto-update.ts) */
  private updater?: AutoUpdater;
  /** the worker's web page (see webui.ts) */
  private page?: WorkerPage;

  constructor(private readonly req: SuperviseRequest) {
    this.paths = ensureQueueDir(req.plan.queueId, req.io.env);
    this.drainMs =
      req.options.drainSeconds !== undefined
        ? req.options.drainSeconds * 1000
        : envNumber(req.io.env, 'KUBIYA_ENGINE_DRAIN_MS', 0) || 30_000;
    const local = req.plan.mode !== 'gateway';
    this.info = {
      supervisor_pid: process.pid,
      supervisor_identity: identityOf(process.pid),
      queue_id: req.plan.queueId,
      worker_dir: this.paths.dir,
      started_at: new Date().toISOString(),
      mode: req.daemon ? 'daemon' : 'foreground',
      grace_s: req.options.graceSeconds,
      drain_timeout_s: this.drainMs / 1000,
      engine: local ? { pid: null, port: null, url: null, state: 'starting', restarts: 0 } : null,
      worker: {
        pid: null,
        command: maskCommandLine(
          req.options.type === 'docker' && req.command.length === 0 ? ["(the image's own command)"] : req.command,
          [req.plan.apiKey, ...(req.plan.config?.secretValues ?? [])],
        ),
        state: 'waiting',
        restarts: 0,
      },
      logs: {
        worker: this.paths.workerLog,
        proxy: local ? this.paths.proxyLog : null,
        supervisor: this.paths.supervisorLog,
      },
    };
    if (!local) this.info.gateway_url = req.plan.gatewayUrl;
    this.info.auto_update = { enabled: false };
    if (req.options.installedPackageVersion) this.info.package_version = req.options.installedPackageVersion;
  }

  /** Ask for an orderly stop (first call), or force it (second call). */
  requestStop(signal: NodeJS.Signals): void {
    if (this.stopSignal) {
      this.req.say('second signal: killing the worker and the proxy now');
      this.worker?.kill();
      signalAll(this.engineChild ? treeOf(this.engineChild.pid) : [], 'SIGKILL');
      return;
    }
    this.stopSignal = signal;
    this.req.say(`${signal}: stopping the worker, then the proxy (press Ctrl-C again to force)`);
    this.wakeStop();
    // an engine still starting has no worker to wait for: stop it now
    if (this.engineChild && this.info.engine?.state === 'starting')
      void terminateTree(this.engineChild.pid, this.drainMs + DRAIN_MARGIN_MS);
  }

  /** Foreground: children's lines also go to the terminal behind a coloured prefix. Daemon: log files only. */
  private echo(prefix: string, color: 'cyan' | 'magenta') {
    const { daemon, io, options } = this.req;
    return daemon || options.quiet
      ? undefined
      : { prefix: io.color[color](prefix), stdout: io.stdout, stderr: io.stderr };
  }

  /** The queue's usage since the engine started, one line, before the engine stops (when it answers). */
  private async sayUsage(): Promise<void> {
    const url = this.info.engine?.state === 'running' ? this.info.engine.url : null;
    const u = url ? await fetchUsage(url, this.paths.usageToken, 1000) : undefined;
    if (u) this.req.say(usageSummary(this.req.plan.queueId, u));
  }

  private save(): void {
    writePidFile(this.paths.pidFile, this.info);
  }

  /** Run to completion; returns the exit code. */
  async run(): Promise<number> {
    const { plan, options } = this.req;
    await acquireQueue(this.paths, this.info, this.req.say);
    let engineTask: Promise<void> = Promise.resolve();
    try {
      this.workerLog = new RotatingLog(
        this.paths.workerLog,
        options.maxLogSizeBytes,
        options.maxLogBackups,
        this.req.say,
      );
      if (options.type === 'docker') await this.connectDocker();
      if (plan.mode === 'gateway') {
        this.endpoint = gatewayEndpoint(plan);
      } else {
        const engine = await this.startFirstEngine();
        if (!engine) return this.stopExitCode();
        this.endpoint = { base: this.workerBase(engine.url), key: engineKey(plan, this.localKey) };
        engineTask = this.watchEngine(engine.port);
      }
      await this.startPage();
      this.startUpdater();
      const code = await this.runWorker();
      await this.shutdown(engineTask);
      return code;
    } catch (e) {
      await this.shutdown(engineTask);
      throw e;
    } finally {
      await this.page?.close();
      this.proxyLog?.close();
      this.workerLog?.close();
      this.removeRunFiles();
    }
  }

  /**
   * The worker's web page on 127.0.0.1 (unless --no-webui): its URL with the run's token goes to the terminal
   * (foreground) and to webui.url (0600, for a daemon's parent and `worker status`); a page that cannot listen
   * is said, and the run goes on without it.
   */
  private async startPage(): Promise<void> {
    const { plan, options } = this.req;
    if (options.webui === false) return;
    const sup = this;
    const page = new WorkerPage(
      {
        port: options.webuiPort ?? 0,
        info: () => this.info,
        defaultModel: defaultModel(plan),
        // read at each update: --auto-update may reload the config meanwhile (the package version is in info)
        get servedModels() {
          return sup.req.plan.servedModels;
        },
        usage: async () => {
          const url = this.info.engine?.state === 'running' ? this.info.engine.url : null;
          return url ? fetchUsage(url, this.paths.usageToken, 1000) : undefined;
        },
      },
      newPageToken(),
    );
    try {
      const url = await page.start();
      this.page = page;
      writeFileAtomic(this.paths.webuiUrl, `${url}\n`, 0o600);
      this.info.webui = page.url;
      this.save();
      if (!this.req.daemon) this.req.say(`worker page: ${url}`);
    } catch (e) {
      this.req.say(`the worker page could not listen (${(e as Error).message}); running without it`);
    }
  }

  /** The files of this run; the pid file last, once nothing it names runs any more. */
  private removeRunFiles(): void {
    fs.rmSync(this.paths.portFile, { force: true });
    fs.rmSync(this.paths.webuiUrl, { force: true });
    if (this.usageToken) fs.rmSync(this.paths.usageToken, { force: true });
    removePidFile(this.paths.pidFile, process.pid);
  }

  /**
   * The safety net (SupervisorIo.onFault): the supervisor hit an uncaught exception or unhandled rejection and
   * is about to exit. Its children run detached, in their own process groups, so they would outlive it: stop
   * them the orderly way (the worker's tree within its grace, then the engine within its drain budget; SIGKILL
   * after), directly from what this run spawned, whatever state the run's own loops are in. The loops see a
   * stop and restart nothing. The pid file goes once nothing it names runs (then `worker status` says stopped,
   * which is the truth); should a child survive even SIGKILL, it stays with its states set, and `status` names
   * that child as an orphan still running.
   */
  async fail(err: unknown): Promise<void> {
    const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
    this.req.say(`internal error in the supervisor: ${detail}`);
    this.req.say('stopping the worker and the proxy before exiting');
    if (!this.stopSignal) {
      this.stopSignal = 'SIGTERM';
      this.wakeStop();
    }
    const left: string[] = [];
    const worker = this.worker;
    if (worker) {
      await worker.stop(this.req.options.graceSeconds * 1000);
      left.push(...worker.leftovers());
      this.info.worker.state = 'stopped';
    }
    const engine = this.engineChild;
    if (engine) {
      await terminateTree(engine.pid, this.drainMs + DRAIN_MARGIN_MS);
      left.push(
        ...treeOf(engine.pid)
          .filter(isAlive) // not the zombies the run has not reaped yet
          .map((p) => `pid ${p}`),
      );
      if (this.info.engine) this.info.engine.state = 'stopped';
    }
    if (left.length === 0) return this.removeRunFiles();
    this.save();
    this.req.say(`could not stop ${left.join(', ')}; \`kubiya worker stop\` retries`);
  }

  private engineSpec(): EngineSpec {
    const { plan } = this.req;
    return {
      configFile: this.paths.config,
      host: this.docker?.host,
      portFile: this.paths.portFile,
      logFile: this.paths.proxyLog,
      env: {
        ...this.req.io.env,
        ...(plan.config?.environment ?? {}),
        KUBIYA_USAGE_TOKEN: this.usageToken,
        [LOCAL_KEY_ENV]: this.localKey,
      },
      timeoutMs: plan.proxyTimeoutSeconds * 1000,
      drainMs: this.drainMs,
      maxRetries: plan.proxyMaxRetries,
      sink: { log: this.proxyLog!, echo: this.echo('[proxy]', 'magenta') },
      onSpawn: (child) => {
        this.engineChild = child;
        // recorded before it binds, so a stop (or the clean-up after a crash) can reach an engine still starting
        if (this.info.engine && child.pid > 0) {
          Object.assign(this.info.engine, { pid: child.pid, identity: identityOf(child.pid) });
          this.save();
        }
      },
    };
  }

  private async startFirstEngine() {
    const { plan, options } = this.req;
    writeFileAtomic(this.paths.config, stringify(plan.config?.raw ?? {}), 0o600);
    this.usageToken = newUsageToken(this.paths.usageToken);
    this.proxyLog = new RotatingLog(this.paths.proxyLog, options.maxLogSizeBytes, options.maxLogBackups, this.req.say);
    this.proxyLog.write(
      `--- ${new Date().toISOString()} kubiya supervisor ${process.pid}: starting the proxy engine\n`,
    );
    let engine: Awaited<ReturnType<typeof spawnEngine>>;
    try {
      engine = await spawnEngine(this.engineSpec(), 0);
    } catch (e) {
      if (this.stopSignal) return undefined; // stopped while starting: not a failure
      throw e;
    }
    this.info.engine = {
      pid: engine.pid,
      identity: identityOf(engine.pid),
      port: engine.port,
      url: engine.url,
      state: 'running',
      restarts: 0,
    };
    this.save();
    this.req.say(`proxy ready at ${engine.url} (pid ${engine.pid})`);
    if (this.stopSignal) {
      await terminateTree(engine.pid, this.drainMs + DRAIN_MARGIN_MS);
      return undefined;
    }
    return engine;
  }

  /**
   * Restart the engine on the same port whenever it dies, until a stop or the crash-loop limit; on a new
   * port when another process took it (moveEngine).
   */
  private async watchEngine(startPort: number): Promise<void> {
    let port = startPort;
    const tracker = new RestartTracker(restartPolicy(this.req.io.env));
    const eng = this.info.engine!;
    for (;;) {
      const exit = await Promise.race([this.engineChild!.exited, this.stopped.then(() => undefined)]);
      if (!exit || this.stopSignal) return;
      let why = `stopped (${describeExit(exit)})`;
      eng.last_exit = describeExit(exit);
      for (;;) {
        const delay = tracker.crashed();
        if (delay === undefined) {
          eng.state = 'crash-loop';
          eng.pid = null;
          this.save();
          this.req.say(
            `the proxy engine keeps crashing (${tracker.consecutive} restarts in a row); giving up restarting it`,
          );
          this.proxyLog?.write(
            `--- kubiya supervisor: crash-loop limit reached after ${tracker.consecutive} restarts; not restarting\n`,
          );
          return;
        }
        eng.state = 'restarting';
        eng.pid = null;
        eng.restarts = tracker.total;
        this.save();
        this.req.say(`the proxy engine ${why}; restart ${tracker.total} on port ${port} in ${delay} ms`);
        await Promise.race([sleep(delay), this.stopped]);
        if (this.stopSignal) return;
        try {
          this.proxyLog?.write(
            `--- ${new Date().toISOString()} kubiya supervisor: restarting the proxy engine on port ${port}\n`,
          );
          const engine = await spawnEngine(this.engineSpec(), port);
          tracker.started();
          Object.assign(eng, { pid: engine.pid, identity: identityOf(engine.pid), state: 'running' });
          this.save();
          this.req.say(`proxy restarted at ${engine.url} (pid ${engine.pid})`);
          break;
        } catch (e) {
          if (this.stopSignal) return;
          if (e instanceof EngineStartError && e.portInUse) {
            try {
              port = await this.moveEngine(port);
              tracker.started();
              break;
            } catch {
              /* no engine on a new port either: counted as a failed restart */
            }
          }
          const firstLine = (e as Error).message.split('\n')[0];
          why = `could not restart: ${firstLine.replace(/^the proxy engine did not start: /, '')}`;
        }
      }
    }
  }

  /**
   * Another process took the engine's port while it was down: it answers there instead (it cannot prove
   * the local key, and it has seen the worker's). Start the engine on a fresh port with a fresh key, say so
   * loudly (and in `worker status`), and restart the worker with the new URL; its calls fail meanwhile.
   */
  private async moveEngine(oldPort: number): Promise<number> {
    this.localKey = newLocalKey();
    const engine = await spawnEngine(this.engineSpec(), 0);
    const note =
      `port ${oldPort} was taken by another process: the proxy moved to port ${engine.port} with a new key ` +
      'and the worker was restarted';
    Object.assign(this.info.engine!, {
      pid: engine.pid,
      identity: identityOf(engine.pid),
      port: engine.port,
      url: engine.url,
      state: 'running',
      note,
    });
    this.endpoint = { base: this.workerBase(engine.url), key: engineKey(this.req.plan, this.localKey) };
    this.save();
    this.req.say(`WARNING: ${note}`);
    this.proxyLog?.write(`--- ${new Date().toISOString()} kubiya supervisor: ${note}\n`);
    if (this.worker && this.info.worker.state === 'running') {
      this.workerRestart = "with the proxy's new URL";
      void this.worker.stop(this.req.options.graceSeconds * 1000);
    }
    return engine.port;
  }

  /** --auto-update: check every interval until the run stops (see auto-update.ts). */
  private startUpdater(): void {
    const au = this.req.options.autoUpdate;
    if (!au) return;
    const { plan, io } = this.req;
    const log = (m: string) => {
      this.req.say(m);
      this.workerLog?.write(`--- ${new Date().toISOString()} kubiya supervisor: ${m}\n`);
    };
    this.updater = new AutoUpdater(
      au.intervalMs,
      {
        fetchQueue: plan.apiKey
          ? () =>
              fetchQueueConfig({
                controlPlaneUrl: this.req.plan.controlPlaneUrl,
                apiKey: plan.apiKey!,
                queueId: plan.queueId,
                timeoutMs: controlPlaneTimeoutMs(io.env),
              })
          : undefined,
        applyConfig: (q, old) => this.applyQueueConfig(q, old, log),
        packages: au.packagePinned ?? new PipPackages(this.paths, WORKER_PACKAGE, io),
        restartWorker: (why) => this.restartWorker(`with ${why}`),
        say: log,
        changed: (state) => {
          this.info.auto_update = state;
          if (state.package_version) this.info.package_version = state.package_version;
          this.save();
        },
      },
      au.startVersion,
    );
    this.info.auto_update = this.updater.state;
    this.save();
    const every = au.intervalMs >= 60_000 ? `${au.intervalMs / 60_000} min` : `${au.intervalMs / 1000} s`;
    this.req.say(`auto-update on: checking the queue's config and the worker package every ${every}`);
    void this.updater.run(this.stopped);
  }

  /**
   * A queue config of a new version: resolve the proxy config again (flags > env > context > queue, as at start)
   * and, when it changed, have the running engine reload it: same port, same key. The snapshot is written first
   * (the engine reads it) and put back when the reload fails, so a later engine restart serves what runs now.
   */
  private async applyQueueConfig(
    q: Extract<QueueConfigResult, { ok: true }>,
    oldVersion: string | undefined,
    log: (m: string) => void,
  ): Promise<string> {
    const au = this.req.options.autoUpdate!;
    const cur = this.req.plan;
    const next = await resolveProxyPlan({
      queueId: cur.queueId,
      flags: { ...au.resolve.flags, apiKey: cur.apiKey },
      env: this.req.io.env,
      cwd: au.resolve.cwd,
      context: au.resolve.context,
      contextFile: au.resolve.contextFile,
      fetchQueue: async () => q,
    });
    const v = `config ${short(oldVersion)} → ${short(q.version)}`;
    if (next.mode !== cur.mode || (next.mode === 'gateway' && next.gatewayUrl !== cur.gatewayUrl)) {
      const line =
        `${v}: the queue now asks for ${next.mode === 'gateway' ? 'the LLM gateway' : 'the local proxy'}, ` +
        'which takes a restart of the queue (`kubiya worker stop`, then start); not applied';
      log(`auto-update: ${line}`);
      return line;
    }
    const same = JSON.stringify(next.config?.raw ?? null) === JSON.stringify(cur.config?.raw ?? null);
    if (same || next.mode === 'gateway') {
      this.req.plan = { ...next, servedModels: cur.servedModels, kubiyaDefaultRoute: cur.kubiyaDefaultRoute };
      return `${v}: proxy config unchanged`;
    }
    const { inspectConfig } = await import('../engine/index.js');
    const seen = await inspectConfig(next.config!, this.req.io.env);
    if (seen.servedModels.length === 0) {
      const w = seen.routeWarnings[0];
      throw new Error(`the new proxy config would serve no model${w ? ` (${w.path}: ${w.message})` : ''}`);
    }
    const before = fs.readFileSync(this.paths.config, 'utf8');
    writeFileAtomic(this.paths.config, stringify(next.config!.raw), 0o600);
    let report: ReloadReport;
    try {
      report = await this.reloadEngine();
    } catch (e) {
      writeFileAtomic(this.paths.config, before, 0o600);
      throw e;
    }
    this.req.plan = {
      ...next,
      servedModels: seen.servedModels,
      kubiyaDefaultRoute: seen.routeOf('kubiya/claude-sonnet-4') ?? null,
    };
    let line =
      `${v}: the proxy reloaded its config at ${this.info.engine?.url} (same URL and key), ` +
      `serving ${report.models.join(', ')}`;
    if (report.restart_needed.length > 0)
      line += `; ${report.restart_needed.join(' and ')} changed too, which applies only when the proxy starts again`;
    const model = defaultModel(cur);
    if (model && seen.routeOf(model) === undefined)
      line += `; WARNING: the worker's model ${model} is not served by the new config`;
    this.proxyLog?.write(`--- ${new Date().toISOString()} kubiya supervisor: auto-update: ${line}\n`);
    log(`auto-update: ${line}`);
    this.updater?.noteUpdate(v);
    return line;
  }

  /** POST /kubiya/reload on the running engine (with the usage token); the engine's report, or why not. */
  private async reloadEngine(): Promise<ReloadReport> {
    const eng = this.info.engine;
    if (eng?.state !== 'running' || !eng.url) throw new Error(`the proxy engine is ${eng?.state ?? 'not running'}`);
    let res: Response;
    try {
      res = await fetch(`${eng.url}/kubiya/reload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.usageToken}` },
        signal: AbortSignal.timeout(15_000),
      });
    } catch (e) {
      throw new Error(`the proxy engine did not answer the reload (${(e as Error).message})`);
    }
    const text = await res.text();
    let body: { error?: { message?: string } } & Partial<ReloadReport> = {};
    try {
      body = JSON.parse(text);
    } catch {
      /* the status says it */
    }
    if (!res.ok) throw new Error(body.error?.message ?? `the proxy engine answered HTTP ${res.status} to the reload`);
    return { models: body.models ?? [], restart_needed: body.restart_needed ?? [], warnings: body.warnings ?? [] };
  }

  /** Stop the worker gracefully (SIGTERM, --grace, SIGKILL); the worker loop starts it again. */
  private async restartWorker(why: string): Promise<void> {
    if (this.stopSignal || !this.worker || this.info.worker.state !== 'running') return;
    this.workerRestart = why;
    await this.worker.stop(this.req.options.graceSeconds * 1000);
  }

  private stopExitCode(): number {
    return this.stopSignal === 'SIGINT' ? 130 : 0;
  }

  /** Start the worker; in daemon mode restart it when it fails. Resolves to its exit status. */
  private async runWorker(): Promise<number> {
    const { command, daemon } = this.req;
    const tracker = new RestartTracker(restartPolicy(this.req.io.env));
    const w = this.info.worker;
    for (let first = true; ; first = false) {
      if (this.stopSignal) return this.stopExitCode();
      this.workerLog!.write(`--- ${new Date().toISOString()} kubiya supervisor: starting ${w.command.join(' ')}\n`);
      this.worker = await this.launchWorker();
      if (this.stopSignal && this.worker.container) {
        // stopped while the container was being created: nothing to wait for
        await this.worker.stop(0);
        return this.stopExitCode();
      }
      tracker.started();
      const pid = this.worker.pid ?? -1;
      Object.assign(w, {
        pid: pid > 0 ? pid : null,
        identity: this.worker.pid !== undefined ? identityOf(pid) : undefined,
        state: 'running',
        restarts: tracker.total,
      });
      this.save();
      if (first) {
        // a command that cannot run at all (spawn failed: no pid) is an error, exit 127, never "started"
        if (this.worker.pid !== undefined && this.worker.pid <= 0) {
          await this.worker.exited;
          throw workerNotFound(command[0]);
        }
        // on a terminal, before the worker's own first lines (its output is echoed only from the next tick)
        const where = this.worker.container
          ? `container ${this.worker.container.id.slice(0, 12)}, ${this.req.options.docker?.image}:` +
            `${this.req.options.docker?.tag}`
          : `pid ${pid}`;
        const started = `worker started (${where}): ${w.command.join(' ')}`;
        if (!daemon) this.req.say(started);
        // a command that exits at once fails here, before the daemon reports success
        const early = await Promise.race([this.worker.exited, sleep(300).then(() => undefined)]);
        if (early && daemon)
          throw new UserError(`the worker exited right away (${describeExit(early)}); see ${this.paths.workerLog}`);
        if (daemon) this.req.say(started);
        this.req.onReady?.(structuredClone(this.info));
      }
      const exit: ChildExit | undefined = await Promise.race([this.worker.exited, this.stopped.then(() => undefined)]);
      if (!exit) return this.stopExitCode();
      w.last_exit = describeExit(exit);
      w.pid = null;
      delete w.container;
      if (this.workerRestart) {
        const why = this.workerRestart;
        this.workerRestart = undefined;
        w.state = 'restarting';
        this.save();
        this.req.say(`worker stopped (${describeExit(exit)}); starting it again ${why}`);
        continue;
      }
      // one task (--single-execution), a foreground run, or a clean exit: done, with the worker's status
      if (!daemon || exit.code === 0 || this.req.options.singleExecution) {
        w.state = 'exited';
        this.save();
        this.req.say(`worker exited (${describeExit(exit)})`);
        return exitStatus(exit);
      }
      const delay = tracker.crashed();
      if (delay === undefined) {
        w.state = 'crash-loop';
        this.save();
        this.req.say(`the worker keeps failing (${tracker.consecutive} restarts in a row); giving up`);
        return exitStatus(exit);
      }
      w.state = 'restarting';
      w.restarts = tracker.total;
      this.save();
      this.req.say(`worker exited (${describeExit(exit)}); restart ${tracker.total} in ${delay} ms`);
      await Promise.race([sleep(delay), this.stopped]);
    }
  }

  /**
   * `--type docker`: reach the Engine API (DOCKER_HOST) and, for a local proxy, find the bridge gateway: the
   * engine listens there (not on 127.0.0.1, which the container cannot reach) and the container reaches it as
   * HOST_ALIAS. Containers a killed run of this queue left are removed first.
   */
  private async connectDocker(): Promise<void> {
    const api = new DockerApi(dockerEndpoint(this.req.io.env));
    this.docker = { api };
    if (this.req.plan.mode !== 'gateway') this.docker.host = await bridgeGateway(api);
    const left = await removeQueueContainers(api, this.req.plan.queueId, this.paths.dir);
    if (left.length > 0) this.req.say(`removed container(s) a previous run left behind: ${left.join(', ')}`);
  }

  /** The worker's base URL for the engine at `engineUrl`: a container reaches the host by HOST_ALIAS. */
  private workerBase(engineUrl: string): string {
    if (!this.docker?.host) return engineUrl;
    const u = new URL(engineUrl);
    u.hostname = HOST_ALIAS;
    return u.origin;
  }

  /** Start one run of the worker: a local process tree, or (`--type docker`) a container. */
  private async launchWorker(): Promise<WorkerRun> {
    const { plan, command, options } = this.req;
    const sink = { log: this.workerLog!, echo: this.echo('[worker]', 'cyan') };
    if (!this.docker) {
      const [cmd, ...args] = command;
      const env = workerEnv(plan, this.endpoint!, this.req.io.env, options.singleExecution);
      return localRun(spawnChild(cmd, args, { env }, sink));
    }
    const d = options.docker!;
    const run = await startContainer(
      this.docker.api,
      {
        queueId: plan.queueId,
        workerDir: this.paths.dir,
        image: `${d.image}:${d.tag}`,
        cmd: options.workerCommand,
        // the worker's variables only: the host's PATH, HOME, ... mean nothing inside the image
        env: workerEnv(plan, this.endpoint!, {}, options.singleExecution),
        hostAddress: this.docker.host ?? 'host-gateway',
      },
      sink,
    );
    this.info.worker.container = {
      id: run.container!.id,
      name: run.container!.name,
      image: `${d.image}:${d.tag}`,
      docker_host: this.docker.api.endpoint.where,
    };
    return run;
  }

  /** Stop in order: the worker (grace, then SIGKILL), then drain the engine. */
  private async shutdown(engineTask: Promise<void>): Promise<void> {
    if (this.worker) await this.worker.stop(this.req.options.graceSeconds * 1000);
    await this.sayUsage(); // the worker is done: its calls are all counted
    if (!this.stopSignal) {
      this.stopSignal = 'SIGTERM';
      this.wakeStop();
    }
    const child = this.engineChild;
    if (this.info.engine) this.info.engine.state = 'stopping';
    if (child) await stopChild(child, this.drainMs + DRAIN_MARGIN_MS);
    await engineTask;
    // a restart that was under way when the stop came
    if (this.engineChild && this.engineChild !== child)
      await stopChild(this.engineChild, this.drainMs + DRAIN_MARGIN_MS);
  }
}

/**
 * Stop a child's process tree, then wait (briefly) until its output pipes are drained, so its last
 * lines ("got SIGTERM") reach the log before the supervisor closes it.
 */
async function stopChild(child: Spawned, graceMs: number): Promise<void> {
  await terminateTree(child.pid, graceMs);
  await Promise.race([child.exited, sleep(2000)]);
}
