import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeControlPlane, refusedUrl, startFakeControlPlane } from '../fakes/control-plane.js';
import { type CliHome, makeHome } from './config-run.js';

const API_KEY = 'kb-api-key-not-for-output-991';
const PROVIDER_KEY = 'sk-provider-secret-not-for-output-552';
const QUEUE_CONFIG = {
  model_list: [
    { model_name: 'q-model', litellm_params: { model: 'openai/gpt-4o', api_key: 'os.environ/PROVIDER_KEY' } },
  ],
};

let h: CliHome;
let cp: FakeControlPlane;
beforeAll(async () => {
  cp = await startFakeControlPlane({ kind: 'ok', settings: {} });
});
afterAll(() => cp.close());
beforeEach(() => {
  h = makeHome();
});
afterEach(() => h.cleanup());

async function dryRun(args: string[], env: Record<string, string> = {}) {
  const r = await h.run(['worker', 'start', '--queue-id', 'q1', '--dry-run', '--output', 'json', ...args], env);
  return { ...r, plan: r.code === 0 ? JSON.parse(r.stdout) : undefined };
}
const withCp = { KUBIYA_API_KEY: API_KEY, PROVIDER_KEY, KUBIYA_CONTROL_PLANE_TIMEOUT: '0.5' };

describe('worker start --dry-run against a control plane on 127.0.0.1', () => {
  it('200: the queue settings enable the local proxy with their litellm_config', async () => {
    cp.set({
      kind: 'ok',
      settings: {
        enable_local_litellm_proxy: true,
        litellm_config: QUEUE_CONFIG,
        local_proxy_timeout_seconds: 45,
        local_proxy_max_retries: 2,
      },
    });
    const before = cp.requests.length;
    const r = await dryRun(['--control-plane-url', cp.url], withCp);
    expect(r.code).toBe(0);
    expect(cp.requests.slice(before)).toEqual([
      { method: 'GET', path: '/api/v1/worker-queues/q1/config', authorization: `Bearer ${API_KEY}` },
    ]);
    expect(r.plan.mode).toBe('local-proxy');
    expect(r.plan.config).toEqual({
      source: 'queue settings',
      level: 'queue',
      models: ['q-model'],
      default_model: 'q-model',
    });
    expect(r.plan.settings.proxyTimeoutSeconds).toEqual({ value: 45, from: 'queue' });
    expect(r.plan.settings.proxyMaxRetries).toEqual({ value: 2, from: 'queue' });
    expect(r.plan.settings.apiKey).toEqual({ value: 'kb-****91', from: 'env' });
    expect(r.stdout + r.stderr).not.toContain(API_KEY);
    expect(r.stdout + r.stderr).not.toContain(PROVIDER_KEY);
  });

  const failures: [string, () => Promise<{ url: string }>, RegExp][] = [
    [
      '401',
      async () => (cp.set({ kind: 'status', status: 401 }), cp),
      /the control plane rejected the API key \(HTTP 401\)/,
    ],
    [
      '404',
      async () => (cp.set({ kind: 'status', status: 404 }), cp),
      /the control plane has no queue "q1" \(HTTP 404/,
    ],
    [
      '500',
      async () => (cp.set({ kind: 'status', status: 500, body: 'boom' }), cp),
      /the control plane answered HTTP 500 at .*: boom/,
    ],
    ['hang', async () => (cp.set({ kind: 'hang' }), cp), /the control plane did not answer within 0\.5 s/],
    ['refused', async () => ({ url: await refusedUrl() }), /the control plane refused the connection/],
  ];
  it.each(failures)('%s: falls through to the gateway with a warning that says why', async (_n, setup, why) => {
    const { url } = await setup();
    const r = await dryRun(['--control-plane-url', url], withCp);
    expect(r.code).toBe(0);
    expect(r.plan.mode).toBe('gateway');
    expect(r.plan.settings.gatewayUrl).toEqual({ value: 'https://llm-proxy.kubiya.ai', from: 'default' });
    expect(r.plan.warnings).toHaveLength(1);
    expect(r.plan.warnings[0]).toMatch(why);
    expect(r.plan.warnings[0]).toMatch(/using the default LLM gateway$/);
  });

  it('an explicit local config wins over the queue, and its failure is exit 2 (no fallback)', async () => {
    cp.set({ kind: 'ok', settings: { enable_local_litellm_proxy: true, litellm_config: QUEUE_CONFIG } });
    const json = JSON.stringify({
      model_list: [{ model_name: 'flag-model', litellm_params: { model: 'ollama/llama3' } }],
    });
    const ok = await dryRun(['--control-plane-url', cp.url, '--proxy-config-json', json], withCp);
    expect(ok.plan.config).toEqual({
      source: '--proxy-config-json',
      level: 'flag',
      models: ['flag-model'],
      default_model: 'flag-model',
    });
    const bad = await dryRun(['--control-plane-url', cp.url, '--proxy-config-json', '{"model_list": [}'], withCp);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stderr).error.message).toMatch(/^--proxy-config-json:1:\d+: JSON syntax error/);
  });
});

