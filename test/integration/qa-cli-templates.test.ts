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
