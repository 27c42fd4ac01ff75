import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BIN, cliInProcess, MOCK_CONFIG, queueFile, startArgs, testEnv, testHome, until } from './worker-helpers.js';

const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

describe('terminals and messages', { timeout: 60_000 }, () => {
  // `script` without a terminal on its own stdin gives the command a pty of 0 columns, as some
  // `docker exec -t` / `kubectl exec -t` do; ora used to spin there forever at 100% CPU
  it.skipIf(!hasScript)(
    'a terminal of 0 columns gets plain progress lines, and the command ends',
    async ({ onTestFinished }) => {
      const h = testHome(onTestFinished);
      // no worker command: the queue venv is made first, with a "python" that passes the up-front check (a 3.11
      // with venv, ensurepip and pip) and then fails at once to make the venv
      const python = `${h}/python3`;
      fs.writeFileSync(python, '#!/bin/sh\nif [ "$1" = -c ]; then echo "3.11.0 1 1 1"; exit 0; fi\nexit 1\n', {
        mode: 0o755,
      });
      const cmd =
        `'${process.execPath}' '${BIN}' worker start --queue-id t --enable-local-proxy ` +
        `--proxy-config-file '${MOCK_CONFIG}'`;
      const p = spawn('script', ['-qec', cmd, '/dev/null'], {
        env: testEnv(h, { KUBIYA_PYTHON: python }),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      let code: number | null | undefined;
      p.on('close', (c) => (code = c));
      onTestFinished(() => {
        if (code === undefined) process.kill(-p.pid!, 'SIGKILL'); // it hung: do not leave it spinning
      });
      await until(() => code !== undefined || out.length > 100_000, 'the command to end', 20_000);
      expect(out.length).toBeLessThan(100_000); // not an endless stream of escape codes
      expect(code).toBe(1);
      expect(out).toContain("Creating the worker's Python environment");
      expect(out).toContain('Could not create the Python environment');
      expect(out).not.toContain('\x1b[1A'); // no cursor-up redraws
    },
  );

  it('a worker binary that does not exist is the error alone, exit 127, before anything starts', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const r = await cliInProcess(
      [
        'worker',
        'start',
        '--queue-id=m',
        '--enable-local-proxy',
        '--proxy-config-file',
        MOCK_CONFIG,
        '--',
        'no-such-worker-binary-xyz',
      ],
      testEnv(h),
    );
    expect(r.code).toBe(127);
    expect(r.stderr).toContain('no-such-worker-binary-xyz: command not found');
    expect(r.stdout + r.stderr).not.toMatch(/started|proxy ready/);
    expect(fs.existsSync(queueFile(h, 'm', 'worker.pid'))).toBe(false);
  });

  it('worker status of a queue that never ran says it is unknown, exit 1', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    for (const extra of [[], ['-o', 'json']]) {
      const r = await cliInProcess(['worker', 'status', '--queue-id', 'typo', ...extra], testEnv(h));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/queue \\?"typo\\?" is unknown here/);
      expect(r.stdout).not.toContain('stopped');
    }
  });
});

describe('worker prune', () => {
  it('lists stopped queues with --dry-run, then removes only them (a stale queue is kept)', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const env = testEnv(h);
    for (const q of ['old-1', 'old-2', 'crashed']) fs.mkdirSync(queueFile(h, q, 'venv'), { recursive: true });
    fs.writeFileSync(queueFile(h, 'crashed', 'worker.pid'), 'not json');
    const dry = await cliInProcess(['worker', 'prune', '--dry-run'], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('would remove old-1');
    expect(dry.stdout).toContain('keeping crashed (stale');
    expect(fs.existsSync(queueFile(h, 'old-1', ''))).toBe(true);
    const r = await cliInProcess(['worker', 'prune'], env);
    expect(r.stdout).toContain('removed old-2');
    expect(fs.existsSync(queueFile(h, 'old-1', ''))).toBe(false);
    expect(fs.existsSync(queueFile(h, 'old-2', ''))).toBe(false);
    expect(fs.existsSync(queueFile(h, 'crashed', 'worker.pid'))).toBe(true);
  });
});

describe('a foreground run on one terminal', { timeout: 60_000 }, () => {
  it('says "worker started" before the worker\'s own first line', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const args = startArgs('o', ['node', '-e', 'console.log("first line of the worker")']);
    // stdout and stderr on one stream, as on a terminal
    const sh = spawn('sh', ['-c', '"$@" 2>&1', 'sh', process.execPath, ...args], {
      env: testEnv(h),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    sh.stdout.on('data', (d) => (out += d));
    const code = await new Promise((r) => sh.on('close', r));
    expect(code, out).toBe(0);
    const started = out.indexOf('worker started');
    expect(started).toBeGreaterThan(-1);
    expect(started).toBeLessThan(out.indexOf('[worker] first line of the worker'));
  });
});
