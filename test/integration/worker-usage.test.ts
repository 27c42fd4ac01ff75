import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cli,
  cliInProcess,
  FIXTURES,
  kubiya,
  queueFile,
  ROOT,
  readOr,
  startArgs,
  testEnv,
  testHome,
  until,
} from './worker-helpers.js';

const LOOP = ['node', path.join(FIXTURES, 'loop-worker.mjs')];
const DEMO = ['node', path.join(ROOT, 'templates/demo-worker.mjs')];
const USAGE = /queue (\S+) used (\d+) requests \((\d+) failed\), (\d+) in \/ (\d+) out tokens, \$(\d+\.\d{4})/;

/** The mock config with a price on `mock` (USD per token), so the usage has a cost. */
function pricedConfig(home: string): string {
  const file = path.join(home, 'priced.yaml');
  fs.writeFileSync(
    file,
    [
      'model_list:',
      '  - model_name: mock',
      '    litellm_params:',
      '      model: openai/mock',
      '      mock_response: "Hello from the priced mock."',
      '    model_info:',
      '      input_cost_per_token: 0.001',
      '      output_cost_per_token: 0.002',
      '',
    ].join('\n'),
  );
  return file;
}

describe.concurrent('worker usage: status, stop and the foreground end', { timeout: 60_000 }, () => {
  it('worker status shows the queue usage; worker stop prints a one-line summary', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const env = testEnv(h);
    const r = await cli(startArgs('u-1', LOOP, { daemon: true, config: pricedConfig(h) }), env);
    expect(r.code, r.stderr).toBe(0);
    const okCalls = () =>
      readOr(queueFile(h, 'u-1', 'worker.log'))
        .split('\n')
        .filter((l) => l.startsWith('call ok'));
    await until(() => okCalls().length >= 2, 'two calls through the proxy');
    // the token that opens the usage route is the queue's own, never in the status output
    const token = readOr(queueFile(h, 'u-1', 'usage.token'));
    expect(token).toMatch(/^[0-9a-f]{48}$/);
    expect((fs.statSync(queueFile(h, 'u-1', 'usage.token')).mode & 0o777).toString(8)).toBe('600');

    const st = await cliInProcess(['worker', 'status', '--queue-id', 'u-1', '-o', 'json'], env);
    expect(st.stdout).not.toContain(token);
    const s = JSON.parse(st.stdout);
    expect(s.usage.requests).toBeGreaterThanOrEqual(2);
    expect(s.usage).toMatchObject({ failures: 0, unpriced_requests: 0 });
    expect(s.usage.input_tokens).toBeGreaterThan(0);
    expect(s.usage.output_tokens).toBeGreaterThan(0);
    // exactly the price times the tokens
    expect(s.usage.cost_usd).toBeCloseTo(s.usage.input_tokens * 0.001 + s.usage.output_tokens * 0.002, 9);
    expect(s.usage.by_model.mock.requests).toBe(s.usage.requests);
    expect(Date.parse(s.usage.since)).toBeLessThanOrEqual(Date.now());

    const text = await cliInProcess(['worker', 'status', '--queue-id', 'u-1'], env);
    expect(text.stdout).toMatch(/usage:\s+\d+ requests \(0 failed\), \d+ in \/ \d+ out tokens, \$\d+\.\d{4}/);

    const stop = await cli(kubiya('worker', 'stop', '--queue-id', 'u-1'), env);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toContain('stopped queue u-1');
    const m = stop.stderr.match(USAGE);
    expect(m, stop.stderr).not.toBeNull();
    expect(m![1]).toBe('u-1');
    expect(Number(m![2])).toBeGreaterThanOrEqual(s.usage.requests);
    expect(stop.stderr).toMatch(/^kubiya: queue u-1 used /m);
    expect(fs.existsSync(queueFile(h, 'u-1', 'usage.token'))).toBe(false);
  });

  it('a foreground run prints its usage at the end', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const r = await cli(startArgs('u-2', DEMO, { config: pricedConfig(h) }), testEnv(h));
    expect(r.code, r.stderr).toBe(0);
    const m = r.stderr.match(USAGE);
    expect(m, r.stderr).not.toBeNull();
    expect(m!.slice(1, 4)).toEqual(['u-2', '2', '0']);
    expect(Number(m![6])).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/^kubiya: queue u-2 used 2 requests \(0 failed\)/m);
  });

  it('worker status says so when the engine does not answer', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const env = testEnv(h);
    const r = await cli(startArgs('u-3', LOOP, { daemon: true }), env);
    expect(r.code, r.stderr).toBe(0);
    fs.rmSync(queueFile(h, 'u-3', 'usage.token')); // the route refuses: as if the engine did not answer
    const st = JSON.parse((await cliInProcess(['worker', 'status', '--queue-id', 'u-3', '-o', 'json'], env)).stdout);
    expect(st.usage).toBeNull();
    const text = await cliInProcess(['worker', 'status', '--queue-id', 'u-3'], env);
    expect(text.stdout).toMatch(/usage:\s+- \(the proxy engine is down or did not answer\)/);
    const stop = await cli(kubiya('worker', 'stop', '--queue-id', 'u-3'), env);
    expect(stop.code).toBe(0);
    expect(stop.stderr).not.toContain('used');
  });
});
