import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeHome, type CliHome } from './config-run.js';

// Every ready config in templates/ must load with `proxy validate` on a machine where none of the
// provider variables are set yet: warnings (unset keys) are fine, errors are not.
const TEMPLATES = path.resolve(__dirname, '../../templates');
const configs = fs.readdirSync(TEMPLATES).filter((f) => /\.(ya?ml|json)$/.test(f));

let h: CliHome;
afterEach(() => h?.cleanup());

describe('templates/', () => {
  it('holds the promised configs', () => {
    expect(configs).toEqual(expect.arrayContaining(['mock.yaml', 'ollama.json', 'bedrock.yaml', 'azure.yaml', 'multi-provider.yaml']));
  });

  it.each(configs)('proxy validate templates/%s exits 0 and serves at least one model without any provider env', async (file) => {
    h = makeHome();
    const r = await h.run(['proxy', 'validate', path.join(TEMPLATES, file)]);
    expect(r.stderr).not.toMatch(/^error:/m);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/[1-9]\d* deployments? in/);
  });
});

describe('proxy validate exit codes match its --help', () => {
  it('2 for a config that does not load, 1 for one that serves no model', async () => {
    h = makeHome();
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
