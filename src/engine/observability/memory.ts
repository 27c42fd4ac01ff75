import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Keep V8's young generation from growing past `capBytes`. Under load V8 doubles the new space up
 * to 32 MB (2 x 16 MB semi-spaces), which is a third of the engine's resident memory; a few MB serve
 * a proxy well enough. Not 8 MB: under load a request's objects then often outlive two scavenges and are
 * promoted, the old generation saw-tooths to 60 MB, and the engine spent 10-30% more CPU per request than
 * at 16 MB (A/B rounds in one run, engine CPU time per request). `--max-semi-space-size` only works on the
 * command line, but the growth factor is read at every resize: at the cap it is set to 1, which holds the
 * new space there.
 *
 * And below the cap it is set back to 2. V8 shrinks the new space of an idle process (to 1 MB semi-spaces);
 * with the factor left at 1 it could never grow again, and an engine that had once idled served every later
 * load from a 1 MB nursery (8x the scavenges). So the watch never ends: a check every `everyMs` (an unref'd
 * timer; not a GC observer, whose every callback made Node build its deprecated entry accessors anew) that
 * changes the flag only when the side of the cap changes. Call once, in the engine's own process (it changes
 * a V8 flag).
 */
export function capYoungGeneration(capBytes = 16 * 1024 * 1024, everyMs = 250): void {
  let frozen = false;
  const check = () => {
    const size = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
    if (size >= capBytes === frozen) return;
    frozen = !frozen;
    v8.setFlagsFromString(`--semi-space-growth-factor=${frozen ? 1 : 2}`);
  };
  check();
  setInterval(check, everyMs).unref();
}

let collect: (() => void) | undefined;
let pending: NodeJS.Timeout | undefined;
/** How long after a burst of big bodies the engine waits, quiet, before collecting what they left. */
const AFTER_BURST_MS = 1000;

/**
 * Give memory back after bursts of big request bodies. V8 collects its old generation when allocation asks for
 * it, so an engine that goes quiet after ten 30 MB requests keeps their dead strings and buffers (over 1 GB of
 * RSS) until traffic comes back. With this on, `burstOver` runs one full collection a second after such a
 * burst ended, and the pages go back to the system. Call once, in the engine's own process (it turns on a V8
 * flag to reach `gc`); elsewhere (engines inside other programs, tests) bursts leave collection to V8.
 */
export function collectAfterBursts(): void {
  if (collect) return;
  v8.setFlagsFromString('--expose-gc');
  try {
    collect = runInNewContext('gc') as () => void;
  } catch {
    // a runtime that exposes no `gc` this way: bursts are left to V8, as before
  }
}

/** A burst of big bodies is over: collect once, shortly (no-op unless `collectAfterBursts` was called). */
export function burstOver(): void {
  if (!collect || pending) return;
  pending = setTimeout(() => {
    pending = undefined;
    collect?.();
  }, AFTER_BURST_MS);
  pending.unref();
}
