import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  currentContext,
  deleteContext,
  kubiyaConfigPath,
  loadKubiyaConfig,
  renameContext,
  setContext,
  setProxy,
  useContext,
} from '../../src/config/contexts/index.js';
import { ConfigError, UserError } from '../../src/errors.js';

const SAMPLE = `# my kubiya config
apiVersion: v1
kind: Config
current-context: default
preferences: {colors: true}   # unknown to this CLI: must survive
contexts:
  - name: default
    context:
      api-url: https://control-plane.kubiya.ai
      organization: acme
      user: me@acme.com
      litellm-proxy:
        enabled: true
        config-file: ~/.kubiya/litellm_production.yaml   # ~ expands
        model: gpt-4
      custom-field: keep-me
  - name: dev
    context:
      api-url: http://localhost:8000
      worker-command: python -m worker --dev
      llm-gateway-url: http://localhost:4001
users:
  - name: me@acme.com
    user: {token: kb-secret-token-1234}
`;

let dir: string;
let file: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubiya-ctx-'));
  file = path.join(dir, 'config');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('reading ~/.kubiya/config', () => {
  it('a missing file means no contexts', () => {
    const cfg = loadKubiyaConfig(file);
    expect(cfg.exists).toBe(false);
    expect(cfg.contexts).toEqual([]);
    expect(currentContext(cfg, {})).toBeUndefined();
  });

  it('types the contexts and looks up the user token', () => {
    fs.writeFileSync(file, SAMPLE);
    const c = currentContext(loadKubiyaConfig(file), {})!;
    expect(c).toMatchObject({
      name: 'default',
      apiUrl: 'https://control-plane.kubiya.ai',
      organization: 'acme',
      token: 'kb-secret-token-1234',
    });
    expect(c.litellmProxy).toEqual({
      enabled: true,
      configFile: '~/.kubiya/litellm_production.yaml',
      configJson: undefined,
      model: 'gpt-4',
    });
    const dev = loadKubiyaConfig(file).get('dev')!;
    expect(dev.workerCommand).toBe('python -m worker --dev');
    expect(dev.llmGatewayUrl).toBe('http://localhost:4001');
  });

  it('KUBIYA_CONTEXT picks a context for one invocation; an unknown one lists the names', () => {
    fs.writeFileSync(file, SAMPLE);
    const cfg = loadKubiyaConfig(file);
    expect(currentContext(cfg, { KUBIYA_CONTEXT: 'dev' })!.name).toBe('dev');
    expect(() => currentContext(cfg, { KUBIYA_CONTEXT: 'prod' })).toThrow(
      `KUBIYA_CONTEXT names "prod", which is not a context in ${file}; contexts: default, dev`,
    );
  });

  it('a malformed file is an error naming the file and line', () => {
    fs.writeFileSync(file, 'apiVersion: v1\ncontexts:\n  - name: a\n   context: {\n');
    const e = (() => {
      try {
        loadKubiyaConfig(file);
      } catch (err) {
        return err as ConfigError;
      }
    })();
    expect(e).toBeInstanceOf(ConfigError);
    expect(e!.message).toMatch(new RegExp(`^${file.replace(/[.]/g, '\\.')}:4:\\d+: YAML syntax error`));
    fs.writeFileSync(file, 'apiVersion: v1\ncontexts:\n  - name: a\n    context:\n      api-url: [1]\n');
    expect(() => loadKubiyaConfig(file)).toThrow(`${file}:5:16: contexts[0].context.api-url: expected string`);
  });

  it("KUBIYA_CONFIG overrides the path; without it the file is under the given environment's HOME", () => {
    expect(kubiyaConfigPath({ KUBIYA_CONFIG: file })).toBe(file);
    // the environment is injected (the CLI runs in-process in tests): its HOME wins over the process's
    expect(kubiyaConfigPath({ HOME: '/h' })).toBe(path.join('/h', '.kubiya', 'config'));
    expect(kubiyaConfigPath({})).toBe(path.join(os.homedir(), '.kubiya', 'config'));
  });
});

describe('editing keeps what it does not touch', () => {
  it('set-context merges: litellm-proxy, unknown keys and comments survive; mode 0600', () => {
    fs.writeFileSync(file, SAMPLE);
    const cfg = loadKubiyaConfig(file);
    expect(setContext(cfg, 'default', { organization: 'other', token: 'kb-new-token-5678' })).toBe('modified');
    cfg.save();
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain('# my kubiya config');
    expect(text).toContain('# ~ expands');
    expect(text).toContain('preferences: { colors: true }');
    expect(text).toContain('custom-field: keep-me');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const c = loadKubiyaConfig(file).require('default');
    expect(c.organization).toBe('other');
    expect(c.token).toBe('kb-new-token-5678');
    expect(c.litellmProxy?.configFile).toBe('~/.kubiya/litellm_production.yaml');
  });

  it('the first context created becomes current; a token without a user gets a user named after the context', () => {
    const cfg = loadKubiyaConfig(file);
    expect(setContext(cfg, 'prod', { apiUrl: 'https://cp.example.com/', token: 'kb-x-123456' })).toBe('created');
    cfg.save();
    const again = loadKubiyaConfig(file);
    expect(again.currentName).toBe('prod');
    expect(again.require('prod')).toMatchObject({
      apiUrl: 'https://cp.example.com',
      user: 'prod',
      token: 'kb-x-123456',
    });
  });

  it('set-proxy: one config source at a time; enable/disable kept with the rest', () => {
    fs.writeFileSync(file, SAMPLE);
    const cfg = loadKubiyaConfig(file);
    setProxy(cfg, 'default', { enabled: true, configJson: '{"model_list": []}' });
    cfg.save();
    let p = loadKubiyaConfig(file).require('default').litellmProxy!;
    expect(p).toEqual({ enabled: true, configFile: undefined, configJson: '{"model_list": []}', model: 'gpt-4' });
    const cfg2 = loadKubiyaConfig(file);
    setProxy(cfg2, 'default', { enabled: false });
    cfg2.save();
    p = loadKubiyaConfig(file).require('default').litellmProxy!;
    expect(p.enabled).toBe(false);
    expect(p.configJson).toBe('{"model_list": []}');
  });

  it('use, rename and delete; unknown names list the names', () => {
    fs.writeFileSync(file, SAMPLE);
    const cfg = loadKubiyaConfig(file);
    expect(() => useContext(cfg, 'nope')).toThrow(`no context named "nope" in ${file}; contexts: default, dev`);
    renameContext(cfg, 'default', 'prod');
    cfg.save();
    expect(loadKubiyaConfig(file).currentName).toBe('prod');
    const cfg2 = loadKubiyaConfig(file);
    expect(() => renameContext(cfg2, 'prod', 'dev')).toThrow(
      'cannot rename "prod" to "dev": a context named "dev" already exists',
    );
    expect(deleteContext(cfg2, 'prod')).toBe(true);
    cfg2.save();
    const left = loadKubiyaConfig(file);
    expect(left.contexts.map((c) => c.name)).toEqual(['dev']);
    expect(left.currentName).toBeFalsy();
  });

  it('rejects bad names and URLs', () => {
    const cfg = loadKubiyaConfig(file);
    expect(() => setContext(cfg, 'a b', {})).toThrow(UserError);
    expect(() => setContext(cfg, 'ok', { apiUrl: 'ftp://x' })).toThrow(
      '--api-url: expected an http(s) URL, found the scheme "ftp:" in "ftp://x"',
    );
  });
});
