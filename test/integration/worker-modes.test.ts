/**
 * worker start's run modes: --quiet (the worker's output only in its log), --single-execution (one task, the
 * worker told so, never restarted, its exit code ours) and model validation (--model must be served).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cli,
  FIXTURES,
  kubiya,
  MOCK_CONFIG,
  pidFile,
  queueFile,
  readOr,
  startArgs,
  testEnv,
  testHome,
  until,
} from './worker-helpers.js';

const ONE_TASK = [
  'node',
  '-e',
  'setTimeout(() => { console.log("single=" + process.env.SINGLE_EXECUTION); process.exit(3); }, 600)',
];

describe.concurrent('worker start modes', { timeout: 60_000 }, () => {
  it("--quiet: the worker's output goes to worker.log only", async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const r = await cli(
      startArgs('quiet-1', ['node', path.join(FIXTURES, 'sdk-worker.mjs')], { flags: ['--quiet'] }),
      testEnv(h),
    );
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('chat: ');
    expect(r.stdout).not.toContain('[proxy]');
    // the CLI's own lines still show
    expect(r.stdout + r.stderr).toMatch(/worker (started|exited)/);
    expect(readOr(queueFile(h, 'quiet-1', 'worker.log'))).toMatch(/^chat: Hello/m);
  });

  it("--single-execution: SINGLE_EXECUTION=true, and the exit code is the worker's", async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const r = await cli(startArgs('once-1', ONE_TASK, { flags: ['--single-execution'] }), testEnv(h));
    expect(r.stdout).toContain('single=true');
    expect(r.code).toBe(3);
  });

  it('--single-execution -d: a failing worker is not restarted', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const env = testEnv(h);
    const r = await cli(startArgs('once-2', ONE_TASK, { daemon: true, flags: ['--single-execution'] }), env);
    expect(r.code).toBe(0);
    const log = queueFile(h, 'once-2', 'worker.log');
    await until(() => /single=true/.test(readOr(log)), 'the one task');
    // a daemon restarts a failed worker within the test backoff (100 ms); a single execution never does
    await until(() => pidFile(h, 'once-2') === undefined, 'the supervisor to finish', 15_000);
    expect(readOr(log).match(/kubiya supervisor: starting/g)).toHaveLength(1);
  });

  it('refuses a --model the proxy does not serve, naming those it does; --skip-model-validation allows it', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const base = kubiya('worker', 'start', '--queue-id', 'mv-1', '--proxy-config-file', MOCK_CONFIG, '--dry-run');
    const bad = await cli([...base, '--model', 'gpt-9-ultra'], testEnv(h));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('the model "gpt-9-ultra" (from flag) is not one the local proxy serves');
    expect(bad.stderr).toContain('gpt-4o-mini');
    expect(bad.stderr).toContain('--skip-model-validation');
    // KUBIYA_MODEL is checked the same way
    const envBad = await cli(base, testEnv(h, { KUBIYA_MODEL: 'gpt-9-ultra' }));
    expect(envBad.code).toBe(2);
    const served = await cli([...base, '--model', 'gpt-4o-mini'], testEnv(h));
    expect(served.code).toBe(0);
    // kubiya/* in the mock config routes any kubiya/ id
    expect((await cli([...base, '--model', 'kubiya/anything'], testEnv(h))).code).toBe(0);
    const skipped = await cli([...base, '--model', 'gpt-9-ultra', '--skip-model-validation'], testEnv(h));
    expect(skipped.code).toBe(0);
  });
});
