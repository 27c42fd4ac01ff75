/**
 * `worker start --auto-update`: every interval the supervisor asks the control plane for the queue's config
 * version and the worker package for its newest version. A new config is resolved again and reloaded by the
 * running engine (the Supervisor's `applyConfig`); a newer package is installed and the worker restarted
 * gracefully. A failed update leaves what runs in place, is said and logged, and is tried again next interval.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PackageRequest } from '../config/worker-package.js';
import type { QueueConfigResult } from '../control-plane/client.js';
import type { SupervisorIo } from './io.js';
import { installedVersion, installWorkerPackage, run } from './packages.js';
import type { QueuePaths } from './queue-dir.js';

/** The worker package in the queue's venv (another implementation may replace this one: same three calls). */
export interface WorkerPackages {
  /** the version installed now; undefined when it is not installed */
  installedVersion(): Promise<string | undefined>;
  /** the newest version the package index offers; undefined when it offers none */
  latestVersion(): Promise<string | undefined>;
  /** install exactly `version`; rejects with the reason (the installed version stays) */
  install(version: string): Promise<void>;
}

/** What `worker status` shows (kept in worker.pid). */
export interface AutoUpdateState {
  enabled: boolean;
  interval_s?: number;
  /** ISO time of the last check */
  last_check?: string;
  /** one line: what the last check found or did */
  last_result?: string;
  /** the last check failed (it is tried again next interval) */
  failed?: boolean;
  /** the last update applied: `<what> <old> → <new>` at ISO time */
  last_update?: string;
  config_version?: string;
  package_version?: string;
}

/** `pip` in the queue's venv, driven like a user would (its environment: PIP_INDEX_URL, PIP_FIND_LINKS, ...). */
export class PipPackages implements WorkerPackages {
  private readonly name: string;

