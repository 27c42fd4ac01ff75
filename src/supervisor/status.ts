import fs from 'node:fs';
import { STATUS_PROOF_HEADER } from '../engine/child-contract.js';
import type { ContainerRecord } from './docker/container.js';
import { probeEngine } from './engine.js';
import { isOurs } from './identity.js';
import { type PidInfo, readPidFile } from './pid-file.js';
import { queuePaths } from './queue-dir.js';
import { staleReason } from './queue-lock.js';
import { type EngineUsage, readUsageToken, usageOf } from './usage.js';

/** One queue's state as `worker status` / `worker list` report it. */
export interface QueueStatus {
  queue_id: string;
  /** running: live supervisor; stale: pid file of a dead supervisor; stopped: no pid file */
  state: 'running' | 'stopped' | 'stale';
  worker_dir: string;
  mode?: PidInfo['mode'];
  supervisor_pid?: number;
  started_at?: string;
  uptime_seconds?: number;
  /**
   * healthy: the engine answers ready; verified: it proved it holds this run's usage token (else only a 200
   * was seen: no readable token); port_taken: something else answers on its port (no proof)
   */
  engine?: (NonNullable<PidInfo['engine']> & { healthy: boolean; verified: boolean; port_taken?: true }) | null;
  gateway_url?: string;
  /** the default worker's installed package version (absent for a worker command of one's own) */
  package_version?: string;
  /** `--type docker`: worker.container has the container's live `state` (running, exited, gone, ...) */
  worker?: Omit<PidInfo['worker'], 'container'> & { alive: boolean; container?: ContainerRecord & { state: string } };
  logs: Record<'worker' | 'proxy' | 'supervisor', { path: string; bytes: number | null }>;
  /**
   * requests, failures, tokens and USD since the engine started (a running local-proxy queue); null when
   * the engine is down or did not answer
   */
  usage?: EngineUsage | null;
  /** what is wrong with the queue's files, when something is */
  problem?: string;
  /** --auto-update: on or off, and its last check (a running queue) */
  auto_update?: PidInfo['auto_update'];
}

function size(file: string): number | null {
  try {
    return fs.statSync(file).size;
  } catch {
    return null;
  }
}

/** Gather a queue's status from its pid file, the process table and the proxy's /health/readiness. */
export async function queueStatus(queueId: string, env: NodeJS.ProcessEnv = process.env): Promise<QueueStatus> {
  const p = queuePaths(queueId, env);
  const info = readPidFile(p.pidFile);
  const logs = {
    worker: { path: p.workerLog, bytes: size(p.workerLog) },
    proxy: { path: p.proxyLog, bytes: size(p.proxyLog) },
    supervisor: { path: p.supervisorLog, bytes: size(p.supervisorLog) },
  };
  if (!info && fs.existsSync(p.pidFile)) {
    // a pid file nobody can read says nothing about what runs: not "stopped"
    return {
      queue_id: queueId,
      state: 'stale',
      worker_dir: p.dir,
      logs,
      problem: `${p.pidFile} is unreadable or not a kubiya pid file`,
    };
  }
  if (!info) return { queue_id: queueId, state: 'stopped', worker_dir: p.dir, logs };
  const running = isOurs(info.supervisor_pid, info.supervisor_identity);
  // --type docker: the container's own state, from the engine it runs on
  const { container: rec, ...workerInfo } = info.worker;
  const containerState = rec && (await import('./docker/container.js').then((m) => m.containerState(rec)));
  // a child still running after its supervisor died (SIGKILL): say so, `worker stop` ends it
  const workerAlive = rec ? containerState === 'running' : isOurs(info.worker.pid, info.worker.identity);
  const engineAlive = isOurs(info.engine?.pid, info.engine?.identity);
  const orphans = [
    workerAlive && (rec ? `worker container ${rec.id.slice(0, 12)}` : `worker pid ${info.worker.pid}`),
    engineAlive && `engine pid ${info.engine?.pid}`,
  ]
    .filter(Boolean)
    .join(' and ');
  const problem = running ? undefined : `${staleReason(info)}${orphans ? `; orphaned ${orphans} still running` : ''}`;
  const started = Date.parse(info.started_at);
  const url = running && info.engine?.pid ? info.engine.url : null;
  // the run's engine proves it holds the usage token (an HMAC of a fresh challenge: the token is never sent),
  // so a process that took its port is told apart, and is never sent the token for the usage below
  const token = url ? readUsageToken(p.usageToken) : undefined;
  const probe = url
    ? await probeEngine(url, 1500, token ? { key: token, header: STATUS_PROOF_HEADER } : undefined)
    : 'down';
  const usage = token && (probe === 'ready' || probe === 'not-ready') ? await usageOf(url!, token, 1500) : undefined;
  const engine = info.engine && {
    ...info.engine,
    healthy: probe === 'ready',
    verified: probe !== 'down' && probe !== 'other' && token !== undefined,
    ...(probe === 'other' ? { port_taken: true as const } : {}),
  };
  return {
    queue_id: queueId,
    state: running ? 'running' : 'stale',
    worker_dir: p.dir,
    mode: info.mode,
    supervisor_pid: info.supervisor_pid,
    started_at: info.started_at,
    uptime_seconds:
      running && Number.isFinite(started) ? Math.max(0, Math.round((Date.now() - started) / 1000)) : undefined,
    engine: engine ?? null,
    gateway_url: info.gateway_url,
    ...(info.package_version ? { package_version: info.package_version } : {}),
    worker: {
      ...workerInfo,
      alive: workerAlive,
      ...(rec ? { container: { ...rec, state: containerState || '?' } } : {}),
    },
    logs,
    ...(problem ? { problem } : {}),
    ...(running && info.engine ? { usage: usage ?? null } : {}),
    ...(running ? { auto_update: info.auto_update ?? { enabled: false } } : {}),
  };
}

/** "3h04m", "5m07s", "12s". */
export function formatUptime(s: number | undefined): string {
  if (s === undefined) return '-';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

/** "1.2 MiB", "512 B". */
export function formatBytes(n: number | null): string {
  if (n === null) return '-';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
