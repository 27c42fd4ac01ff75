import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, cli, FIXTURES, makeHome, MOCK_CONFIG, reap, testEnv } from './worker-helpers.js';

const homes: string[] = [];
function home(): string {
  const h = makeHome();
  homes.push(h);
  return h;
}
afterEach(async () => {
  const left = (await Promise.all(homes.splice(0).map(reap))).flat();
  expect(left, 'processes left behind by the test').toEqual([]);
});

const start = (q: string, ...extra: string[]) => [BIN, 'worker', 'start', `--queue-id=${q}`, '--enable-local-proxy', '--proxy-config-file', MOCK_CONFIG, '--grace', '2', ...extra];

describe('worker start without a worker command', () => {
  it('explains how to give a command when the default worker cannot be installed', async () => {
    const h = home();
    const r = await cli(start('c-1'), testEnv(h, { KUBIYA_PYTHON: path.join(h, 'no-such-python') }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no worker command given');
    for (const how of ['-- node my-worker.mjs', '--worker-command', 'KUBIYA_WORKER_COMMAND']) expect(r.stderr).toContain(how);
    expect(fs.existsSync(path.join(h, '.kubiya/workers/c-1/worker.pid'))).toBe(false);
  });

  it('creates the queue venv from --local-wheel and runs its kubiya-control-plane-worker behind the proxy', async () => {
    const h = home();
    const wheel = execFileSync('python3', [path.join(FIXTURES, 'make-wheel.py'), h], { encoding: 'utf8' }).trim();
    const r = await cli(start('c-2', '--local-wheel', wheel, '--control-plane-url', 'http://127.0.0.1:9'), testEnv(h));
    expect(r.stderr).toContain('Installed');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\[worker\] fake control-plane worker --queue-id c-2 --control-plane-url http:\/\/127\.0\.0\.1:9/);
    expect(r.stdout).toMatch(/\[worker\] proxy http:\/\/127\.0\.0\.1:\d+\/v1/);
    expect(fs.existsSync(path.join(h, '.kubiya/workers/c-2/venv/bin/kubiya-control-plane-worker'))).toBe(true);
  }, 90_000);
});
