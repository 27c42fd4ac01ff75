import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

/**
 * Stop V8's young generation from growing past `capBytes`. Under load V8 doubles the new space up
 * to 32 MB (2 x 16 MB semi-spaces), which is a third of the engine's resident memory; a few MB serve
 * a proxy just as well (its objects die within a request). `--max-semi-space-size` only works on the
 * command line, but the growth factor is read at every resize: once the new space reaches the cap,
 * setting it to 1 keeps it there. Call once, in the engine's own process (it changes a V8 flag).
 */
export function capYoungGeneration(capBytes = 8 * 1024 * 1024): void {
  const reached = () =>
    (v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0) >= capBytes;
  const freeze = () => v8.setFlagsFromString('--semi-space-growth-factor=1');
  if (reached()) {
    freeze();
    return;
  }
  const obs = new PerformanceObserver(() => {
    if (!reached()) return;
    freeze();
    obs.disconnect();
  });
  obs.observe({ entryTypes: ['gc'] });
}
