import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubiyaContext } from '../../src/config/contexts/index.js';
import { type ResolveInput, resolveProxyPlan } from '../../src/config/resolve.js';
import type { QueueConfigResult, QueueSettings } from '../../src/control-plane/client.js';
import { UserError } from '../../src/errors.js';

const cfg = (name: string) => ({ model_list: [{ model_name: name, litellm_params: { model: `openai/${name}` } }] });
let dir: string;
let flagFile: string;
let envFile: string;
let ctxFile: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubiya-resolve-'));
  flagFile = path.join(dir, 'flag.yaml');
  envFile = path.join(dir, 'env.json');
  ctxFile = path.join(dir, 'ctx.yaml');
  fs.writeFileSync(flagFile, 'model_list:\n  - model_name: from-flag-file\n    litellm_params: {model: openai/x}\n');
  fs.writeFileSync(envFile, JSON.stringify(cfg('from-env-file')));
  fs.writeFileSync(ctxFile, 'model_list:\n  - model_name: from-ctx-file\n    litellm_params: {model: openai/x}\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const context = (proxy: KubiyaContext['litellmProxy'], extra: Partial<KubiyaContext> = {}): KubiyaContext => ({
  name: 'c1',
  litellmProxy: proxy,
  ...extra,
});
const queue =
  (settings: QueueSettings): ResolveInput['fetchQueue'] =>
  async () => ({ ok: true, settings, warnings: [] });
const down =
  (reason: string): ResolveInput['fetchQueue'] =>
  async (): Promise<QueueConfigResult> => ({ ok: false, reason });

async function plan(p: Partial<ResolveInput>) {
  return resolveProxyPlan({ queueId: 'q1', flags: {}, env: {}, ...p });
}
const models = (pl: Awaited<ReturnType<typeof plan>>) => pl.config?.config.model_list.map((m) => m.model_name);

describe('each level alone', () => {
  it('flags: a config file', async () => {
    const p = await plan({ flags: { proxyConfigFile: flagFile, model: 'm-flag' } });
    expect(p.mode).toBe('local-proxy');
    expect(models(p)).toEqual(['from-flag-file']);
    expect(p.origins).toMatchObject({
      enableLocalProxy: 'flag',
      config: 'flag',
      model: 'flag',
      controlPlaneUrl: 'default',
    });
    expect(p.configSource).toEqual({ level: 'flag', label: flagFile });
  });
  it('env: inline JSON and model', async () => {
    const p = await plan({
      env: { KUBIYA_PROXY_CONFIG_JSON: JSON.stringify(cfg('from-env-json')), KUBIYA_MODEL: 'm-env' },
    });
    expect(models(p)).toEqual(['from-env-json']);
    expect(p.origins).toMatchObject({ enableLocalProxy: 'env', config: 'env', model: 'env' });
    expect(p.configSource?.label).toBe('KUBIYA_PROXY_CONFIG_JSON');
  });
  it('context: config-file (~ and relative paths) and config-json', async () => {
    const p = await plan({
      context: context({ enabled: true, configFile: 'ctx.yaml', model: 'm-ctx' }),
      contextFile: path.join(dir, 'config'),
    });
    expect(models(p)).toEqual(['from-ctx-file']);
    expect(p.origins).toMatchObject({ enableLocalProxy: 'context', config: 'context', model: 'context' });
    const j = await plan({ context: context({ enabled: true, configJson: JSON.stringify(cfg('from-ctx-json')) }) });
    expect(models(j)).toEqual(['from-ctx-json']);
  });
  it('queue settings', async () => {
    const p = await plan({
      flags: { apiKey: 'k-123456' },
      fetchQueue: queue({
        enableLocalLitellmProxy: true,
        litellmConfig: cfg('from-queue'),
        localProxyTimeoutSeconds: 12,
        localProxyMaxRetries: 7,
      }),
    });
    expect(models(p)).toEqual(['from-queue']);
    expect(p.origins).toMatchObject({
      enableLocalProxy: 'queue',
      config: 'queue',
      proxyTimeoutSeconds: 'queue',
      proxyMaxRetries: 'queue',
    });
    expect([p.proxyTimeoutSeconds, p.proxyMaxRetries]).toEqual([12, 7]);
  });
  it('gateway: nothing asked for', async () => {
    const p = await plan({ flags: { apiKey: 'k-123456' }, fetchQueue: queue({}) });
    expect(p.mode).toBe('gateway');
    expect(p.gatewayUrl).toBe('https://llm-proxy.kubiya.ai');
    expect(p.origins).toMatchObject({ enableLocalProxy: 'default', gatewayUrl: 'default', apiKey: 'flag' });
  });
});

