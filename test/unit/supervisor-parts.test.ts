import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { maskCommandLine } from '../../src/config/litellm/secrets.js';
import type { ProxyPlan } from '../../src/config/plan.js';
import { validateQueueId } from '../../src/config/queue-id.js';
import { backoffMs, RestartTracker } from '../../src/supervisor/policy.js';
import { LineSplitter, RotatingLog, tailLines } from '../../src/supervisor/rotating-log.js';
import { engineKey, gatewayEndpoint, newLocalKey, workerEnv } from '../../src/supervisor/worker-env.js';

const plan = (over: Partial<ProxyPlan> = {}): ProxyPlan => ({
  queueId: 'q1',
  mode: 'local-proxy',
  proxyTimeoutSeconds: 30,
  proxyMaxRetries: 3,
  controlPlaneUrl: 'https://cp.example',
  origins: {},
  warnings: [],
  ...over,
});

describe('RotatingLog', () => {
  it('rotates at the size limit and keeps only the configured backups', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rot-'));
    const file = path.join(dir, 'worker.log');
    const log = new RotatingLog(file, 100, 2);
    for (let i = 0; i < 10; i++) log.write(`${String(i).repeat(39)}\n`); // 40 bytes each
    log.close();
    expect(fs.readdirSync(dir).sort()).toEqual(['worker.log', 'worker.log.1', 'worker.log.2']);
    for (const f of fs.readdirSync(dir)) expect(fs.statSync(path.join(dir, f)).size).toBeLessThanOrEqual(100);
    expect(fs.readFileSync(file, 'utf8')).toContain('9'.repeat(39)); // newest in the live file
    expect(fs.readFileSync(`${file}.2`, 'utf8')).not.toContain('0'.repeat(39)); // oldest dropped
    expect(tailLines(file, 1)).toEqual(['9'.repeat(39)]);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('splits a chunk larger than the limit across files, so no file exceeds it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rot-'));
    const file = path.join(dir, 'big.log');
    const log = new RotatingLog(file, 100, 3);
    log.write('x'.repeat(250));
    log.close();
    const sizes = fs.readdirSync(dir).map((f) => fs.statSync(path.join(dir, f)).size);
    expect(sizes.sort((a, b) => a - b)).toEqual([50, 100, 100]);
  });

  it('appends to an existing log instead of truncating it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rot-'));
    const file = path.join(dir, 'a.log');
    fs.writeFileSync(file, 'before\n');
    const log = new RotatingLog(file, 1000, 1);
    log.write('after\n');
    log.close();
    expect(fs.readFileSync(file, 'utf8')).toBe('before\nafter\n');
  });

  it(
    'drops what a child writes after the log was closed instead of throwing EBADF ' + '(the supervisor would exit 1)',
    () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rot-'));
      const file = path.join(dir, 'late.log');
      const log = new RotatingLog(file, 1000, 1);
      log.write('last line\n');
      log.close();
      const other = fs.openSync(path.join(dir, 'other'), 'w'); // may reuse the closed fd number
      expect(() => log.write('too late\n')).not.toThrow();
      fs.closeSync(other);
      expect(fs.readFileSync(file, 'utf8')).toBe('last line\n');
      expect(fs.readFileSync(path.join(dir, 'other'), 'utf8')).toBe('');
    },
  );
});

describe('LineSplitter', () => {
  it('emits whole lines across chunk boundaries', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    s.push('ab');
    s.push('c\nde');
    s.push('f\n');
    s.push('tail');
    s.flush();
    expect(lines).toEqual(['abc', 'def', 'tail']);
  });
});

describe('restart policy', () => {
  const policy = { baseMs: 100, maxMs: 1000, limit: 3, stableMs: 60_000 };
  it('backs off exponentially up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffMs(policy, n))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
  it('gives up after the crash-loop limit, counting every restart', () => {
    const t = new RestartTracker(policy);
    expect([t.crashed(), t.crashed(), t.crashed(), t.crashed()]).toEqual([100, 200, 400, undefined]);
    expect(t.total).toBe(3);
  });
  it('starts counting again after a stable run', () => {
    const t = new RestartTracker({ ...policy, stableMs: 0 });
    for (let i = 0; i < 10; i++) expect(t.crashed()).toBe(100);
    expect(t.total).toBe(10);
  });
});

describe('worker environment', () => {
  it("points every SDK at the local engine with the run's local key when there is no master key", () => {
    const local = newLocalKey();
    expect(local).not.toBe(newLocalKey()); // per run, never a constant
    const env = workerEnv(
      plan({ model: 'mock', apiKey: 'kb-key' }),
      { base: 'http://127.0.0.1:4100', key: engineKey(plan(), local) },
      { PATH: '/bin' },
    );
    expect(env).toMatchObject({
      PATH: '/bin',
      LITELLM_API_BASE: 'http://127.0.0.1:4100',
      LITELLM_API_KEY: local,
      OPENAI_BASE_URL: 'http://127.0.0.1:4100/v1',
      OPENAI_API_BASE: 'http://127.0.0.1:4100/v1',
      OPENAI_API_KEY: local,
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:4100',
      ANTHROPIC_API_KEY: local,
      QUEUE_ID: 'q1',
      KUBIYA_API_KEY: 'kb-key',
      CONTROL_PLANE_URL: 'https://cp.example',
      KUBIYA_MODEL_OVERRIDE: 'mock',
    });
  });

  it("uses the config's master key, and no model override without a model", () => {
    const p = plan({
      config: {
        config: {
          general_settings: { master_key: 'sk-master-1' },
          model_list: [{ model_name: 'm-*' }, { model_name: 'm1' }],
        },
      } as unknown as ProxyPlan['config'],
    });
    expect(engineKey(p, newLocalKey())).toBe('sk-master-1');
    const env = workerEnv(p, { base: 'http://127.0.0.1:1', key: 'sk-master-1' }, { KUBIYA_MODEL_OVERRIDE: undefined });
    expect(env.OPENAI_API_KEY).toBe('sk-master-1');
    expect(env.KUBIYA_MODEL_OVERRIDE).toBeUndefined();
    expect(env.LITELLM_DEFAULT_MODEL).toBe('m1'); // the first model group that is not a wildcard
  });

  it("points at the gateway with the user's key in gateway mode", () => {
    const p = plan({ mode: 'gateway', gatewayUrl: 'https://llm.example/v1/', apiKey: 'kb-key' });
    const env = workerEnv(p, gatewayEndpoint(p), {});
    expect(env.OPENAI_BASE_URL).toBe('https://llm.example/v1');
    expect(env.LITELLM_API_BASE).toBe('https://llm.example');
    expect(env.OPENAI_API_KEY).toBe('kb-key');
  });

  it('masks secrets in recorded command lines', () => {
    expect(maskCommandLine(['w', '--api-key', 'kb-secret', '--x=kb-secret'], ['kb-secret', undefined])).toEqual([
      'w',
      '--api-key',
      '***',
      '--x=***',
    ]);
  });
});

describe('queue ids', () => {
  it('accepts plain ids and rejects path tricks', () => {
    expect(validateQueueId('prod-queue_1.a')).toBe('prod-queue_1.a');
    for (const bad of ['../x', 'a/b', '.hidden', 'a..b', '', 'x'.repeat(129), 'a b'])
      expect(() => validateQueueId(bad)).toThrow();
  });
});
