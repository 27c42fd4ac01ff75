import { describe, expect, it } from 'vitest';
import type { ConfigWarning } from '../../src/config/litellm/load.js';
import { litellmConfigSchema } from '../../src/config/litellm/schema.js';
import type { Deployment, ModelGroup } from '../../src/engine/deployment.js';
import { GatewayError } from '../../src/engine/errors.js';
import { newStats, recordFailure, retryAfterSeconds } from '../../src/engine/router/cooldown.js';
import { fallbackChain } from '../../src/engine/router/fallbacks.js';
import { catalogEntry, encodingFor } from '../../src/engine/router/model-catalog.js';
import { countPromptTokens } from '../../src/engine/router/pre-call.js';
import { retriesFor, retryDelayMs } from '../../src/engine/router/retry.js';
import { readRouterSettings } from '../../src/engine/router/settings.js';
import { MemoryRouterState } from '../../src/engine/state/memory.js';

function settings(router: Record<string, unknown> = {}, litellm: Record<string, unknown> = {}) {
  const warnings: ConfigWarning[] = [];
  const cfg = litellmConfigSchema.parse({ router_settings: router, litellm_settings: litellm });
  return { s: readRouterSettings(cfg, warnings), warnings };
}
const err = (status: number, cls?: GatewayError['errorClass'], retryAfter?: string) =>
  new GatewayError(status, { message: 'x', errorClass: cls, retryAfter });

describe('router settings', () => {
  it('maps retry_policy names to error classes; router_settings beats litellm_settings', () => {
    const { s, warnings } = settings(
      {
        retry_policy: {
          RateLimitErrorRetries: 5,
          BadRequestErrorRetries: 1,
          ContentPolicyViolationErrorRetries: 0,
          Bogus: 1,
        },
        num_retries: 4,
      },
      { num_retries: 9 },
    );
    expect(s.numRetries).toBe(4);
    expect(s.retryPolicy).toMatchObject({ rate_limit: 5, bad_request: 1, context_window: 1, content_policy: 0 });
    expect(warnings.map((w) => w.path)).toEqual(['router_settings.retry_policy.Bogus']);
  });

  it('reads fallbacks from either section and warns about an unknown strategy', () => {
    const { s, warnings } = settings(
      { fallbacks: [{ a: ['b'] }], routing_strategy: 'fastest' },
      { fallbacks: [{ a: ['z'] }, { c: ['d'] }], default_fallbacks: ['e'] },
    );
    expect(s.fallbacks.get('a')).toEqual(['b']);
    expect(s.fallbacks.get('c')).toEqual(['d']);
    expect(s.defaultFallbacks).toEqual(['e']);
    expect(s.strategy.name).toBe('simple-shuffle');
    expect(warnings[0].path).toBe('router_settings.routing_strategy');
  });

  it('selects every routing strategy LiteLLM names, and its aliases, without a warning', () => {
    const names = [
      'simple-shuffle',
      'least-busy',
      'latency-based-routing',
      'usage-based-routing-v2',
      'cost-based-routing',
    ];
    for (const n of names) {
      const { s, warnings } = settings({ routing_strategy: n });
      expect([s.strategy.name, warnings]).toEqual([n, []]);
    }
    expect(settings({ routing_strategy: 'usage-based-routing' }).s.strategy.name).toBe('usage-based-routing-v2');
    expect(settings({ routing_strategy: 'simple_shuffle' }).s.strategy.name).toBe('simple-shuffle');
    expect(settings({ routing_strategy: 'fastest' }).warnings[0].message).toContain(names.join(', '));
  });
});

describe('retries', () => {
  it('no retries for request errors unless a policy names them; configured counts retry in place', () => {
    const { s } = settings({ num_retries: 3, retry_policy: { AuthenticationErrorRetries: 2 } });
    expect(retriesFor(s, 'g', undefined, undefined, 'bad_request')).toEqual({ retries: 0, inPlace: false });
    expect(retriesFor(s, 'g', undefined, undefined, 'auth')).toEqual({ retries: 2, inPlace: true });
    expect(retriesFor(s, 'g', undefined, undefined, 'upstream')).toEqual({ retries: 3, inPlace: true });
    expect(retriesFor(s, 'g', 1, undefined, 'upstream').retries).toBe(1); // deployment's num_retries
    expect(retriesFor(s, 'g', 1, 0, 'upstream').retries).toBe(0); // the request's wins
    expect(retriesFor(settings().s, 'g', undefined, undefined, 'timeout')).toEqual({ retries: 2, inPlace: false });
  });

  it(
    'waits: retry_after only when another deployment is free; Retry-After honoured; ' + 'exponential backoff otherwise',
    () => {
      const { s } = settings({ retry_after: 0.2 });
      expect(retryDelayMs(s, err(500), 1, true)).toBe(200);
      expect(retryDelayMs(s, err(429, 'rate_limit', '3'), 1, false)).toBe(3000);
      expect(retryDelayMs(s, err(429, 'rate_limit', '3600'), 1, false)).toBe(-1);
      const d1 = retryDelayMs(s, err(500), 1, false);
      const d3 = retryDelayMs(s, err(500), 3, false);
      expect(d1).toBeGreaterThanOrEqual(375);
      expect(d1).toBeLessThanOrEqual(500);
      expect(d3).toBeGreaterThanOrEqual(1500);
      expect(d3).toBeLessThanOrEqual(2000);
    },
  );

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterSeconds('2')).toBe(2);
    expect(retryAfterSeconds(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3);
    expect(retryAfterSeconds('soon')).toBeUndefined();
  });
});

