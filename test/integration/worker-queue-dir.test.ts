import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliInProcess, queueFile, testEnv, testHome } from './worker-helpers.js';

// gateway mode, so a start that wrongly goes ahead runs one short worker and no engine
const start = (queueId: string) => [
  'worker',
  'start',
  `--queue-id=${queueId}`,
  '--disable-local-proxy',
  '--gateway-url',
  'http://127.0.0.1:1',
  '--api-key',
  'kb-k',
  '--control-plane-url',
  'http://127.0.0.1:1',
  '--',
  'node',
  '-e',
  '0',
];

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
