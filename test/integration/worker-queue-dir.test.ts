import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, cli, cliInProcess, gatewayStartArgs, queueFile, testEnv, testHome } from './worker-helpers.js';

// gateway mode, so a start that wrongly goes ahead runs one short worker and no engine
const start = (queueId: string, script = '0') => gatewayStartArgs(queueId, script);

describe('a queue directory kubiya did not make', () => {
  it('is refused when it is a symbolic link, and the target (a shared 1777 dir) is left as it was', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const shared = path.join(h, 'shared');
    fs.mkdirSync(shared);
    fs.chmodSync(shared, 0o1777);
    fs.mkdirSync(queueFile(h, '', ''), { recursive: true });
    fs.symlinkSync(shared, queueFile(h, 'q', ''));
    const r = await cliInProcess(start('q'), testEnv(h));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('as the queue directory: it is a symbolic link');
    expect(fs.statSync(shared).mode & 0o7777).toBe(0o1777);
    expect(fs.readdirSync(shared)).toEqual([]);
  });

  it.skipIf(process.getuid?.() !== 0)('is refused when another user owns it', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    fs.mkdirSync(queueFile(h, 'q', ''), { recursive: true, mode: 0o755 });
    fs.chownSync(queueFile(h, 'q', ''), 65534, 65534);
    const r = await cliInProcess(start('q'), testEnv(h));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('it belongs to uid 65534, not to you');
    expect(fs.statSync(queueFile(h, 'q', '')).mode & 0o777).toBe(0o755);
  });
});

describe('a log file that cannot be written (full disk)', { timeout: 60_000 }, () => {
  it('drops what it cannot write and says so; supervision goes on and the worker ends normally', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    fs.mkdirSync(queueFile(h, 'full', ''), { recursive: true, mode: 0o700 });
    fs.symlinkSync('/dev/full', queueFile(h, 'full', 'worker.log')); // every write: ENOSPC
    const args = start('full', 'for (let i = 0; i < 50; i++) console.log("line " + i)');
    const r = await cli([BIN, ...args], testEnv(h));
    expect(r.stderr).toMatch(/cannot write .*worker\.log \(ENOSPC\): dropped \d+ write/);
    expect(r.stderr.match(/cannot write/g)).toHaveLength(1); // once a minute, not once a line
    expect(r.stdout).toContain('[worker] line 49');
    expect(r.code).toBe(0);
  });
});
