import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, kubiya, makeHome, queueFile, reap, testEnv } from './worker-helpers.js';

const homes: string[] = [];
afterEach(async () => {
  const left = (await Promise.all(homes.splice(0).map(reap))).flat();
  expect(left, 'processes left behind by the test').toEqual([]);
});

describe('a worker.pid nobody can read', () => {
  it('is reported as stale with the reason (not as stopped), and stop removes it', async () => {
    const h = makeHome();
    homes.push(h);
    const env = testEnv(h);
    fs.mkdirSync(queueFile(h, 'q', ''), { recursive: true });
    fs.writeFileSync(queueFile(h, 'q', 'worker.pid'), 'not json at all');

    const st = await cli(kubiya('worker', 'status', '--queue-id', 'q', '-o', 'json'), env);
    expect(JSON.parse(st.stdout)).toMatchObject({ state: 'stale', problem: expect.stringContaining('worker.pid is unreadable') });
    const text = await cli(kubiya('worker', 'status', '--queue-id', 'q'), env);
    expect(text.stdout).toMatch(/state:\s+stale \(.*unreadable/);

    const stop = await cli(kubiya('worker', 'stop', '--queue-id', 'q'), env);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toContain('removed an unreadable worker.pid');
    expect(fs.existsSync(queueFile(h, 'q', 'worker.pid'))).toBe(false);
    expect(JSON.parse((await cli(kubiya('worker', 'status', '--queue-id', 'q', '-o', 'json'), env)).stdout).state).toBe('stopped');
  });
});