describe('override pairs: the higher level wins each setting it gives', () => {
  const ctx = () => context({ enabled: true, configFile: ctxFile, model: 'm-ctx' });
  it('flag beats env', async () => {
    const p = await plan({
      flags: { proxyConfigFile: flagFile, model: 'm-flag' },
      env: { KUBIYA_PROXY_CONFIG_FILE: envFile, KUBIYA_MODEL: 'm-env' },
    });
    expect([models(p), p.model]).toEqual([['from-flag-file'], 'm-flag']);
  });
  it("env beats context (the documented order, not the reference CLI's)", async () => {
    const p = await plan({ env: { KUBIYA_PROXY_CONFIG_FILE: envFile, KUBIYA_MODEL: 'm-env' }, context: ctx() });
    expect([models(p), p.model, p.origins.config, p.origins.model]).toEqual([['from-env-file'], 'm-env', 'env', 'env']);
  });
  it('context beats queue', async () => {
    const p = await plan({
      context: context({ enabled: true, configFile: ctxFile }, { token: 'k-ctx-123' }),
      fetchQueue: queue({ enableLocalLitellmProxy: true, litellmConfig: cfg('from-queue') }),
    });
    expect([models(p), p.origins.config, p.origins.apiKey]).toEqual([['from-ctx-file'], 'context', 'context']);
  });
  it('settings mix: model from the context, config from env', async () => {
    const p = await plan({ env: { KUBIYA_PROXY_CONFIG_FILE: envFile }, context: ctx() });
    expect([p.origins.config, p.origins.model, p.model]).toEqual(['env', 'context', 'm-ctx']);
  });
  it('env false beats context enabled; a flag beats env false', async () => {
    const off = await plan({ env: { KUBIYA_ENABLE_LOCAL_PROXY: 'no' }, context: ctx() });
    expect([off.mode, off.origins.enableLocalProxy]).toEqual(['gateway', 'env']);
    const on = await plan({
      flags: { enableLocalProxy: true },
      env: { KUBIYA_ENABLE_LOCAL_PROXY: '0' },
      context: ctx(),
    });
    expect([on.mode, models(on), on.origins.enableLocalProxy, on.origins.config]).toEqual([
      'local-proxy',
      ['from-ctx-file'],
      'flag',
      'context',
    ]);
  });
  it('a config file beats inline JSON at the same level, with a warning', async () => {
    const p = await plan({ flags: { proxyConfigFile: flagFile, proxyConfigJson: JSON.stringify(cfg('inline')) } });
    expect(models(p)).toEqual(['from-flag-file']);
    expect(p.warnings).toContain(
      'both --proxy-config-file and --proxy-config-json are set; using the file and ignoring --proxy-config-json',
    );
  });
  it('control plane URL and API key: flag > env > context > default', async () => {
    const c = context(undefined, { apiUrl: 'https://ctx.example.com', token: 'k-ctx-123' });
    const env = { KUBIYA_CONTROL_PLANE_BASE_URL: 'https://env.example.com', KUBIYA_API_KEY: 'k-env-123' };
    const fetched: string[] = [];
    const fetchQueue: ResolveInput['fetchQueue'] = async (a) => (
      fetched.push(`${a.controlPlaneUrl} ${a.apiKey}`), { ok: true, settings: {}, warnings: [] }
    );
    await plan({
      flags: { controlPlaneUrl: 'https://flag.example.com', apiKey: 'k-flag-123' },
      env,
      context: c,
      fetchQueue,
    });
    await plan({ env, context: c, fetchQueue });
    await plan({ context: c, fetchQueue });
    expect(fetched).toEqual([
      'https://flag.example.com k-flag-123',
      'https://env.example.com k-env-123',
      'https://ctx.example.com k-ctx-123',
    ]);
  });
  it('gateway URL: flag > env > context', async () => {
    const c = context(undefined, { llmGatewayUrl: 'http://ctx-gw:1' });
    expect(
      (
        await plan({
          flags: { gatewayUrl: 'http://flag-gw:1' },
          env: { KUBIYA_LLM_GATEWAY_URL: 'http://env-gw:1' },
          context: c,
        })
      ).gatewayUrl,
    ).toBe('http://flag-gw:1');
    expect((await plan({ env: { KUBIYA_LLM_GATEWAY_URL: 'http://env-gw:1' }, context: c })).gatewayUrl).toBe(
      'http://env-gw:1',
    );
    expect((await plan({ context: c })).gatewayUrl).toBe('http://ctx-gw:1');
  });
});

