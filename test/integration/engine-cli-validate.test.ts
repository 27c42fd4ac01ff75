import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CliHome, makeHome, proxyTestConfig } from './config-run.js';

// `kubiya proxy validate`, run in-process: it loads the config and asks the engine what it serves,
// without starting anything.
const UPSTREAM_KEY = 'sk-cli-upstream-secret-999';
const TEMPLATES = path.resolve(__dirname, '../../templates');
const configs = fs.readdirSync(TEMPLATES).filter((f) => /\.(ya?ml|json)$/.test(f));

let h: CliHome;
beforeEach(() => {
  h = makeHome();
});
afterEach(() => h.cleanup());

function writeConfig(name: string, text: string): string {
  const p = path.join(h.home, name);
  fs.writeFileSync(p, text);
  return p;
}

const validate = (args: string[]) => h.run(['proxy', 'validate', ...args], { UP_KEY: UPSTREAM_KEY });

const CONFIG = () => proxyTestConfig('http://127.0.0.1:9/v1');

describe('kubiya proxy validate', () => {
  it('lists models and warnings, exit 0', async () => {
    const cfg = writeConfig(
      'v.yaml',
      `${CONFIG()}  - model_name: later\n    litellm_params: {model: replicate/llama}\n`.replace(
        'general_settings:\n  master_key: sk-cli-master-1234\n',
        '',
      ) + 'general_settings:\n  master_key: sk-cli-master-1234\n',
    );
    const p = await validate([cfg]);
    expect(p.code).toBe(0);
    expect(p.stdout).toMatch(/MODEL NAME\s+MODEL\s+PROVIDER/);
    expect(p.stdout).toMatch(/\bm\s+openai\/m\s+openai/);
    expect(p.stdout).toContain('mock_response');
    expect(p.stdout).toContain('provider "replicate" is not supported yet');
    expect(p.stdout).not.toContain(UPSTREAM_KEY);
  });

  it('exits 2 on a broken config, and JSON output works', async () => {
    const bad = await validate([writeConfig('v2.yaml', 'model_list: [')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('v2.yaml');
    const j = await validate([writeConfig('v3.yaml', CONFIG()), '-o', 'json']);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout).models.map((m: { model_name: string }) => m.model_name)).toEqual(['m', 'mock']);
  });

  it('names a relative config file as given, read from where the command ran; CONFIG_FILE_PATH works too', async () => {
    writeConfig('rel.yaml', CONFIG());
    const r = await validate(['rel.yaml']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^rel\.yaml: 2 deployments in 2 model group\(s\)/);
    const env = await h.run(['proxy', 'validate', '-o', 'json'], {
      UP_KEY: UPSTREAM_KEY,
      CONFIG_FILE_PATH: 'rel.yaml',
    });
    expect([env.code, JSON.parse(env.stdout).source]).toEqual([0, 'rel.yaml']);
  });
});

// Every ready config in templates/ must load with `proxy validate` on a machine where none of the
// provider variables are set yet: warnings (unset keys) are fine, errors are not.
describe('templates/', () => {
  it('holds the promised configs', () => {
    expect(configs).toEqual(
      expect.arrayContaining(['mock.yaml', 'ollama.json', 'bedrock.yaml', 'azure.yaml', 'multi-provider.yaml']),
    );
  });

  it.each(configs)(
    'proxy validate templates/%s exits 0 and serves at least one model without any provider env',
    async (file) => {
      const r = await h.run(['proxy', 'validate', path.join(TEMPLATES, file)]);
      expect(r.stderr).not.toMatch(/^error:/m);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/[1-9]\d* deployments? in/);
    },
  );
});

describe('proxy validate exit codes match its --help', () => {
  it('2 for a config that does not load, 1 for one that serves no model', async () => {
    const help = await h.run(['proxy', 'validate', '--help']);
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('exit 2 when it does not load, 1 when it serves no model');
    const bad = path.join(h.home, 'bad.yaml');
    fs.writeFileSync(bad, 'model_list:\n  - model_name: a\n    litellm_params:\n      model: 5\n');
    expect((await h.run(['proxy', 'validate', bad])).code).toBe(2);
    const none = path.join(h.home, 'none.yaml');
    fs.writeFileSync(none, 'model_list:\n  - model_name: x\n    litellm_params: {model: azure/x, api_key: k}\n');
    const r = await h.run(['proxy', 'validate', none]);
    expect([r.code, r.stderr.trim()]).toEqual([1, 'error: no model in this config can be served']);
  });
});
