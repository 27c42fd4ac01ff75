/**
 * The supervisor's safety net: a bug in it (an uncaught exception, an unhandled rejection) stops the worker
 * and the engine before the supervisor exits, so no child is left running unknown to `worker stop`, and
 * `worker status` tells the truth afterwards. The fault is injected from outside the product: a preload
 * module (worker-fixtures/fault-preload.cjs) that throws in the supervisor process on a trigger file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlive } from '../../src/supervisor/process-tree.js';
import {
  cli,
  cliInProcess,
  FIXTURES,
  pidFile,
  queueFile,
  readOr,
  spawnCli,
  startArgs,
  testEnv,
  testHome,
  until,
} from './worker-helpers.js';

const LOOP = ['node', path.join(FIXTURES, 'loop-worker.mjs')];

function faultEnv(home: string, queue: string, kind: 'throw' | 'reject') {
  const trigger = path.join(home, 'fault-now');
  const env = testEnv(home, {
    NODE_OPTIONS: `--require ${path.join(FIXTURES, 'fault-preload.cjs')}`,
    FAULT: kind,
    FAULT_QUEUE: queue,
    FAULT_TRIGGER: trigger,
  });
  return { env, fire: () => fs.writeFileSync(trigger, '') };
}

describe.concurrent('a fault in the supervisor', { timeout: 60_000 }, () => {
  it('foreground, uncaught exception: the worker is stopped in order, then the engine, and it exits 70', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const { env, fire } = faultEnv(h, 'ft-1', 'throw');
    const p = spawnCli(startArgs('ft-1', LOOP), env);
    await until(() => /call ok/.test(p.out()), 'a successful call');
    const info = pidFile(h, 'ft-1')!;
    fire();
    const r = await p.done;
    expect(r.code, r.stderr).toBe(70);
    expect(r.stderr).toContain('internal error in the supervisor: Error: injected fault');
    // stopped before the supervisor exited, not left to die (or not) on their own
    expect(isAlive(info.worker.pid)).toBe(false);
    expect(isAlive(info.engine.pid)).toBe(false);
    expect(readOr(queueFile(h, 'ft-1', 'worker.log'))).toContain('got SIGTERM');
    expect(pidFile(h, 'ft-1')).toBeUndefined();
    const status = await cliInProcess(['worker', 'status', '--queue-id', 'ft-1'], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/stopped/);
  });

  it('daemon, unhandled rejection: the same, and the reason is in supervisor.log', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const { env, fire } = faultEnv(h, 'ft-2', 'reject');
    const started = await cli(startArgs('ft-2', LOOP, { daemon: true }), env);
    expect(started.code, started.stderr).toBe(0);
    const info = pidFile(h, 'ft-2')!;
    // once the worker runs (its SIGTERM handler set), so its orderly stop shows in its log
    await until(() => /call ok/.test(readOr(queueFile(h, 'ft-2', 'worker.log'))), 'a successful call');
    fire();
    await until(() => !isAlive(info.supervisor_pid), 'the supervisor to exit');
    expect(isAlive(info.worker.pid)).toBe(false);
    expect(isAlive(info.engine.pid)).toBe(false);
    expect(readOr(queueFile(h, 'ft-2', 'worker.log'))).toContain('got SIGTERM');
    expect(readOr(queueFile(h, 'ft-2', 'supervisor.log'))).toContain(
      'internal error in the supervisor: Error: injected fault',
    );
    expect(pidFile(h, 'ft-2')).toBeUndefined();
    const status = await cliInProcess(['worker', 'status', '--queue-id', 'ft-2'], env);
    expect(status.stdout).toMatch(/stopped/);
  });
});
