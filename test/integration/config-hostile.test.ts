/**
 * Hostile config files (issue 15): a self-referencing alias, an alias bomb and data nested thousands deep are
 * config errors (exit 2, the file, the line where YAML has one, the key path), never a crash with a stack.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_CONFIG_DEPTH } from '../../src/config/litellm/parse.js';
import { makeHome, runCli } from './config-run.js';

const home = makeHome();
afterAll(() => home.cleanup());

function write(name: string, text: string): string {
  const file = path.join(home.home, name);
  fs.writeFileSync(file, text);
  return file;
}

const validate = (file: string) => runCli(['proxy', 'validate', '--config', file], { home: home.home });

describe('hostile config files', () => {
  it('an alias inside its own anchor: exit 2 with the file, line and key path', async () => {
    const f = write('self.yaml', 'model_list: &a\n  - model_name: m\n    litellm_params: *a\n');
    const r = await validate(f);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${f}:3:`);
    expect(r.stderr).toContain('model_list[0].litellm_params: refers to itself');
    expect(r.stderr).not.toMatch(/at \w+ \(|RangeError/);
  });

  it('an alias bomb: exit 2 at the first alias, without expanding it', async () => {
    const lines = ['a0: &a0 [x,x,x,x,x,x,x,x,x]'];
    for (let i = 1; i < 9; i++)
      lines.push(
        `a${i}: &a${i} [${Array(9)
          .fill(`*a${i - 1}`)
          .join(',')}]`,
      );
    const f = write('bomb.yaml', `${lines.join('\n')}\nmodel_list: []\n`);
    const r = await validate(f);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${f}:2:`);
    expect(r.stderr).toContain('aliases expand too far');
  });

  it('JSON nested thousands deep: exit 2 naming the limit and where it starts', async () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const f = write(
      'deep.json',
      `{"model_list":[{"model_name":"m","litellm_params":{"model":"openai/x","x":${deep}}}]}`,
    );
    const r = await validate(f);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`nested deeper than ${MAX_CONFIG_DEPTH} levels`);
    expect(r.stderr).toContain('model_list[0].litellm_params.x[0]');
    expect(r.stderr.length).toBeLessThan(400);
  });

  it('YAML nested thousands deep: exit 2 with the line', async () => {
    const deep = `${'['.repeat(3000)}${']'.repeat(3000)}`;
    const f = write(
      'deep.yaml',
      `model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/x\n      x: ${deep}\n`,
    );
    const r = await validate(f);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${f}:5:`);
  });
});
