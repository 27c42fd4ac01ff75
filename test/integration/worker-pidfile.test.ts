import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from './config-run.js';
import { queueFile, testEnv, testHome } from './worker-helpers.js';

// No process runs here: the CLI runs in-process against a queue directory written by the test.
describe('a worker.pid nobody can read', () => {
  it('is reported as stale with the reason (not as stopped), and stop removes it', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const cli = (...args: string[]) => runCli(['worker', ...args], { env: testEnv(h), home: h });
    fs.mkdirSync(queueFile(h, 'q', ''), { recursive: true });
    fs.writeFileSync(queueFile(h, 'q', 'worker.pid'), 'not json at all');

    const st = await cli('status', '--queue-id', 'q', '-o', 'json');
    expect(JSON.parse(st.stdout)).toMatchObject({
      state: 'stale',
      problem: expect.stringContaining('worker.pid is unreadable'),
    });
    const text = await cli('status', '--queue-id', 'q');
    expect(text.stdout).toMatch(/state:\s+stale \(.*unreadable/);

    const stop = await cli('stop', '--queue-id', 'q');
    expect(stop.code).toBe(0);
    expect(stop.stdout).toContain('removed an unreadable worker.pid');
    expect(fs.existsSync(queueFile(h, 'q', 'worker.pid'))).toBe(false);
    expect(JSON.parse((await cli('status', '--queue-id', 'q', '-o', 'json')).stdout).state).toBe('stopped');
  });
});