describe('worker start: contexts, text output and bad input', () => {
  it('uses the current context (config-file with ~), KUBIYA_CONTEXT switches it', async () => {
    fs.mkdirSync(path.join(h.home, '.kubiya'), { recursive: true });
    fs.writeFileSync(
      path.join(h.home, '.kubiya', 'ctx.yaml'),
      'model_list:\n  - model_name: ctx-model\n    litellm_params: {model: ollama/llama3}\n',
    );
    await h.run(['config', 'set-context', 'a', '--api-url', 'http://127.0.0.1:9']);
    await h.run(['config', 'set-proxy', '--enable', '--config-file', '~/.kubiya/ctx.yaml', '--model', 'ctx-model']);
    await h.run(['config', 'set-context', 'b', '--api-url', 'http://127.0.0.1:9']);
    const a = await dryRun([]);
    expect(a.plan.context).toBe('a');
    expect(a.plan.config).toEqual({
      source: path.join(h.home, '.kubiya', 'ctx.yaml'),
      level: 'context',
      models: ['ctx-model'],
      default_model: 'ctx-model',
    });
    expect(a.plan.settings.model).toEqual({ value: 'ctx-model', from: 'context' });
    for (const off of ['--no-enable-local-proxy', '--disable-local-proxy']) {
      const d = await dryRun([off]);
      expect([d.plan.mode, d.plan.settings.enableLocalProxy]).toEqual(['gateway', { value: false, from: 'flag' }]);
    }
    const b = await dryRun([], { KUBIYA_CONTEXT: 'b' });
    expect([b.plan.context, b.plan.mode]).toEqual(['b', 'gateway']);
    // a model the config does not serve stops the start (worker-modes.test.ts); skipped, it is a warning
    const env = await dryRun(['--skip-model-validation'], { KUBIYA_MODEL: 'env-model' });
    expect(env.plan.settings.model).toEqual({ value: 'env-model', from: 'env' });
    expect(env.plan.warnings).toContain('the default model "env-model" is not in the config\'s model_list (ctx-model)');
  });

  it('worker command: -- args > --worker-command > KUBIYA_WORKER_COMMAND > context', async () => {
    fs.mkdirSync(path.join(h.home, '.kubiya'), { recursive: true });
    fs.writeFileSync(
      h.configPath,
      'current-context: a\ncontexts:\n  - name: a\n    context: {worker-command: "ctx-worker --x"}\n',
    );
    const env = { KUBIYA_WORKER_COMMAND: 'env-worker "two words"' };
    const cmd = async (args: string[], e: Record<string, string>) => (await dryRun(args, e)).plan.worker;
    expect(await cmd(['--worker-command', 'flag-worker', '--', 'dash-worker', '--y'], env)).toEqual({
      command: ['dash-worker', '--y'],
      from: 'flag (after --)',
    });
    expect(await cmd(['--worker-command', "flag-worker 'a b'"], env)).toEqual({
      command: ['flag-worker', 'a b'],
      from: 'flag (--worker-command)',
    });
    expect(await cmd([], env)).toEqual({ command: ['env-worker', 'two words'], from: 'env (KUBIYA_WORKER_COMMAND)' });
    expect(await cmd([], {})).toEqual({ command: ['ctx-worker', '--x'], from: 'context (a)' });
  });

  it('text dry run names the winning level of each setting and masks secrets', async () => {
    const file = path.join(h.home, 'c.yaml');
    fs.writeFileSync(
      file,
      'model_list:\n  - model_name: m1\n    litellm_params: {model: openai/x, api_key: os.environ/PROVIDER_KEY}\n' +
        'litellm_settings: {callbacks: [s3_v2]}\n', // a callback not implemented (langfuse is, now)
    );
    const r = await h.run(
      [
        'worker',
        'start',
        '--queue-id',
        'q1',
        '--dry-run',
        '--proxy-config-file',
        file,
        '--api-key',
        API_KEY,
        '--control-plane-url',
        await refusedUrl(),
      ],
      { PROVIDER_KEY },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/local proxy\s+enabled\s+\[flag\]/);
    expect(r.stdout).toMatch(new RegExp(`config\\s+${file.replace(/[.]/g, '\\.')}\\s+\\[flag\\]`));
    expect(r.stdout).toMatch(/api key\s+kb-\*\*\*\*91\s+\[flag\]/);
    expect(r.stdout).toContain('Models served (1): m1');
    expect(r.stdout).toContain(`${file}: litellm_settings.callbacks: not supported yet; ignored`);
    expect(r.stdout).toContain('Dry run: nothing was started.');
    expect(r.stdout + r.stderr).not.toContain(API_KEY);
    expect(r.stdout + r.stderr).not.toContain(PROVIDER_KEY);
    expect(fs.existsSync(path.join(h.home, '.kubiya'))).toBe(false); // a dry run creates nothing
  });

  const bad: [string[], Record<string, string>, string][] = [
    [['--queue-id', ''], {}, 'error: --queue-id must not be empty'],
    [['--queue-id', 'a/b'], {}, 'error: --queue-id "a/b" must not contain a slash'],
    [['--queue-id', '..'], {}, 'error: --queue-id ".." must not be "." or contain ".."'],
    [['--queue-id', 'a b'], {}, 'error: --queue-id "a b" may only contain letters, digits, ".", "_" and "-"'],
    [
      ['--queue-id', 'q', '--max-log-size', '10XB'],
      {},
      'error: --max-log-size: expected a size such as 10KB, 5MB or 1GB, found "10XB"',
    ],
    [['--queue-id', 'q', '--grace', '-1'], {}, 'error: --grace: expected a non-negative number of seconds, found "-1"'],
    [
      ['--queue-id', 'q'],
      { KUBIYA_ENABLE_LOCAL_PROXY: 'maybe' },
      'error: KUBIYA_ENABLE_LOCAL_PROXY must be one of true, 1, yes, false, 0, no; found "maybe"',
    ],
    [
      ['--queue-id', 'q', '--proxy-config-file', '/nonexistent/c.yaml'],
      {},
      'error: /nonexistent/c.yaml: cannot read the config file: no such file',
    ],
    [
      ['--queue-id', 'q', '--enable-local-proxy', '--disable-local-proxy'],
      {},
      'error: --enable-local-proxy and --disable-local-proxy cannot be used together',
    ],
    [
      ['--queue-id', 'q', '--control-plane-url', 'nota url'],
      {},
      'error: --control-plane-url: expected an http(s) URL such as https://control-plane.kubiya.ai, found "nota url"',
    ],
  ];
  it.each(bad)('%j %j: exit 2 with a clear message', async (args, env, message) => {
    const r = await h.run(['worker', 'start', ...args, '--dry-run'], env);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')[0]).toBe(message);
  });

  it('an unknown KUBIYA_CONTEXT is exit 2 listing the contexts', async () => {
    await h.run(['config', 'set-context', 'a', '--api-url', 'http://127.0.0.1:9']);
    const r = await h.run(['worker', 'start', '--queue-id', 'q', '--dry-run'], { KUBIYA_CONTEXT: 'zz' });
    expect([r.code, r.stderr.trim()]).toEqual([
      2,
      `error: KUBIYA_CONTEXT names "zz", which is not a context in ${h.configPath}; contexts: a`,
    ]);
  });

  it('--help teaches the resolution order and never shows the API key', async () => {
    const r = await h.run(['worker', 'start', '--help'], { KUBIYA_API_KEY: API_KEY });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('4. queue');
    expect(r.stdout).toContain('kubiya worker start --queue-id q1 --proxy-config-file ./litellm.yaml --dry-run');
    expect(r.stdout).not.toContain(API_KEY);
  });
});

