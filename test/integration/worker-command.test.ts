import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, cli, FIXTURES, MOCK_CONFIG, pipEnv, testEnv, testHome } from './worker-helpers.js';

const start = (q: string, ...extra: string[]) => [
  BIN,
  'worker',
  'start',
  `--queue-id=${q}`,
  '--enable-local-proxy',
  '--proxy-config-file',
  MOCK_CONFIG,
  '--grace',
  '2',
  ...extra,
];

// concurrent: each test has its own HOME and queues; more time each, as they share two cores
describe.concurrent('worker start without a worker command', { timeout: 60_000 }, () => {
  it('explains how to give a command when the default worker cannot be installed', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const r = await cli(start('c-1'), testEnv(h, { KUBIYA_PYTHON: path.join(h, 'no-such-python') }));
    expect(r.code).toBe(69);
    expect(r.stderr).toContain('the default worker needs Python 3.8+');
    for (const how of ['-- node my-worker.mjs', '--worker-command', 'KUBIYA_WORKER_COMMAND'])
      expect(r.stderr).toContain(how);
    expect(fs.existsSync(path.join(h, '.kubiya/workers/c-1/worker.pid'))).toBe(false);
  });

  it('creates the queue venv from --local-wheel and runs its kubiya-control-plane-worker behind the proxy', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const wheel = execFileSync('python3', [path.join(FIXTURES, 'fake_worker_package.py'), h], {
      encoding: 'utf8',
    }).trim();
    const r = await cli(
      start('c-2', '--local-wheel', wheel, '--control-plane-url', 'http://127.0.0.1:9'),
      pipEnv(h, h),
    );
    expect(r.stderr).toContain('Installed kubiya-control-plane-api 0.0.1');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /\[worker\] fake control-plane worker 0\.0\.1 build - --queue-id c-2 --control-plane-url http:\/\/127\.0\.0\.1:9/,
    );
    expect(r.stdout).toMatch(/\[worker\] proxy http:\/\/127\.0\.0\.1:\d+\/v1/);
    expect(fs.existsSync(path.join(h, '.kubiya/workers/c-2/venv/bin/kubiya-control-plane-worker'))).toBe(true);
  }, 240_000);
});
