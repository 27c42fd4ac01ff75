import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type CliHome, makeHome } from './config-run.js';

let h: CliHome;
afterEach(() => h?.cleanup());

/** A config whose second model the engine cannot serve: Azure with no endpoint anywhere. */
function writeConfig(dir: string, withMock: boolean): string {
  const file = path.join(dir, 'cfg.yaml');
  const mock = withMock ? '  - model_name: ok\n    litellm_params: {model: openai/ok, mock_response: "fine"}\n' : '';
  fs.writeFileSync(file, `model_list:\n${mock}  - model_name: broken\n    litellm_params: {model: azure/broken}\n`);
  return file;
}

describe('worker start checks what the engine can actually serve', () => {
  it('the dry run lists only servable models and says why the others are not served', async () => {
    h = makeHome();
    const r = await h.run(
      [
        'worker',
        'start',
        '--queue-id',
        'q',
        '--proxy-config-file',
        writeConfig(h.home, true),
        '--dry-run',
        '-o',
        'json',
        '--',
        'node',
        '-e',
        '1',
      ],
      { AZURE_API_BASE: '' },
    );
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout);
    expect(plan.config.models).toEqual(['ok']);
    expect(plan.warnings.join('\n')).toMatch(/model_list\[1\].*Azure needs the resource endpoint/);
  });

  it('a config that would serve no model is an error before anything starts (exit 2)', async () => {
    h = makeHome();
    const r = await h.run(
      [
        'worker',
        'start',
        '--queue-id',
        'q',
        '--proxy-config-file',
        writeConfig(h.home, false),
        '--',
        'node',
        '-e',
        '1',
      ],
      { AZURE_API_BASE: '' },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('the local proxy would serve no model');
    expect(r.stderr).toContain('Azure needs the resource endpoint');
    expect(fs.existsSync(path.join(h.home, '.kubiya', 'workers', 'q'))).toBe(false);
    // the dry run gives the same verdict, and the hint names the file
    const cfg = writeConfig(h.home, false);
    const dry = await h.run(['worker', 'start', '--queue-id', 'q', '--proxy-config-file', cfg, '--dry-run'], {
      AZURE_API_BASE: '',
    });
    expect(dry.code).toBe(2);
    expect(dry.stderr).toContain('the local proxy would serve no model');
    expect(dry.stderr).toContain(`kubiya proxy validate ${cfg}`);
  });
});