describe('worker start --dry-run names the flags the user actually gave', () => {
  it('--no-enable-local-proxy / --disable-local-proxy are reported as such, not as --enable-local-proxy', async () => {
    for (const flag of ['--no-enable-local-proxy', '--disable-local-proxy']) {
      const r = await h.run([
        'worker',
        'start',
        '--queue-id',
        'q',
        flag,
        '--api-key',
        'kk-test-123456',
        '--dry-run',
        '--',
        'node',
        '-e',
        '1',
      ]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('local proxy disabled by --no-enable-local-proxy');
      expect(r.stdout).not.toContain('disabled by --enable-local-proxy');
    }
  });
});

describe('one queue-id check for the dry run, the real start and the other worker commands', () => {
  const ids: [string, string][] = [
    ['_q', 'error: --queue-id "_q" must start with a letter or digit'],
    ['.hidden', 'error: --queue-id ".hidden" must start with a letter or digit'],
    ['-rf', 'error: --queue-id "-rf" must start with a letter or digit'],
    ['../etc', 'error: --queue-id "../etc" must not contain a slash'],
    ['a..b', 'error: --queue-id "a..b" must not be "." or contain ".."'],
  ];
  it.each(ids)(
    '--queue-id %s: the same exit 2 and message with and without --dry-run; nothing is created',
    async (id, message) => {
      const start = ['worker', 'start', '--queue-id', id, '--no-enable-local-proxy', '--api-key', 'kk-test-123456'];
      const dry = await h.run([...start, '--dry-run', '--', 'node', '-e', '1']);
      expect([dry.code, dry.stderr.split('\n')[0]]).toEqual([2, message]);
      expect(dry.stdout).toBe('');
      const real = await h.run([...start, '--', 'node', '-e', '1']);
      expect(real).toEqual(dry);
      for (const cmd of [['stop'], ['status'], ['logs']]) {
        const r = await h.run(['worker', ...cmd, '--queue-id', id]);
        expect([r.code, r.stderr], cmd[0]).toEqual([dry.code, dry.stderr]);
      }
      expect(fs.existsSync(path.join(h.home, '.kubiya'))).toBe(false);
    },
  );
});
