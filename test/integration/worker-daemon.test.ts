import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cli,
  cliInProcess,
  FIXTURES,
  kubiya,
  pidFile,
  processesOf,
  queueFile,
  readOr,
  spawnCli,
  startArgs,
  testEnv,
  testHome,
  until,
} from './worker-helpers.js';

const LOOP = ['node', path.join(FIXTURES, 'loop-worker.mjs')];
/** Live and not a zombie (PID 1 in some containers never reaps orphans). */
const alive = (pid: number) => {
  const stat = readOr(`/proc/${pid}/stat`);
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
};
const okCalls = (h: string, q: string) =>
  readOr(queueFile(h, q, 'worker.log'))
    .split('\n')
    .filter((l) => l.startsWith('call ok')).length;

// Each block's tests run concurrently (each has its own HOME and queues); blocks run one after the
// other, so at most three daemons (CLI, supervisor, engine, worker each) share the two cores.
describe.concurrent('worker start -d (daemon): lifecycle', { timeout: 60_000 }, () => {
  it('starts, reports status and logs, refuses a second start, and stops everything', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const env = testEnv(h);
    const r = await cli(startArgs('d-1', LOOP, { daemon: true }), env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const info = pidFile(h, 'd-1')!;
    expect(r.stdout).toContain(`supervisor pid: ${info.supervisor_pid}`);
    expect(r.stdout).toContain(info.engine.url);
    expect(r.stdout).toContain(queueFile(h, 'd-1', 'worker.log'));
    expect(processesOf(h)).toEqual(expect.arrayContaining([info.supervisor_pid, info.engine.pid, info.worker.pid]));

    await until(() => okCalls(h, 'd-1') > 0, 'a call through the proxy');
    // `logs -n 3` below needs three lines; under load the worker may not have written them yet
    await until(
      () =>
        readOr(queueFile(h, 'd-1', 'worker.log'))
          .trim()
          .split('\n').length >= 3,
      'three log lines',
    );
    const st = await cliInProcess(['worker', 'status', '--queue-id', 'd-1', '--output', 'json'], env);
    const s = JSON.parse(st.stdout);
    expect(s).toMatchObject({
      state: 'running',
      mode: 'daemon',
      supervisor_pid: info.supervisor_pid,
      engine: { healthy: true, url: info.engine.url, restarts: 0 },
      worker: { alive: true },
    });
    expect(s.logs.worker.bytes).toBeGreaterThan(0);

    const logs = await cliInProcess(['worker', 'logs', '--queue-id', 'd-1', '-n', '3'], env);
    expect(logs.stdout.trim().split('\n')).toHaveLength(3);
    expect(logs.stdout).toContain('call ok');

    const again = await cli(startArgs('d-1', LOOP, { daemon: true }), env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`already running (supervisor pid ${info.supervisor_pid})`);

    const list = await cliInProcess(['worker', 'list'], env);
    expect(list.stdout).toMatch(/d-1\s+running\s+daemon/);

    const stop = await cli(kubiya('worker', 'stop', '--queue-id', 'd-1'), env);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toContain('stopped queue d-1');
    expect(readOr(queueFile(h, 'd-1', 'worker.log'))).toContain('got SIGTERM');
    for (const pid of [info.supervisor_pid, info.engine.pid, info.worker.pid])
      expect(alive(pid), `pid ${pid} still alive`).toBe(false);
    expect(pidFile(h, 'd-1')).toBeUndefined();
    const after = await cliInProcess(['worker', 'status', '--queue-id', 'd-1'], env);
    expect(after.stdout).toMatch(/state:\s+stopped/);
  });

  it('stops worker and engine when the daemon supervisor gets SIGTERM', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const env = testEnv(h);
    expect((await cli(startArgs('d-4', LOOP, { daemon: true }), env)).code).toBe(0);
    const info = pidFile(h, 'd-4')!;
    await until(() => okCalls(h, 'd-4') > 0, 'the worker to be up (its SIGTERM handler set)'); // slow starts under load
    process.kill(info.supervisor_pid, 'SIGTERM');
    await until(() => ![info.supervisor_pid, info.engine.pid, info.worker.pid].some(alive), 'all three to exit');
    expect(readOr(queueFile(h, 'd-4', 'worker.log'))).toContain('got SIGTERM');
    expect(pidFile(h, 'd-4')).toBeUndefined();
  });

  it('logs -f follows new worker output until interrupted', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const env = testEnv(h);
    expect((await cli(startArgs('d-9', LOOP, { daemon: true }), env)).code).toBe(0);
    const follow = spawnCli(kubiya('worker', 'logs', '--queue-id', 'd-9', '-f', '-n', '0'), env);
    await until(() => /call ok \d+/.test(follow.out()), 'followed lines');
    follow.kill('SIGINT');
    expect((await follow.done).code).toBe(0);
    const proxy = await cliInProcess(['worker', 'logs', '--queue-id', 'd-9', '--proxy', '-n', '50'], env);
    expect(proxy.stdout).toContain('listening');
    expect((await cli(kubiya('worker', 'stop', '--queue-id', 'd-9'), env)).code).toBe(0);
  });
});

