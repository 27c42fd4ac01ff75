import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseInterval } from '../../src/config/worker-options.js';
import { fetchQueueConfig } from '../../src/control-plane/client.js';
import { isNewer, short } from '../../src/supervisor/auto-update.js';
import { type FakeControlPlane, startFakeControlPlane } from '../fakes/control-plane.js';

describe('--update-check-interval', () => {
  it('takes 30s, 5m, 1h and combinations, in milliseconds', () => {
    expect(parseInterval('30s', '--update-check-interval')).toBe(30_000);
    expect(parseInterval('5m', '--update-check-interval')).toBe(300_000);
    expect(parseInterval('1h', '--update-check-interval')).toBe(3_600_000);
    expect(parseInterval('1h30m', '--update-check-interval')).toBe(5_400_000);
    expect(parseInterval(' 1s ', '--update-check-interval')).toBe(1000);
  });

  it('refuses what is not a duration, or less than a second, naming the flag and the forms', () => {
    expect(() => parseInterval('5', '--update-check-interval')).toThrow(
      '--update-check-interval: expected a duration such as 30s, 5m or 1h, found "5"',
    );
    expect(() => parseInterval('5 minutes', 'KUBIYA_UPDATE_CHECK_INTERVAL')).toThrow(/^KUBIYA_UPDATE_CHECK_INTERVAL:/);
    expect(() => parseInterval('10ms', '--update-check-interval')).toThrow('must be at least 1s');
  });
});

describe('package versions', () => {
  it('compares release numbers as numbers; a pre-release is older and a post-release newer', () => {
    expect(isNewer('0.10.0', '0.9.9')).toBe(true);
    expect(isNewer('0.9.9', '0.10.0')).toBe(false);
    expect(isNewer('1.0', '1.0.0')).toBe(false);
    expect(isNewer('1.0.0', '1.0.0rc1')).toBe(true);
    expect(isNewer('1.0.0rc2', '1.0.0rc1')).toBe(true);
    expect(isNewer('1.0.0.post1', '1.0.0')).toBe(true);
    expect(isNewer('0.0.1', '0.0.2')).toBe(false);
  });
});

describe('the queue config version', () => {
  let cp: FakeControlPlane;
  beforeAll(async () => {
    cp = await startFakeControlPlane({ kind: 'ok', settings: { a: 1 } });
  });
  afterAll(() => cp.close());
  const get = () => fetchQueueConfig({ controlPlaneUrl: cp.url, apiKey: 'k', queueId: 'q', timeoutMs: 1000 });

  it("is the control plane's config_version, and its recommended package version comes along", async () => {
    cp.set({ kind: 'ok', settings: { a: 1 }, extra: { config_version: 'v-7' }, recommendedPackageVersion: '0.6.1' });
    expect(await get()).toMatchObject({ ok: true, version: 'v-7', recommendedPackageVersion: '0.6.1' });
  });

  it('without config_version, a hash of the settings that ignores key order and moves when they change', async () => {
    cp.set({ kind: 'ok', settings: { a: 1, b: { x: 1, y: 2 } }, unversioned: true });
    const first = await get();
    cp.set({ kind: 'ok', settings: { b: { y: 2, x: 1 }, a: 1 }, unversioned: true });
    const reordered = await get();
    cp.set({ kind: 'ok', settings: { a: 2, b: { x: 1, y: 2 } }, unversioned: true });
    const changed = await get();
    const v = (r: Awaited<ReturnType<typeof get>>) => (r.ok ? r.version : undefined);
    expect(v(first)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(v(reordered)).toBe(v(first));
    expect(v(changed)).not.toBe(v(first));
    expect(short(v(first))).toHaveLength(12);
  });
});
