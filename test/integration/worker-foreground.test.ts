import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
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

// concurrent: each test has its own HOME and queues; more time each, as they share two cores
describe.concurrent('worker start (foreground)', { timeout: 60_000 }, () => {
  it('runs an openai-SDK worker through the proxy, injects the env, keeps files private and cleans up', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const r = await cli(startArgs('fg-1', ['node', path.join(FIXTURES, 'sdk-worker.mjs')]), testEnv(h));
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('[worker] chat: Hello from the kubiya mock proxy.');
    expect(r.stdout).toContain('[worker] stream: Hello from the kubiya mock proxy.');
    const env = JSON.parse(/env: (\{.*\})/.exec(r.stdout)![1]);
    expect(env.LITELLM_API_BASE).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(env.OPENAI_BASE_URL).toBe(`${env.LITELLM_API_BASE}/v1`);
    expect(env.OPENAI_API_BASE).toBe(`${env.LITELLM_API_BASE}/v1`);
    expect(env.ANTHROPIC_BASE_URL).toBe(env.LITELLM_API_BASE);
    expect(env.QUEUE_ID).toBe('fg-1');
    expect(r.stdout).toContain('keys-set: true');
    // the same output landed in the worker log, unprefixed
    expect(readOr(queueFile(h, 'fg-1', 'worker.log'))).toMatch(/^chat: /m);
    expect(fs.statSync(path.join(h, '.kubiya/workers/fg-1')).mode & 0o777).toBe(0o700);
    expect(fs.statSync(queueFile(h, 'fg-1', 'litellm_config.yaml')).mode & 0o777).toBe(0o600);
    expect(readOr(queueFile(h, 'fg-1', 'litellm_config.yaml'))).toContain('mock_response');
    expect(pidFile(h, 'fg-1'), 'pid file removed after the run').toBeUndefined();
  });

  it("exits with the worker's exit code (a CI step fails when the tests fail)", async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const r = await cli(
      startArgs('fg-2', ['node', path.join(FIXTURES, 'sdk-worker.mjs')]),
      testEnv(h, { DEMO_EXIT_CODE: '7' }),
    );
    expect(r.stdout).toMatch(/chat: /);
    expect(r.code).toBe(7);
  });

  it('stops the worker (SIGTERM, it exits cleanly) and then the proxy on SIGTERM to the supervisor', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const p = spawnCli(startArgs('fg-3', ['node', path.join(FIXTURES, 'loop-worker.mjs')]), testEnv(h));
    await until(() => /call ok/.test(p.out()), 'a successful call');
    const info = pidFile(h, 'fg-3')!;
    expect(info.supervisor_pid).toBe(p.pid);
    expect(info.mode).toBe('foreground');
    p.kill('SIGTERM');
    const r = await p.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('[worker] got SIGTERM');
    expect(pidFile(h, 'fg-3')).toBeUndefined();
  });

  it('reports a proxy that fails to start with the log tail, and starts no worker', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const marker = path.join(h, 'worker-ran');
    const r = await cli(
      startArgs('fg-4', ['node', '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, '1')`]),
      testEnv(h, { KUBIYA_ENGINE_BIN: path.join(FIXTURES, 'bad-engine.mjs') }),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('the proxy engine did not start: the config was rejected');
    expect(r.stderr).toContain('expected provider/model'); // the last lines of litellm_proxy.log
    expect(fs.existsSync(marker)).toBe(false);
    expect(pidFile(h, 'fg-4')).toBeUndefined();
  });

  it('rejects queue ids that could escape the workers directory', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const r = await cliInProcess(['worker', 'status', '--queue-id', '../etc'], testEnv(h));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid queue id "../etc"');
    expect(fs.existsSync(path.join(h, '.kubiya/workers'))).toBe(false);
  });
});