describe('failures', () => {
  it('an explicit config that does not load is an error (exit 2), never a fallback', async () => {
    await expect(
      plan({ flags: { proxyConfigFile: path.join(dir, 'missing.yaml') }, fetchQueue: queue({}) }),
    ).rejects.toMatchObject({
      exitCode: 2,
      message: `${path.join(dir, 'missing.yaml')}: cannot read the config file: no such file`,
    });
    await expect(plan({ env: { KUBIYA_PROXY_CONFIG_JSON: '{"model_list": 3}' } })).rejects.toThrow(
      'KUBIYA_PROXY_CONFIG_JSON: model_list: expected array, found number 3',
    );
  });
  it('enabled with no config anywhere is an error that says why', async () => {
    const e = await plan({
      flags: { enableLocalProxy: true, apiKey: 'k-123456' },
      fetchQueue: down('the control plane refused the connection (x)'),
    }).catch((x) => x);
    expect(e).toBeInstanceOf(UserError);
    expect(e.message).toBe(
      'the local proxy is enabled by --enable-local-proxy, but no LiteLLM config was given ' +
        '(the control plane refused the connection (x))',
    );
  });
  it("enabled at level 1-3 takes the queue's config", async () => {
    const p = await plan({
      env: { KUBIYA_ENABLE_LOCAL_PROXY: 'YES' },
      flags: { apiKey: 'k-123456' },
      fetchQueue: queue({ litellmConfig: JSON.stringify(cfg('from-queue')) }),
    });
    expect([models(p), p.origins.enableLocalProxy, p.origins.config]).toEqual([['from-queue'], 'env', 'queue']);
  });
  it('a bad KUBIYA_ENABLE_LOCAL_PROXY names the variable', async () => {
    await expect(plan({ env: { KUBIYA_ENABLE_LOCAL_PROXY: 'maybe' } })).rejects.toThrow(
      'KUBIYA_ENABLE_LOCAL_PROXY must be one of true, 1, yes, false, 0, no; found "maybe"',
    );
  });
  it('queue trouble at level 4 falls through to the gateway with the reason', async () => {
    const p = await plan({
      flags: { apiKey: 'k-123456' },
      fetchQueue: down('the control plane answered HTTP 500 at u'),
    });
    expect(p.mode).toBe('gateway');
    expect(p.warnings).toContain(
      "could not read the queue's settings: the control plane answered HTTP 500 at u; using the default LLM gateway",
    );
    const bad = await plan({
      flags: { apiKey: 'k-123456' },
      fetchQueue: queue({ enableLocalLitellmProxy: true, litellmConfig: { model_list: 'x' } }),
    });
    expect(bad.mode).toBe('gateway');
    expect(bad.warnings[0]).toMatch(
      /^the queue's litellm_config cannot be used \(queue settings: model_list: expected array/,
    );
  });
  it('an explicit config keeps working when the queue cannot answer; defaults for timeout and retries', async () => {
    const p = await plan({
      flags: { proxyConfigFile: flagFile, apiKey: 'k-123456' },
      fetchQueue: down('the control plane refused the connection (u)'),
    });
    expect([p.mode, p.proxyTimeoutSeconds, p.origins.proxyTimeoutSeconds, p.proxyMaxRetries]).toEqual([
      'local-proxy',
      30,
      'default',
      3,
    ]);
    expect(p.warnings).toContain(
      "could not read the queue's settings (the control plane refused the connection (u)); " +
        'using defaults for the proxy timeout and retries',
    );
    const t = await plan({
      flags: { proxyConfigFile: flagFile, apiKey: 'k-123456', proxyTimeoutSeconds: 9 },
      fetchQueue: queue({ localProxyTimeoutSeconds: 20 }),
    });
    expect([t.proxyTimeoutSeconds, t.origins.proxyTimeoutSeconds]).toEqual([9, 'flag']);
  });
  it('without an API key the queue is skipped with a note', async () => {
    let called = false;
    const p = await plan({ fetchQueue: async () => ((called = true), { ok: true, settings: {}, warnings: [] }) });
    expect(called).toBe(false);
    expect(p.notes?.[0]).toMatch(/^no API key/);
  });
});
