/**
 * The state `--num_workers` workers share without Redis: two worker links to one primary host, the IPC
 * channel stood in by an in-process emitter that delivers each message on a later tick (as a pipe would).
 * The real-process test (engine-num-workers) covers a key's limit; here the router's side: a cooldown one
 * worker causes is seen by the other, a deployment's rpm window is one across workers, and an unlimited group
 * is read without a round trip.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { ConfigWarning } from '../../src/config/litellm/load.js';
import { litellmConfigSchema } from '../../src/config/litellm/schema.js';
import { IpcRateLimiter } from '../../src/engine/cluster/ipc-limiter.js';
import { IpcRouterState } from '../../src/engine/cluster/ipc-state.js';
import { SharedHost } from '../../src/engine/cluster/primary.js';
import type { WorkerMessage } from '../../src/engine/cluster/protocol.js';
import { WorkerLink } from '../../src/engine/cluster/worker-link.js';
import type { Deployment, ModelGroup } from '../../src/engine/deployment.js';
import { GatewayError } from '../../src/engine/errors.js';
import type { LimitDescriptor } from '../../src/engine/governance/limits/limiter.js';
import { readRouterSettings } from '../../src/engine/router/settings.js';
import type { StateView } from '../../src/engine/state/router-state.js';

const rules = (router: Record<string, unknown> = {}) => {
  const warnings: ConfigWarning[] = [];
  return readRouterSettings(litellmConfigSchema.parse({ router_settings: router }), warnings);
};

/** A primary host and `n` worker links to it, each link with its own copies of the deployments. */
function cluster(n: number) {
  const host = new SharedHost();
  type Fake = { emitter: EventEmitter; send(m: unknown): void };
  const workers: Fake[] = [];
  const send = (w: Fake, m: unknown) => setImmediate(() => w.emitter.emit('message', { k: 'kubiya-cluster', ...m }));
  const live = () => workers as never[];
  const links = Array.from({ length: n }, (_, i) => {
    const emitter = new EventEmitter();
    const fake: Fake = {
      emitter,
      send: (m) => setImmediate(() => host.handle(fake as never, m as WorkerMessage, live, send as never)),
    };
    workers.push(fake);
    const proc = Object.assign(emitter, { connected: true, send: fake.send }) as unknown as NodeJS.Process;
    return new WorkerLink(i + 1, proc);
  });
  return { links };
}

/** One worker's copy of a two-deployment group (each worker builds its own table from the same config). */
function group(rpm?: number) {
  const a = { id: 'dep-a', rpm } as Deployment;
  const b = { id: 'dep-b', rpm } as Deployment;
  const g = { name: 'g', deployments: [a, b], limited: rpm !== undefined } as unknown as ModelGroup;
  return { a, b, g };
}

const read = async (v: StateView | Promise<StateView>) => (v instanceof Promise ? await v : v);
/** Until every message in flight arrived (each hop is one setImmediate; a timer could fire between them). */
const tick = async () => {
  for (let i = 0; i < 8; i++) await new Promise((r) => setImmediate(r));
};

describe('--num_workers shared state through the primary', () => {
  it('a key limit is one count across workers, and the headers see the shared count', async () => {
    const { links } = cluster(2);
    const [l1, l2] = links.map((l) => new IpcRateLimiter(l));
    const key: LimitDescriptor = { type: 'api_key', id: 'hash-1', rpm: 3 };
    const now = Date.now();
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await (i % 2 ? l2! : l1!).acquire([key], now));
    expect(answers.filter((r) => r === undefined)).toHaveLength(3);
    expect(answers[5]).toMatchObject({ limitType: 'requests', limit: 3 });
    expect(l1!.state(key, now).requests).toBe(3);
    expect(l2!.state(key, now).requests).toBe(3);
  });

  it('a cooldown caused on one worker is skipped by the other', async () => {
    const { links } = cluster(3);
    const s1 = new IpcRouterState(links[0]!);
    const s2 = new IpcRouterState(links[1]!);
    const s3 = new IpcRouterState(links[2]!);
    const w1 = group();
    const w2 = group();
    const w3 = group();
    const now = Date.now();
    await read(s2.read(w2.g, now)); // worker 2 has routed this group before
    const r = rules({ allowed_fails: 1, cooldown_time: 30 });
    for (let i = 0; i < 2; i++) {
      s1.begin(w1.a, false, now);
      const fault = new GatewayError(500, { message: 'boom', errorClass: 'upstream' });
      s1.settle({ deployment: w1.a, groupSize: 2, windowTokens: 0, latencyMs: -1, fault }, r, now);
    }
    await tick();
    const v = await read(s2.read(w2.g, now));
    expect(v.of(w2.a).cooldownUntil).toBeGreaterThanOrEqual(now + 30_000);
    expect(v.of(w2.b).cooldownUntil).toBe(0);
    // a worker that routes the group only later learns it too
    expect((await read(s3.read(w3.g, now))).of(w3.a).cooldownUntil).toBeGreaterThanOrEqual(now + 30_000);
  });

  it("a deployment's rpm window counts the requests of every worker; an unlimited group stays local", async () => {
    const { links } = cluster(2);
    const s1 = new IpcRouterState(links[0]!);
    const s2 = new IpcRouterState(links[1]!);
    const w1 = group(5);
    const w2 = group(5);
    const now = Date.now();
    for (let i = 0; i < 3; i++) s1.begin(w1.a, true, now);
    s2.begin(w2.a, true, now);
    const v = s2.read(w2.g, now);
    expect(v).toBeInstanceOf(Promise);
    expect((await read(v)).of(w2.a).requests).toBe(4);
    const free = group();
    expect(s2.read(free.g, now)).not.toBeInstanceOf(Promise);
  });
});
