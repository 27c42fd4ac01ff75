import { describe, expect, it } from 'vitest';
import type { ConfigWarning } from '../../src/config/litellm/load.js';
import { litellmConfigSchema } from '../../src/config/litellm/schema.js';
import type { Deployment, ModelGroup } from '../../src/engine/deployment.js';
import { GatewayError } from '../../src/engine/errors.js';
import { readRouterSettings } from '../../src/engine/router/settings.js';
import { MemoryRouterState } from '../../src/engine/state/memory.js';
import type { SettledAttempt } from '../../src/engine/state/router-state.js';

const rules = (router: Record<string, unknown> = {}) => {
  const warnings: ConfigWarning[] = [];
  return readRouterSettings(litellmConfigSchema.parse({ router_settings: router }), warnings);
};
const a = { id: 'a' } as Deployment;
const b = { id: 'b' } as Deployment;
const group = { name: 'g', deployments: [a, b] } as unknown as ModelGroup;
const settled = (over: Partial<SettledAttempt> = {}): SettledAttempt => ({
  deployment: a,
  groupSize: 2,
  windowTokens: 0,
  latencyMs: -1,
  ...over,
});
const T = 60_000 * 100 + 1_000; // one second into a minute

describe('the memory RouterState', () => {
  it('counts in flight from begin to settle; requests and tokens only in a counted window', () => {
    const st = new MemoryRouterState();
    const view = st.read(group, T);
    st.begin(a, false, T);
    st.begin(a, true, T);
    expect(view.of(a)).toMatchObject({ inflight: 2, requests: 1, tokens: 0 });
    st.settle(settled({ windowTokens: 30 }), rules(), T);
    expect(view.of(a)).toMatchObject({ inflight: 1, requests: 1, tokens: 30 });
    expect(view.of(b)).toMatchObject({ inflight: 0, requests: 0, tokens: 0, latencyMs: 0, cooldownUntil: 0 });
  });

  it('forgets the window when the minute changes, and says when it will', () => {
    const st = new MemoryRouterState();
    st.begin(a, true, T);
    expect(st.read(group, T).msToReset()).toBe(59_000);
    const next = st.read(group, T + 60_000);
    expect(next.of(a)).toMatchObject({ requests: 0, inflight: 1 });
    expect(next.msToReset()).toBe(59_000);
  });

  it('folds latency samples into a moving average; a negative sample is none', () => {
    const st = new MemoryRouterState();
    st.begin(a, false, T);
    st.settle(settled({ latencyMs: 100 }), rules(), T);
    st.begin(a, false, T);
    st.settle(settled({ latencyMs: 200 }), rules(), T);
    st.begin(a, false, T);
    st.settle(settled({ latencyMs: -1 }), rules(), T);
    expect(st.read(group, T).of(a).latencyMs).toBeCloseTo(130);
  });

  it('counts faults under the cooldown rules: past allowed_fails, a 429 at once, never the only deployment', () => {
    const r = rules({ allowed_fails: 1, cooldown_time: 10 });
    const st = new MemoryRouterState();
    const fault = (status: number, over: Partial<SettledAttempt> = {}) => {
      st.begin(over.deployment ?? a, false, T);
      st.settle(settled({ fault: new GatewayError(status, { message: 'x' }), ...over }), r, T);
    };
    fault(500);
    expect(st.read(group, T).of(a).cooldownUntil).toBe(0);
    fault(500);
    expect(st.read(group, T).of(a).cooldownUntil).toBe(T + 10_000);
    fault(429, { deployment: b });
    expect(st.read(group, T).of(b).cooldownUntil).toBe(T + 10_000);
    const alone = new MemoryRouterState();
    alone.settle(settled({ groupSize: 1, fault: new GatewayError(429, { message: 'x' }) }), r, T);
    expect(alone.read(group, T).of(a).cooldownUntil).toBe(0);
  });

  it('a request error is no fault of the deployment', () => {
    const st = new MemoryRouterState();
    const bad = settled({ fault: new GatewayError(400, { message: 'bad' }) });
    for (let i = 0; i < 5; i++) st.settle(bad, rules({ allowed_fails: 0 }), T);
    expect(st.read(group, T).of(a).cooldownUntil).toBe(0);
  });
});
