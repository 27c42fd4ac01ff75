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

describe('config set-proxy --config-file with a relative path', () => {
  it('means the file as seen from where the command ran, and worker start finds it', async () => {
    h = makeHome();
    const fs = await import('node:fs');
    const path = await import('node:path');
    fs.mkdirSync(path.join(h.home, 'proj'));
    fs.copyFileSync(path.resolve(__dirname, '../../templates/mock.yaml'), path.join(h.home, 'proj', 'mock.yaml'));
    expect((await h.run(['config', 'set-context', 'c'])).code).toBe(0);
    // the helper runs in h.home: "proj/mock.yaml" is relative to it, not to ~/.kubiya
    const set = await h.run(['config', 'set-proxy', '--enable', '--config-file', 'proj/mock.yaml']);
    expect(set.code).toBe(0);
    const r = await h.run(['worker', 'start', '--queue-id', 'q', '--dry-run', '-o', 'json', '--', 'node', '-e', '1']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).config.source).toBe(path.join(h.home, 'proj', 'mock.yaml'));
  });
});

describe('config current-context exit codes', () => {
  it('exits 1 when no context is set, in text and in JSON (the JSON still says null)', async () => {
    h = makeHome();
    expect((await h.run(['config', 'current-context'])).code).toBe(1);
    const j = await h.run(['config', 'current-context', '-o', 'json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout).currentContext).toBeNull();
    await h.run(['config', 'set-context', 'c']);
    const ok = await h.run(['config', 'current-context', '-o', 'json']);
    expect([ok.code, JSON.parse(ok.stdout).currentContext]).toEqual([0, 'c']);
  });
});