describe.concurrent('worker start -d (daemon): recovery', { timeout: 60_000 }, () => {
  it('cleans up a stale pid file and what the dead supervisor left behind', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const env = testEnv(h);
    expect((await cli(startArgs('d-5', LOOP, { daemon: true }), env)).code).toBe(0);
    const info = pidFile(h, 'd-5')!;
    process.kill(info.supervisor_pid, 'SIGKILL'); // nothing can stop the children in order now
    await until(() => !alive(info.supervisor_pid), 'the supervisor to die');
    const st = await cliInProcess(['worker', 'status', '--queue-id', 'd-5'], env);
    expect(st.stdout).toMatch(/state:\s+stale/);
    // the orphaned engine notices its supervisor is gone and drains itself
    await until(() => !alive(info.engine.pid), 'the orphaned engine to exit by itself', 10_000);
    const r = await cli(startArgs('d-5', LOOP, { daemon: true }), env);
    expect(r.code).toBe(0);
    expect(alive(info.worker.pid)).toBe(false);
    expect(pidFile(h, 'd-5')!.engine.pid).not.toBe(info.engine.pid);
    expect((await cli(kubiya('worker', 'stop', '--queue-id', 'd-5'), env)).code).toBe(0);
  });

  it("restarts a SIGKILLed engine on the same port and the worker's calls succeed again", async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const env = testEnv(h);
    expect((await cli(startArgs('d-2', LOOP, { daemon: true }), env)).code).toBe(0);
    const before = pidFile(h, 'd-2')!;
    await until(() => okCalls(h, 'd-2') > 0, 'a first call');
    process.kill(before.engine.pid, 'SIGKILL');
    const after = await until(() => {
      const p = pidFile(h, 'd-2');
      return p?.engine.state === 'running' && p.engine.pid !== before.engine.pid ? p : undefined;
    }, 'the engine restart');
    expect(after.engine.port).toBe(before.engine.port);
    expect(after.engine.restarts).toBe(1);
    expect(after.worker.pid).toBe(before.worker.pid); // the worker kept running with its URL
    const n = okCalls(h, 'd-2');
    await until(() => okCalls(h, 'd-2') > n + 1, 'calls succeeding after the restart');
    const s = JSON.parse((await cliInProcess(['worker', 'status', '--queue-id', 'd-2', '-o', 'json'], env)).stdout);
    expect(s.engine).toMatchObject({ restarts: 1, last_exit: 'signal SIGKILL', healthy: true });
    expect((await cli(kubiya('worker', 'stop', '--queue-id', 'd-2'), env)).code).toBe(0);
  });

  it('restarts a crashed worker with the same engine', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const env = testEnv(h, { CRASH_AFTER_MS: '700' });
    expect((await cli(startArgs('d-3', LOOP, { daemon: true }), env)).code).toBe(0);
    const before = pidFile(h, 'd-3')!;
    const after = await until(() => {
      const p = pidFile(h, 'd-3');
      return p && p.worker.restarts >= 1 && p.worker.state === 'running' ? p : undefined;
    }, 'the worker restart');
    expect(after.worker.last_exit).toBe('exit code 3');
    expect(after.engine.pid).toBe(before.engine.pid); // no second engine
    expect(processesOf(h).filter((pid) => readOr(`/proc/${pid}/cmdline`).includes('proxy\0start'))).toEqual([
      before.engine.pid,
    ]);
    expect((await cli(kubiya('worker', 'stop', '--queue-id', 'd-3'), env)).code).toBe(0);
  });
});

describe.concurrent('worker start -d (daemon): limits', { timeout: 60_000 }, () => {
  it('rotates worker.log by size and keeps the configured number of backups', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const env = testEnv(h, { PAD_LOG: '1' });
    expect((await cli(startArgs('d-6', LOOP, { daemon: true, maxLogSize: 2000, maxLogBackups: 2 }), env)).code).toBe(0);
    await until(() => fs.existsSync(queueFile(h, 'd-6', 'worker.log.2')), 'a second rotated log');
    expect((await cli(kubiya('worker', 'stop', '--queue-id', 'd-6'), env)).code).toBe(0);
    expect(fs.existsSync(queueFile(h, 'd-6', 'worker.log.3'))).toBe(false);
    for (const f of ['worker.log', 'worker.log.1', 'worker.log.2'])
      expect(fs.statSync(queueFile(h, 'd-6', f)).size).toBeLessThanOrEqual(2000);
  });

  it('gives two queues running at once different ports', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const env = testEnv(h);
    const [a, b] = await Promise.all([
      cli(startArgs('d-7a', LOOP, { daemon: true }), env),
      cli(startArgs('d-7b', LOOP, { daemon: true }), env),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(pidFile(h, 'd-7a')!.engine.port).not.toBe(pidFile(h, 'd-7b')!.engine.port);
    await Promise.all(['d-7a', 'd-7b'].map((q) => cli(kubiya('worker', 'stop', '--queue-id', q), env)));
  });

  it('stop --timeout kills a worker that ignores SIGTERM, and leaves nothing behind', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const env = testEnv(h);
    expect(
      (
        await cli(
          startArgs('d-8', ['node', path.join(FIXTURES, 'stubborn-worker.mjs')], { daemon: true, graceSeconds: 60 }),
          env,
        )
      ).code,
    ).toBe(0);
    const info = pidFile(h, 'd-8')!;
    const stop = await cli(kubiya('worker', 'stop', '--queue-id', 'd-8', '--timeout', '1'), env);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toContain('did not stop in time');
    for (const pid of [info.supervisor_pid, info.engine.pid, info.worker.pid])
      expect(alive(pid), `pid ${pid} still alive`).toBe(false);
    expect(pidFile(h, 'd-8')).toBeUndefined();
  });
});
