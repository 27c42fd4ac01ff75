import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type FakeControlPlane, startFakeControlPlane } from '../fakes/control-plane.js';
import { pipEnv, writeBrokenWheel, writeWorkerWheel } from '../fakes/wheel-index.js';
import {
  cli,
  cliInProcess,
  FIXTURES,
  kubiya,
  pidFile,
  queueFile,
  readOr,
  spawnCli,
  startArgs,
  testEnv,
  testHome,
  until,
} from './worker-helpers.js';

const mockModels = (...names: string[]) => ({
  model_list: names.map((n) => ({
    model_name: n,
    litellm_params: { model: 'openai/mock', mock_response: `answer from ${n}` },
  })),
});
const queueSettings = (...names: string[]) => ({
  enable_local_litellm_proxy: true,
  litellm_config: mockModels(...names),
});

async function controlPlane(onTestFinished: (fn: () => Promise<void>) => void, settings: Record<string, unknown>) {
  const cp: FakeControlPlane = await startFakeControlPlane({ kind: 'ok', settings });
  onTestFinished(() => cp.close());
  return cp;
}

// concurrent: each test has its own HOME, queue and control plane; generous timeouts (venvs, two shared cores)
describe.concurrent('worker start --auto-update', { timeout: 180_000 }, () => {
  it('a new proxy config in the queue settings: the engine reloads it on its port, the worker keeps running', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const cp = await controlPlane(onTestFinished, queueSettings('m1'));
    // the environment's names for the flags
    const env = testEnv(h, { KUBIYA_AUTO_UPDATE: 'true', KUBIYA_UPDATE_CHECK_INTERVAL: '1s' });
    const run = spawnCli(
      kubiya(
        'worker',
        'start',
        '--queue-id=au-config',
        '--api-key',
        'kb-test',
        '--control-plane-url',
        cp.url,
        '--grace',
        '2',
        '--',
        'node',
        path.join(FIXTURES, 'models-worker.mjs'),
      ),
      env,
    );
    onTestFinished(async () => {
      if (run.exitCode === null) run.kill('SIGKILL');
    });
    await until(() => /models pid=\d+ \S+ m1$/m.test(run.out()), 'the worker listing m1', 60_000);
    const before = pidFile(h, 'au-config')!;
    expect(before.auto_update).toMatchObject({ enabled: true, interval_s: 1 });

    cp.setSettings(queueSettings('m1', 'm2'));
    await until(() => /answer m2 pid=\d+: answer from m2/.test(run.out()), 'the worker asking the new model', 60_000);
    const after = pidFile(h, 'au-config')!;
    // same engine (not restarted), same URL, same worker process
    expect(after.engine).toMatchObject({ pid: before.engine.pid, port: before.engine.port, restarts: 0 });
    expect(after.worker).toMatchObject({ pid: before.worker.pid, restarts: 0 });
    const models = run.out().match(/models pid=\d+ base=\S+ \S+/g)!;
    expect(models).toEqual([
      `models pid=${before.worker.pid} base=${before.engine.url}/v1 m1`,
      `models pid=${before.worker.pid} base=${before.engine.url}/v1 m1,m2`,
    ]);
    expect(run.out()).not.toContain('call failed');
    expect(run.err()).toMatch(
      new RegExp(
        `auto-update: config \\w+ → \\w+: the proxy reloaded its config at ${before.engine.url} ` +
          '\\(same URL and key\\), serving m1, m2',
      ),
    );
    // the queue's logs keep the change with old → new
    expect(readOr(queueFile(h, 'au-config', 'worker.log'))).toMatch(
      /kubiya supervisor: auto-update: config \w+ → \w+: the proxy reloaded/,
    );
    expect(readOr(queueFile(h, 'au-config', 'litellm_proxy.log'))).toContain('config reloaded');
    expect(readOr(queueFile(h, 'au-config', 'litellm_config.yaml'))).toContain('m2');

    // a queue config that would serve nothing: refused, the running config stays (and is tried again)
    cp.setSettings({ enable_local_litellm_proxy: true, litellm_config: { model_list: [] } });
    await until(
      () => /would serve no model/.test(pidFile(h, 'au-config')?.auto_update?.last_result ?? ''),
      'the refused config in worker.pid',
    );
    const status = await cliInProcess(['worker', 'status', '--queue-id', 'au-config'], env);
    expect(status.stdout).toMatch(
      /updates:\s+auto-update on, every 1s, last check \S+: config \w+ → \w+ not applied: the new proxy config would/,
    );
    expect(readOr(queueFile(h, 'au-config', 'litellm_config.yaml'))).toContain('m2');
    expect(pidFile(h, 'au-config')!.engine.pid).toBe(before.engine.pid);

    run.kill('SIGTERM');
    expect((await run.done).code).toBe(0);
  });

  it('a newer worker package: installed from the index, the worker restarted once; a broken one keeps it (-d)', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const index = path.join(h, 'wheels');
    writeWorkerWheel(index, '0.0.1');
    const cp = await controlPlane(onTestFinished, {});
    const env = testEnv(h, pipEnv(index));
    const q = 'au-package';
    // no worker command after `--`: the queue venv's default worker, from the index
    const flags = [
      '--api-key',
      'kb-test',
      '--control-plane-url',
      cp.url,
      '--auto-update',
      '--update-check-interval',
      '1s',
    ];
    const start = await cli(startArgs(q, [], { daemon: true, graceSeconds: 3, flags }), env);
    expect(start.code, start.stderr).toBe(0);
    onTestFinished(async () => {
      await cli(kubiya('worker', 'stop', '--queue-id', q, '--timeout', '20'), env);
    });
    const log = () => readOr(queueFile(h, q, 'worker.log'));
    const first = Number(
      (await until(() => /worker 0\.0\.1 pid (\d+) started/.exec(log()), 'the 0.0.1 worker', 60_000))[1],
    );
    await until(() => pidFile(h, q)?.auto_update?.last_check, 'a first check');
    expect(pidFile(h, q)!.auto_update).toMatchObject({ package_version: '0.0.1', failed: false });

    writeWorkerWheel(index, '0.0.2');
    const second = Number(
      (await until(() => /worker 0\.0\.2 pid (\d+) started/.exec(log()), 'the 0.0.2 worker', 90_000))[1],
    );
    expect(second).not.toBe(first);
    expect(log()).toContain(`worker 0.0.1 pid ${first} got SIGTERM`);
    expect(log()).toMatch(
      /kubiya supervisor: auto-update: installed worker package 0\.0\.1 → 0\.0\.2; restarting the worker/,
    );
    expect(readOr(queueFile(h, q, 'supervisor.log'))).toContain('starting it again with worker package 0.0.1 → 0.0.2');
    // restarted once: later checks find it up to date
    await until(
      () => /package 0\.0\.2 up to date/.test(pidFile(h, q)?.auto_update?.last_result ?? ''),
      'a check after the update',
      30_000,
    );
    expect(log().match(/worker 0\.0\.2 pid \d+ started/g)).toHaveLength(1);
    expect(pidFile(h, q)!.worker.pid).toBe(second);

    // a broken 0.0.3: the install fails, 0.0.2 keeps running, the reason is reported (and tried again)
    writeBrokenWheel(index, '0.0.3');
    await until(
      () => /package update failed/.test(pidFile(h, q)?.auto_update?.last_result ?? ''),
      'the failed update',
      60_000,
    );
    const au = pidFile(h, q)!.auto_update;
    expect(au.failed).toBe(true);
    expect(au.last_result).toMatch(/pip install kubiya-control-plane-api==0\.0\.3 failed: ERROR: .*invalid/);
    expect(au.last_update).toMatch(/^worker package 0\.0\.1 → 0\.0\.2 at /);
    expect(pidFile(h, q)!.worker.pid).toBe(second);
    expect(() => process.kill(second, 0)).not.toThrow();
    expect(log()).not.toMatch(/worker 0\.0\.3|0\.0\.2 pid \d+ got SIGTERM/);
    expect(readOr(queueFile(h, q, 'supervisor.log'))).toMatch(
      /auto-update: package update failed, the running worker stays/,
    );
    const status = await cliInProcess(['worker', 'status', '--queue-id', q], env);
    expect(status.stdout).toMatch(
      /updates:\s+auto-update on, every 1s, .*package update failed.*; last update: worker package 0\.0\.1 → 0\.0\.2/,
    );
  });

  it('without --auto-update nothing is polled: one config request, at start', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const cp = await controlPlane(onTestFinished, queueSettings('m1'));
    // the interval alone does not turn it on
    const env = testEnv(h, { KUBIYA_UPDATE_CHECK_INTERVAL: '1s' });
    const run = spawnCli(
      kubiya(
        'worker',
        'start',
        '--queue-id=au-off',
        '--api-key',
        'kb-test',
        '--control-plane-url',
        cp.url,
        '--',
        'node',
        '-e',
        "process.on('SIGTERM', () => process.exit(0)); setTimeout(() => {}, 120000)",
      ),
      env,
    );
    await until(() => pidFile(h, 'au-off')?.worker?.pid, 'the worker', 60_000);
    expect(pidFile(h, 'au-off')!.auto_update).toEqual({ enabled: false });
    const status = await cliInProcess(['worker', 'status', '--queue-id', 'au-off'], env);
    expect(status.stdout).toMatch(/updates:\s+auto-update off/);
    // three intervals of the 1s the environment names: still the one request of the start
    await new Promise((r) => setTimeout(r, 3500));
    expect(cp.configRequests()).toBe(1);
    run.kill('SIGTERM');
    expect((await run.done).code).toBe(0);
  });

  it('refuses a bad interval and --single-execution, before anything starts', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const base = ['worker', 'start', '--queue-id=au-bad', '--disable-local-proxy', '--api-key', 'k', '--dry-run'];
    const bad = await cliInProcess([...base, '--auto-update', '--update-check-interval', '5'], testEnv(h));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--update-check-interval: expected a duration such as 30s, 5m or 1h, found "5"');
    const one = await cliInProcess([...base, '--auto-update', '--single-execution', '--', 'true'], testEnv(h));
    expect(one.code).toBe(2);
    expect(one.stderr).toContain('--auto-update cannot be used with --single-execution');
    expect(fs.existsSync(queueFile(h, 'au-bad', 'worker.pid'))).toBe(false);
  });
});
