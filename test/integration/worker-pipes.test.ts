import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, makeHome, testEnv } from './worker-helpers.js';

// `kubiya worker logs ... | head` and `kubiya worker status | head`: the reader closes the pipe.
// The CLI must neither crash with an EPIPE stack trace nor (with -f) keep following forever.

let home = '';
afterEach(() => {
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

/** Run the CLI with its stdout pipe closed from the start; resolves with its exit code and stderr, or 'hung'. */
function runIntoClosedPipe(
  args: string[],
  appendTo?: string,
): Promise<{ code: number | null; stderr: string } | 'hung'> {
  const child = spawn(process.execPath, [BIN, ...args], { env: testEnv(home), stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy(); // the reader is gone before the CLI writes anything
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const appender = appendTo ? setInterval(() => fs.appendFileSync(appendTo, 'more\n'), 100) : undefined;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('hung');
    }, 8000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      clearInterval(appender);
      child.stderr.once('end', () => resolve({ code, stderr }));
      if (child.stderr.readableEnded) resolve({ code, stderr });
    });
  });
}

describe('output into a closed pipe', () => {
  it('worker logs and worker status exit quietly; worker logs -f stops following', async () => {
    home = makeHome();
    const dir = path.join(home, '.kubiya', 'workers', 'q1');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const log = path.join(dir, 'worker.log');
    fs.writeFileSync(log, Array.from({ length: 2000 }, (_, i) => `line ${i}`).join('\n') + '\n');

    for (const [args, append] of [
      [['worker', 'logs', '--queue-id', 'q1', '-n', '2000'], undefined],
      [['worker', 'status', '--queue-id', 'q1'], undefined],
      [['worker', 'logs', '--queue-id', 'q1', '-f'], log],
    ] as const) {
      const r = await runIntoClosedPipe([...args], append);
      expect(r, args.join(' ')).not.toBe('hung');
      if (r === 'hung') continue;
      expect(r.stderr, args.join(' ')).not.toMatch(/EPIPE|Unhandled/);
      expect(r.code, args.join(' ')).toBe(0);
    }
  });
});
