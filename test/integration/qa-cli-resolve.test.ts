import { afterEach, describe, expect, it } from 'vitest';
import { makeHome, type CliHome } from './config-run.js';

let h: CliHome;
afterEach(() => h?.cleanup());

describe('worker start --dry-run names the flags the user actually gave', () => {
  it('--no-enable-local-proxy / --disable-local-proxy are reported as such, not as --enable-local-proxy', async () => {
    h = makeHome();
    for (const flag of ['--no-enable-local-proxy', '--disable-local-proxy']) {
      const r = await h.run(['worker', 'start', '--queue-id', 'q', flag, '--api-key', 'kk-test-123456', '--dry-run', '--', 'node', '-e', '1']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('local proxy disabled by --no-enable-local-proxy');
      expect(r.stdout).not.toContain('disabled by --enable-local-proxy');
    }
  });
});
