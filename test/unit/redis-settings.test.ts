import { describe, expect, it } from 'vitest';
import { loadLiteLLMConfig } from '../../src/config/litellm/load.js';
import { redisSettings, redisWhere } from '../../src/engine/redis/settings.js';

const settings = (value: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) =>
  redisSettings(loadLiteLLMConfig({ kind: 'object', value, label: 't' }, { env }).config, env);

describe('where the shared Redis is', () => {
  it('nowhere: no Redis, state stays in the engine', () => {
    expect(settings({})).toBeUndefined();
    expect(settings({ litellm_settings: { cache: true, cache_params: { type: 'local' } } })).toBeUndefined();
  });

  it('router_settings first, the environment filling what it left out; the password never in where', () => {
    const s = settings(
      { router_settings: { redis_host: '10.0.0.5', redis_port: 6380, redis_db: 2 } },
      { REDIS_PASSWORD: 'pw-secret-123', REDIS_HOST: 'ignored' },
    );
    expect(s).toMatchObject({ mode: 'single', host: '10.0.0.5', port: 6380, db: 2, password: 'pw-secret-123' });
    expect(s?.source).toBe('router_settings');
    expect(redisWhere(s!)).toBe('10.0.0.5:6380/2');
  });

  it('a redis_url gives host and port; rediss:// turns TLS on', () => {
    const s = settings({ router_settings: { redis_url: 'rediss://:pw-secret@cache.local:6390/0' } });
    expect(s).toMatchObject({ host: 'cache.local', port: 6390, tls: true });
    expect(redisWhere(s!)).not.toContain('pw-secret');
  });

  it('cache_params: Cluster startup nodes in every shape LiteLLM takes', () => {
    const s = settings({
      litellm_settings: {
        cache_params: { redis_startup_nodes: [{ host: 'a', port: 7000 }, ['b', 7001], 'c:7002'] },
      },
    });
    expect(s?.mode).toBe('cluster');
    expect(s?.nodes).toEqual([
      { host: 'a', port: 7000 },
      { host: 'b', port: 7001 },
      { host: 'c', port: 7002 },
    ]);
    expect(redisWhere(s!)).toBe('cluster a:7000,b:7001,c:7002');
  });

  it('Sentinel: nodes and the master name; nodes without a name are an error naming where', () => {
    const s = settings({
      litellm_settings: { cache_params: { sentinel_nodes: [['s1', 26379]], service_name: 'mymaster' } },
    });
    expect(s).toMatchObject({ mode: 'sentinel', name: 'mymaster', sentinels: [{ host: 's1', port: 26379 }] });
    expect(() => settings({ litellm_settings: { cache_params: { sentinel_nodes: [['s1', 26379]] } } })).toThrow(
      /litellm_settings\.cache_params: sentinel nodes are set but not service_name/,
    );
  });

  it('the environment alone: REDIS_CLUSTER_NODES as JSON', () => {
    const s = settings({}, { REDIS_CLUSTER_NODES: '[{"host":"n1","port":7000}]' });
    expect(s).toMatchObject({ mode: 'cluster', source: 'environment (REDIS_*)', nodes: [{ host: 'n1', port: 7000 }] });
    expect(() => settings({}, { REDIS_CLUSTER_NODES: '[{"port":7000}]' })).toThrow(/REDIS_CLUSTER_NODES\[0\]/);
  });
});
