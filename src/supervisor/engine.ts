import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  CHALLENGE_HEADER,
  ENGINE_HOST,
  EXIT_CONFIG_REJECTED,
  EXIT_PORT_IN_USE,
  engineChildArgs,
  LOCAL_KEY_ENV,
  PROOF_HEADER,
  READINESS_PATH,
  readinessProof,
  readPortFile,
} from '../engine/child-contract.js';
import { UserError } from '../errors.js';
import { type ChildExit, describeExit, type OutputSink, type Spawned, spawnChild } from './child.js';
import { backoffMs, restartPolicy } from './policy.js';
import { terminateTree } from './process-tree.js';
import { tailLines } from './rotating-log.js';

/** The command that runs the bundled engine: this package's own bin, wherever it is installed. */
export function engineCommand(env: NodeJS.ProcessEnv): string[] {
  const override = env.KUBIYA_ENGINE_BIN; // tests only: a script honouring the same contract
  const bin = override || fileURLToPath(new URL('../../bin/kubiya.js', import.meta.url));
  return [process.execPath, bin];
}

/** A failed engine start: the reason and the last lines of the proxy log. */
export class EngineStartError extends UserError {
  constructor(
    reason: string,
    logFile: string,
    /** the port was taken by another process (exit 98 on every retry) */
    readonly portInUse = false,
  ) {
    const tail = tailLines(logFile, 20);
    const shown = tail.length > 0 ? `\nlast lines of ${logFile}:\n${tail.map((l) => `  ${l}`).join('\n')}` : '';
    super(`the proxy engine did not start: ${reason}${shown}`, { exitCode: 1 });
  }
}

export interface EngineSpec {
  configFile: string;
  /** where the engine listens (default ENGINE_HOST: loopback; `--type docker`: the bridge gateway) */
  host?: string;
  portFile: string;
  logFile: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** the engine's drain budget after SIGTERM (its --drain-timeout) */
  drainMs: number;
  /** how often to retry a start that failed because the port was taken */
  maxRetries: number;
  sink: OutputSink;
  /** told about every engine process as soon as it is spawned (so a stop can reach it) */
  onSpawn?: (child: Spawned) => void;
}

/** A running, ready engine. */
export interface RunningEngine extends Spawned {
  port: number;
  url: string;
}

/**
 * GET the engine's readiness path; true on 200. With `localKey` (the supervisor's), only an answer that
 * proves it holds that key counts (a fresh challenge each time; the key itself is never sent): whatever
 * else listens on the port is not our engine.
 */
export async function engineReady(url: string, timeoutMs = 1000, localKey?: string): Promise<boolean> {
  return (
    (await probeEngine(url, timeoutMs, localKey ? { key: localKey, header: PROOF_HEADER } : undefined)) === 'ready'
  );
}

/**
 * What answers the readiness path at `url`: `ready` (200, and the proof keyed with `proof.key` in
 * `proof.header` when asked for one), `not-ready` (it proved itself, or was not asked to, but said no: draining),
 * `other` (an answer without the proof: another process holds the port) or `down` (no answer in time).
 */
export async function probeEngine(
  url: string,
  timeoutMs: number,
  proof?: { key: string; header: string },
): Promise<'ready' | 'not-ready' | 'other' | 'down'> {
  // a ref'd timer (AbortSignal.timeout's is not): a short-lived CLI must not exit mid-check
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  const challenge = proof ? randomBytes(18).toString('base64url') : undefined;
  try {
    const res = await fetch(`${url}${READINESS_PATH}`, {
      signal: ac.signal,
      headers: challenge ? { [CHALLENGE_HEADER]: challenge } : {},
    });
    await res.arrayBuffer().catch(() => undefined);
    if (proof && challenge && res.headers.get(proof.header) !== readinessProof(proof.key, challenge)) return 'other';
    return res.status === 200 ? 'ready' : 'not-ready';
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}

/** Spawn once and wait for readiness; resolves to the engine or to how it failed. */
async function startOnce(
  spec: EngineSpec,
  port: number,
): Promise<RunningEngine | { exit: ChildExit } | { timeout: true; child: Spawned }> {
  fs.rmSync(spec.portFile, { force: true });
  const [cmd, ...pre] = engineCommand(spec.env);
  const args = [
    ...pre,
    ...engineChildArgs({
      configFile: spec.configFile,
      host: spec.host,
      port,
      portFile: spec.portFile,
      drainTimeoutSeconds: spec.drainMs / 1000,
      parentPid: process.pid,
    }),
  ];
  const child = spawnChild(cmd, args, { env: spec.env }, spec.sink);
  spec.onSpawn?.(child);
  let exit: ChildExit | undefined;
  void child.exited.then((e) => (exit = e));
  const until = Date.now() + spec.timeoutMs;
  while (Date.now() < until) {
    if (exit) return { exit };
    const at = readPortFile(spec.portFile, child.pid);
    if (at && (await engineReady(at.url, 1000, spec.env[LOCAL_KEY_ENV]))) return { ...child, ...at };
    await sleep(100);
  }
  return { timeout: true, child };
}

/**
 * Start the engine on `port` (0: the engine picks a free one and reports it; no probe-then-close
 * race) and wait until /health/readiness answers 200. Retries when the port is taken (exit 98).
 * Throws EngineStartError with the log tail when it cannot.
 */
export async function spawnEngine(spec: EngineSpec, port: number): Promise<RunningEngine> {
  const policy = restartPolicy(spec.env);
  for (let attempt = 0; ; attempt++) {
    const r = await startOnce(spec, port);
    if ('url' in r) return r;
    if ('timeout' in r) {
      await terminateTree(r.child.pid, 2000);
      throw new EngineStartError(
        `not ready within ${Math.round(spec.timeoutMs / 1000)}s (no 200 from /health/readiness)`,
        spec.logFile,
      );
    }
    if (r.exit.code === EXIT_PORT_IN_USE && attempt < spec.maxRetries) {
      await sleep(backoffMs(policy, attempt + 1));
      continue;
    }
    const why =
      r.exit.code === EXIT_PORT_IN_USE
        ? `port ${port} on ${spec.host ?? ENGINE_HOST} is in use`
        : r.exit.code === EXIT_CONFIG_REJECTED
          ? 'the config was rejected'
          : `it exited (${describeExit(r.exit)})`;
    throw new EngineStartError(why, spec.logFile, r.exit.code === EXIT_PORT_IN_USE);
  }
}
