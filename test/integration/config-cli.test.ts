import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CliHome, makeHome } from './config-run.js';

let h: CliHome;
beforeEach(() => {
  h = makeHome();
});
afterEach(() => h.cleanup());

const TOKEN = 'kb-very-secret-token-42';
const INLINE_KEY = 'sk-inline-provider-key-77';

describe('kubiya config', () => {
  it('a missing file is no contexts, not an error', async () => {
    const r = await h.run(['config', 'get-contexts', '--output', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ currentContext: null, contexts: [] });
    const c = await h.run(['config', 'current-context']);
    expect([c.code, c.stderr.trim()]).toEqual([
      1,
      'error: current-context is not set\nSet one with: kubiya config use-context NAME',
    ]);
  });

  it('set-context writes a 0600 file; get-contexts marks the current one', async () => {
    let r = await h.run([
      'config',
      'set-context',
      'prod',
      '--api-url',
      'https://cp.example.com',
      '--organization',
      'acme',
      '--user',
      'me@acme.com',
      '--token',
      TOKEN,
    ]);
    expect([r.code, r.stdout.trim()]).toEqual([0, 'Context "prod" created.']);
    r = await h.run([
      'config',
      'set-context',
      'dev',
      '--api-url',
      'http://localhost:8000',
      '--worker-command',
      'python -m w',
      '--llm-gateway-url',
      'http://gw:4000',
    ]);
    expect(JSON.parse((await h.run(['config', 'get-contexts', '-o', 'json'])).stdout).contexts[1]).toMatchObject({
      workerCommand: 'python -m w',
      llmGatewayUrl: 'http://gw:4000',
    });
    expect(fs.statSync(h.configPath).mode & 0o777).toBe(0o600);
    const text = fs.readFileSync(h.configPath, 'utf8');
    expect(text).toContain(`token: ${TOKEN}`);
    expect(text).toContain('current-context: prod');
    r = await h.run(['config', 'get-contexts']);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^CURRENT\s+NAME\s+API-URL\s+ORGANIZATION\s+USER\s+LOCAL-PROXY$/);
    expect(lines[1]).toMatch(/^\*\s+prod\s+https:\/\/cp\.example\.com\s+acme\s+me@acme\.com\s+-$/);
    expect(lines[2]).toMatch(/^\s+dev\s+http:\/\/localhost:8000/);
    expect(r.stdout).not.toContain(TOKEN);
  });

  it('set-context merges and never drops the litellm-proxy block', async () => {
    await h.run(['config', 'set-context', 'prod', '--api-url', 'https://cp.example.com', '--token', TOKEN]);
    await h.run(['config', 'set-proxy', '--enable', '--config-file', '~/.kubiya/litellm.yaml', '--model', 'gpt-4']);
    const r = await h.run(['config', 'set-context', 'prod', '--organization', 'neworg']);
    expect(r.stdout.trim()).toBe('Context "prod" modified.');
    const j = JSON.parse((await h.run(['config', 'get-contexts', '-o', 'json'])).stdout);
    expect(j.contexts[0]).toMatchObject({
      name: 'prod',
      current: true,
      apiUrl: 'https://cp.example.com',
      organization: 'neworg',
      hasToken: true,
      litellmProxy: { enabled: true, configFile: '~/.kubiya/litellm.yaml', configJson: null, model: 'gpt-4' },
    });
  });

  it('keeps comments and unknown keys on rewrite', async () => {
    fs.mkdirSync(path.dirname(h.configPath), { recursive: true });
    fs.writeFileSync(
      h.configPath,
      '# hand written\napiVersion: v1\nkind: Config\nextensions: [{name: x}]\ncurrent-context: a\n' +
        'contexts:\n  - name: a\n    context: {api-url: "http://a:1", team: blue}\nusers: []\n',
    );
    expect((await h.run(['config', 'set-context', 'a', '--organization', 'o'])).code).toBe(0);
    const text = fs.readFileSync(h.configPath, 'utf8');
    expect(text).toContain('# hand written');
    expect(text).toContain('extensions:');
    expect(text).toContain('team: blue');
    expect(text).toContain('organization: o');
  });

  it('use-context, rename-context, delete-context', async () => {
    await h.run(['config', 'set-context', 'a', '--api-url', 'http://a:1']);
    await h.run(['config', 'set-context', 'b', '--api-url', 'http://b:1']);
    let r = await h.run(['config', 'use-context', 'zzz']);
    expect([r.code, r.stderr.trim()]).toEqual([2, `error: no context named "zzz" in ${h.configPath}; contexts: a, b`]);
    r = await h.run(['config', 'use-context', 'b']);
    expect([r.code, r.stdout.trim()]).toEqual([0, 'Switched to context "b".']);
    expect((await h.run(['config', 'current-context'])).stdout.trim()).toBe('b');
    expect((await h.run(['config', 'current-context'], { KUBIYA_CONTEXT: 'a' })).stdout.trim()).toBe('a');
    expect(fs.readFileSync(h.configPath, 'utf8')).toContain('current-context: b');
    r = await h.run(['config', 'rename-context', 'b', 'beta']);
    expect(r.code).toBe(0);
    expect((await h.run(['config', 'current-context'])).stdout.trim()).toBe('beta');
    r = await h.run(['config', 'rename-context', 'beta', 'a']);
    expect([r.code, r.stderr.trim()]).toEqual([
      2,
      'error: cannot rename "beta" to "a": a context named "a" already exists',
    ]);
    r = await h.run(['config', 'delete-context', 'beta']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('"beta" was the current context; none is current now');
    expect(
      JSON.parse((await h.run(['config', 'get-contexts', '-o', 'json'])).stdout).contexts.map(
        (c: { name: string }) => c.name,
      ),
    ).toEqual(['a']);
  });

  it('set-proxy validates its flags', async () => {
    await h.run(['config', 'set-context', 'a', '--api-url', 'http://a:1']);
    const cases: [string[], string][] = [
      [['--enable', '--disable'], 'error: set-proxy: --enable and --disable cannot be used together'],
      [[], 'error: set-proxy: say --enable or --disable'],
      [
        ['--enable', '--config-file', 'x', '--config-json', '{}'],
        'error: set-proxy: give --config-file or --config-json, not both',
      ],
      [
        ['--enable', '--config-json', '[1]'],
        'error: --config-json: expected a JSON object such as {"model_list": [...]}',
      ],
      [['--enable', '--context', 'nope'], `error: no context named "nope" in ${h.configPath}; contexts: a`],
    ];
    for (const [args, msg] of cases) {
      const r = await h.run(['config', 'set-proxy', ...args]);
      expect([r.code, r.stderr.trim()]).toEqual([2, msg]);
    }
    const bad = await h.run(['config', 'set-proxy', '--enable', '--config-json', '{"model_list": [}']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: --config-json: not valid JSON: /);
  });

  it('view masks tokens and inline keys unless --raw', async () => {
    await h.run(['config', 'set-context', 'a', '--api-url', 'http://a:1', '--token', TOKEN]);
    const json = JSON.stringify({
      model_list: [{ model_name: 'm', litellm_params: { model: 'openai/m', api_key: INLINE_KEY } }],
    });
    await h.run(['config', 'set-proxy', '--enable', '--config-json', json]);
    for (const args of [
      ['config', 'view'],
      ['config', 'view', '-o', 'json'],
      ['config', 'get-contexts', '-o', 'json'],
    ]) {
      const r = await h.run(args);
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain(TOKEN);
      expect(r.stdout).not.toContain(INLINE_KEY);
    }
    const masked = await h.run(['config', 'view']);
    expect(masked.stdout).toContain('token: kb-****42');
    const raw = await h.run(['config', 'view', '--raw']);
    expect(raw.stdout).toContain(TOKEN);
    expect(raw.stdout).toContain(INLINE_KEY);
  });

  it('a malformed file is an error naming the file and line (exit 2)', async () => {
    fs.mkdirSync(path.dirname(h.configPath), { recursive: true });
    fs.writeFileSync(h.configPath, 'apiVersion: v1\ncontexts:\n  - name: a\n    context: {api-url: "x"\n');
    const r = await h.run(['config', 'get-contexts']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^error: ${h.configPath.replace(/[.]/g, '\\.')}:\\d+:\\d+: YAML syntax error`));
  });

  it('--help teaches with examples', async () => {
    const r = await h.run(['config', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('kubiya config set-context prod --api-url');
    expect(r.stdout).toContain('KUBIYA_CONTEXT');
  });
});

describe('config set-proxy --config-file with a relative path', () => {
  it('means the file as seen from where the command ran, and worker start finds it', async () => {
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
    expect((await h.run(['config', 'current-context'])).code).toBe(1);
    const j = await h.run(['config', 'current-context', '-o', 'json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout).currentContext).toBeNull();
    await h.run(['config', 'set-context', 'c']);
    const ok = await h.run(['config', 'current-context', '-o', 'json']);
    expect([ok.code, JSON.parse(ok.stdout).currentContext]).toEqual([0, 'c']);
  });
});

// Secrets under keys that do not end in "api_key"/"token" (AWS secret keys, kubectl-style key data,
// private keys) must be masked too: `config view` is pasted into tickets and chats.
const SECRETS = ['LITERALAWSSECRET0987', 'KEYDATA-abcdef-999', 'PRIVATEKEY-zz-123456', 'BEARER-qq-7654321'];

describe('secrets under every secret-looking key stay masked', () => {
  it('config view masks aws_secret_access_key, client-key-data, private_key and bearer tokens', async () => {
    fs.mkdirSync(path.dirname(h.configPath), { recursive: true });
    fs.writeFileSync(
      h.configPath,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: a',
        'contexts:',
        '  - name: a',
        '    context:',
        '      user: u1',
        '      litellm-proxy:',
        '        enabled: true',
        '        config-json:',
        '          model_list:',
        '            - model_name: m',
        `              litellm_params: {model: bedrock/x, aws_secret_access_key: ${SECRETS[0]}, ` +
          `private_key: ${SECRETS[2]}, aws_bearer_token: ${SECRETS[3]}}`,
        'users:',
        '  - name: u1',
        `    user: {token: tok-ABCDEFGH, client-key-data: ${SECRETS[1]}}`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    for (const args of [
      ['config', 'view'],
      ['config', 'view', '-o', 'json'],
      ['config', 'get-contexts', '-o', 'json'],
    ]) {
      const r = await h.run(args);
      expect(r.code).toBe(0);
      for (const s of SECRETS) expect(r.stdout + r.stderr, `${args.join(' ')} shows ${s}`).not.toContain(s);
    }
    const raw = await h.run(['config', 'view', '--raw']);
    expect(raw.stdout).toContain(SECRETS[0]);
  });
});

describe('config set-proxy and current-context agree with worker start (issue 14)', () => {
  it('set-proxy warns about a config file that does not exist and refuses a JSON config serving no model', async () => {
    await h.run(['config', 'set-context', 'a', '--api-url', 'https://cp.example']);
    await h.run(['config', 'use-context', 'a']);
    const missing = await h.run(['config', 'set-proxy', '--enable', '--config-file', '/nonexistent/litellm.yaml']);
    expect(missing.code).toBe(0);
    expect(missing.stderr).toContain('--config-file /nonexistent/litellm.yaml does not exist');
    const empty = await h.run(['config', 'set-proxy', '--enable', '--config-json', '{"model_list":[]}']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('model_list is missing or empty');
  });

  it('current-context with a KUBIYA_CONTEXT that names no context is the error worker start gives', async () => {
    await h.run(['config', 'set-context', 'a', '--api-url', 'https://cp.example']);
    const r = await h.run(['config', 'current-context'], { KUBIYA_CONTEXT: 'zzz' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('KUBIYA_CONTEXT names "zzz", which is not a context');
    expect(r.stdout).not.toContain('zzz');
    const start = await h.run(['worker', 'start', '--queue-id', 'q', '--dry-run'], { KUBIYA_CONTEXT: 'zzz' });
    expect(start.code).toBe(r.code);
  });
});