  constructor(
    private readonly paths: QueuePaths,
    /** the requirement as installed, e.g. `kubiya-control-plane-api[worker]` */
    private readonly requirement: string,
    private readonly io: Pick<SupervisorIo, 'env' | 'stderr'>,
  ) {
    this.name = requirement.replace(/\[.*$/, '');
  }

  async installedVersion(): Promise<string | undefined> {
    return (await installedVersion(this.paths, this.io.env)).version;
  }

  async latestVersion(): Promise<string | undefined> {
    // `pip index versions NAME` (pip 21.2+) prints "NAME (LATEST)" first; it honours the index settings
    const r = await this.pip(['index', 'versions', this.name]);
    if (r.code !== 0) {
      if (/no matching distribution/i.test(r.output)) return undefined;
      throw new Error(`pip index versions ${this.name} failed: ${lastLine(r.output)}`);
    }
    return new RegExp(`^${regexQuote(this.name)}\\s+\\(([^)]+)\\)`, 'mi').exec(r.output)?.[1];
  }

  /** The same install as `worker start`'s (Python checked, pip's errors kept), pinned to `version`. */
  async install(version: string): Promise<void> {
    const request: PackageRequest = {
      kind: 'index',
      spec: `${this.requirement}==${version}`,
      specifier: `==${version}`,
      from: 'auto-update',
    };
    try {
      await installWorkerPackage(this.paths, request, { update: true }, this.io);
    } catch (e) {
      throw new Error(`pip install ${this.name}==${version} failed: ${lastLine((e as Error).message)}`);
    }
  }

  private pip(args: string[]): Promise<{ code: number; output: string }> {
    return run(path.join(this.paths.venv, 'bin', 'pip'), [...args, '--disable-pip-version-check'], this.io.env);
  }
}

function regexQuote(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The last line of pip's output that says something (its ERROR line, usually). */
function lastLine(output: string): string {
  const lines = output.trim().split('\n');
  const errors = lines.filter((l) => /^ERROR:/.test(l));
  return (errors.at(-1) ?? lines.at(-1) ?? '').trim();
}

/**
 * Whether version `a` is newer than `b` (PEP 440 in short: release numbers compared numerically; at an equal
 * release a pre-release or dev suffix is older than none, a post-release newer).
 */
export function isNewer(a: string, b: string): boolean {
  const parse = (v: string) => {
    const m = /^v?(\d+(?:\.\d+)*)(.*)$/.exec(v.trim());
    return { rel: (m?.[1] ?? '0').split('.').map(Number), rest: (m?.[2] ?? '').replace(/^[.-]/, '') };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < Math.max(x.rel.length, y.rel.length); i++) {
    const d = (x.rel[i] ?? 0) - (y.rel[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  const rank = (r: string) => (r === '' ? 1 : r.startsWith('post') ? 2 : 0);
  if (rank(x.rest) !== rank(y.rest)) return rank(x.rest) > rank(y.rest);
  return x.rest > y.rest;
}

/** What the supervisor does for the checker. */
export interface AutoUpdateHooks {
  /** ask the control plane for the queue's config; undefined when it cannot be asked (no API key) */
  fetchQueue?: () => Promise<QueueConfigResult>;
  /** resolve and apply a queue config whose version is new; resolves to what was done, rejects if it failed */
  applyConfig: (queue: Extract<QueueConfigResult, { ok: true }>, oldVersion?: string) => Promise<string>;
  /** the worker package, or why it is not updated */
  packages: WorkerPackages | string;
  /** stop the worker gracefully (SIGTERM, grace, SIGKILL) and start it again */
  restartWorker: (reason: string) => Promise<void>;
  /** a line for the user (terminal or supervisor.log) and the queue's log */
  say: (message: string) => void;
  /** the state changed (saved to worker.pid for `worker status`) */
  changed: (state: AutoUpdateState) => void;
}

export class AutoUpdater {
  readonly state: AutoUpdateState;

  constructor(
    private readonly intervalMs: number,
    private readonly hooks: AutoUpdateHooks,
    /** the queue's config version the running config was resolved from */
    private configVersion?: string,
  ) {
    this.state = { enabled: true, interval_s: intervalMs / 1000, config_version: configVersion };
  }

  /** Check every interval until `stopped` settles. */
  async run(stopped: Promise<void>): Promise<void> {
    let stop = false;
    void stopped.then(() => (stop = true));
    for (;;) {
      await Promise.race([sleep(this.intervalMs, undefined, { ref: false }), stopped]);
      if (stop) return;
      try {
        await this.check();
      } catch (e) {
        // a check must never take the supervisor down (a pid file it could not write, ...): said, tried again
        this.hooks.say(`auto-update: the check failed: ${(e as Error).message}`);
      }
      if (stop) return;
    }
  }

  /** One check: the config first (a new proxy config), then the package (a worker restart). */
  async check(): Promise<void> {
    const found: string[] = [];
    let failed = false;
    let recommended: string | undefined;
    const { hooks } = this;
    if (!hooks.fetchQueue) found.push('config not checked (no API key)');
    else {
      const q = await hooks.fetchQueue();
      if (!q.ok) {
        failed = true;
        found.push(`config not checked: ${q.reason}`);
      } else {
        recommended = q.recommendedPackageVersion;
        const [old, now] = [this.configVersion, q.version ?? ''];
        if (old === now) found.push(`config ${short(now)} unchanged`);
        else {
          try {
            const did = await hooks.applyConfig(q, old);
            this.configVersion = now;
            this.state.config_version = now;
            found.push(did);
          } catch (e) {
            // not recorded as seen: tried again next interval
            failed = true;
            const line = `config ${short(old)} → ${short(now)} not applied: ${(e as Error).message}`;
            hooks.say(`auto-update: ${line}`);
            found.push(line);
          }
        }
      }
    }
    if (typeof hooks.packages === 'string') found.push(`package not updated (${hooks.packages})`);
    else {
      try {
        found.push(await this.checkPackage(hooks.packages, recommended));
      } catch (e) {
        failed = true;
        const line = `package update failed, the running worker stays: ${(e as Error).message}`;
        hooks.say(`auto-update: ${line}`);
        found.push(line);
      }
    }
    Object.assign(this.state, { last_check: new Date().toISOString(), last_result: found.join('; '), failed });
    hooks.changed(this.state);
  }

  /** Install a newer package (the control plane's recommendation, else the index's newest) and restart. */
  private async checkPackage(pkgs: WorkerPackages, recommended?: string): Promise<string> {
    const installed = await pkgs.installedVersion();
    this.state.package_version = installed;
    const target = recommended ?? (await pkgs.latestVersion());
    if (!target || (installed && !isNewer(target, installed))) return `package ${installed ?? '-'} up to date`;
    const change = `worker package ${installed ?? '(none)'} → ${target}`;
    this.hooks.say(`auto-update: installing ${change}`);
    await pkgs.install(target);
    const now = await pkgs.installedVersion();
    if (now !== target) throw new Error(`pip finished, but the installed version is ${now ?? 'none'}, not ${target}`);
    this.state.package_version = now;
    this.state.last_update = `${change} at ${new Date().toISOString()}`;
    this.hooks.say(`auto-update: installed ${change}; restarting the worker`);
    await this.hooks.restartWorker(change);
    return change;
  }

  /** Record an applied config change (the Supervisor says what it did). */
  noteUpdate(what: string): void {
    this.state.last_update = `${what} at ${new Date().toISOString()}`;
  }
}

/** A version for humans: hashes shortened to 12 characters. */
export function short(v: string | undefined): string {
  if (v === undefined || v === '') return '(none)';
  const h = v.replace(/^sha256:/, '');
  return /^[0-9a-f]{20,}$/.test(h) ? h.slice(0, 12) : v;
}
