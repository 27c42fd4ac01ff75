import { describe, expect, it } from 'vitest';
import { cli, cliInProcess, pidFile, startArgs, testEnv, testHome } from './worker-helpers.js';

/** An idle worker that says which start it came from. */
const idle = (marker: string) => [
  'node',
  '-e',
  'process.on("SIGTERM", () => process.exit(0)); setInterval(() => {}, 1e6); console.log(process.argv[1])',
  marker,
];

describe('two worker start -d of one queue at the same moment', { timeout: 60_000 }, () => {
  it('exactly one wins and runs its own command; the other says already running (exit 1)', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const env = testEnv(h);
    const [a, b] = await Promise.all(
      ['start-A', 'start-B'].map((m) => cli(startArgs('r', idle(m), { daemon: true }), env)),
    );
    const runs = [
      { marker: 'start-A', ...a },
      { marker: 'start-B', ...b },
    ];
    const won = runs.filter((r) => r.code === 0);
    const lost = runs.filter((r) => r.code !== 0);
    expect(won.length, JSON.stringify(runs)).toBe(1);
    expect(lost[0].code).toBe(1);
    expect(lost[0].stderr).toContain('queue "r" is already running');
    expect(lost[0].stderr).not.toContain('ENOENT');
    const info = pidFile(h, 'r')!;
    expect(info.worker.command).toContain(won[0].marker);
    expect(won[0].stdout).toContain(`supervisor pid: ${info.supervisor_pid}`);
    expect((await cliInProcess(['worker', 'stop', '--queue-id', 'r'], env)).code).toBe(0);
  });
});