describe('cooldowns', () => {
  it(
    'cools down past allowed_fails in a minute, per-class policy first, 429 at once; ' + 'request errors never count',
    () => {
      const { s } = settings({
        allowed_fails: 1,
        cooldown_time: 10,
        allowed_fails_policy: { TimeoutErrorAllowedFails: 3 },
      });
      const now = 1_000_000;
      const st = newStats();
      expect(recordFailure(s, st, 2, err(400), now)).toBe(false);
      expect(recordFailure(s, st, 2, err(500), now)).toBe(false);
      expect(recordFailure(s, st, 2, err(500), now)).toBe(true);
      expect(st.cooldownUntil).toBe(now + 10_000);
      const t = newStats();
      for (let i = 0; i < 3; i++) expect(recordFailure(s, t, 2, err(504), now)).toBe(false);
      expect(recordFailure(s, t, 2, err(504), now)).toBe(true);
      const r = newStats();
      expect(recordFailure(s, r, 2, err(429, 'rate_limit', '30'), now)).toBe(true);
      expect(r.cooldownUntil).toBe(now + 30_000);
      expect(recordFailure(s, newStats(), 1, err(429), now)).toBe(false); // the only deployment
    },
  );

  it('failures from an earlier minute are forgotten', () => {
    const { s } = settings({ allowed_fails: 1 });
    const st = newStats();
    recordFailure(s, st, 2, err(500), 60_000);
    expect(recordFailure(s, st, 2, err(500), 120_000)).toBe(false);
  });
});

describe('fallback chains', () => {
  const { s } = settings(
    { fallbacks: [{ a: ['b'] }, { '*': ['star'] }], context_window_fallbacks: [{ a: ['big'] }] },
    { default_fallbacks: ['dflt'] },
  );
  it('picks the list by error class and name', () => {
    expect(fallbackChain(s, ['a'], err(500), {}).map((t) => t.model)).toEqual(['b']);
    expect(fallbackChain(s, ['x'], err(503), {}).map((t) => t.model)).toEqual(['star']);
    expect(fallbackChain(s, ['a'], err(400, 'context_window'), {}).map((t) => t.model)).toEqual(['big']);
    expect(fallbackChain(s, ['a'], err(400, 'content_policy'), {})).toEqual([]);
    expect(fallbackChain(s, ['a'], err(400), {})).toEqual([]);
  });
  it('takes the request body lists, object entries with their overrides', () => {
    const chain = fallbackChain(s, ['a'], err(500), { fallbacks: ['q', { model: 'r', temperature: 0 }] });
    expect(chain).toEqual([{ model: 'q' }, { model: 'r', overrides: { temperature: 0 } }]);
    const noStar = settings({}, { default_fallbacks: ['dflt'] }).s;
    expect(fallbackChain(noStar, ['a'], err(500), {}).map((t) => t.model)).toEqual(['dflt']);
  });
});

describe('catalog, tokens, usage', () => {
  it('knows common models by prefix, longest first', () => {
    expect(catalogEntry('gpt-4o-mini-2024-07-18')?.inputCost).toBeCloseTo(0.15e-6);
    expect(catalogEntry('openai/gpt-4o')?.maxInputTokens).toBe(128_000);
    expect(catalogEntry('bedrock/us.anthropic.claude-3-5-sonnet-20241022-v2:0')?.outputCost).toBeCloseTo(15e-6);
    expect(catalogEntry('llama3')).toBeUndefined();
    expect(encodingFor('gpt-4o')).toBe('o200k_base');
    expect(encodingFor('gpt-3.5-turbo')).toBe('cl100k_base');
  });

  it('counts prompt tokens with the BPE tokenizer', async () => {
    expect(await countPromptTokens('completion', { prompt: 'hello world' }, 'cl100k_base')).toBe(2);
    const chat = await countPromptTokens(
      'chat',
      { messages: [{ role: 'user', content: 'hello world' }] },
      'o200k_base',
    );
    expect(chat).toBe(3 + 3 + 1 + 2); // priming + message overhead + role + text
  });

  it('counts per minute and resets when the minute changes', () => {
    let now = 60_000 * 5 + 10;
    const u = new MemoryRouterState();
    const a = { id: 'a' } as Deployment;
    const g = { name: 'g', deployments: [a] } as unknown as ModelGroup;
    u.begin(a, true, now);
    u.settle({ deployment: a, groupSize: 1, windowTokens: 40, latencyMs: -1 }, settings().s, now);
    const v = u.read(g, now);
    expect([v.of(a).requests, v.of(a).tokens]).toEqual([1, 40]);
    expect(v.msToReset()).toBe(59_990);
    now += 60_000;
    const later = u.read(g, now);
    expect([later.of(a).requests, later.of(a).tokens]).toEqual([0, 0]);
  });
});
