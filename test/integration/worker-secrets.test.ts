import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type CliHome, makeHome } from './config-run.js';

// Secrets under keys that do not end in "api_key"/"token" (AWS secret keys) must be masked too, and
// so must secrets in the worker's command line: `--dry-run` output is pasted into tickets and chats.
// (`config view` masking: config-cli.test.ts.)
const SECRETS = ['LITERALAWSSECRET0987'];

let h: CliHome;
afterEach(() => h?.cleanup());

describe('secrets in a config file stay masked', () => {
  it('worker start --dry-run never prints a literal AWS secret key from the config', async () => {
    h = makeHome();
    const cfg = path.join(h.home, 'bedrock.json');
    const params = {
      model: 'bedrock/anthropic.claude-3',
      aws_access_key_id: 'AKIAEXAMPLE',
      aws_secret_access_key: SECRETS[0],
      aws_region_name: 'us-east-1',
    };
    fs.writeFileSync(cfg, JSON.stringify({ model_list: [{ model_name: 'c', litellm_params: params }] }));
    for (const extra of [[], ['-o', 'json']]) {
      const r = await h.run([
        'worker',
        'start',
        '--queue-id',
        'q',
        '--proxy-config-file',
        cfg,
        '--dry-run',
        ...extra,
        '--',
        'node',
        '-e',
        '1',
      ]);
      expect(r.code).toBe(0);
      expect(r.stdout + r.stderr).not.toContain(SECRETS[0]);
    }
  });
});

describe('secrets in the worker command line', () => {
  const SECRET_ARGS = [
    '--api-key',
    'kk-ENVKEY-SECRET-1',
    '--token=tok-INLINE-SECRET-22',
    '--password',
    'hunter2hunter2',
  ];
  const leaked = (text: string) =>
    ['kk-ENVKEY-SECRET-1', 'tok-INLINE-SECRET-22', 'hunter2hunter2'].filter((s) => text.includes(s));

  it('are masked in --dry-run (text and JSON), in the terminal and in worker.log', async () => {
    h = makeHome();
    const script = path.join(h.home, 'w.mjs');
    fs.writeFileSync(script, 'console.log("args", process.argv.length);\n');
    const env = { KUBIYA_API_KEY: 'kk-ENVKEY-SECRET-1', KUBIYA_CONTROL_PLANE_BASE_URL: 'http://127.0.0.1:9' };
    const mock = path.resolve(__dirname, '../../templates/mock.yaml');
    for (const extra of [[], ['-o', 'json']]) {
      const r = await h.run(
        [
          'worker',
          'start',
          '--queue-id',
          'q',
          '--proxy-config-file',
          mock,
          '--dry-run',
          ...extra,
          '--',
          'node',
          script,
          ...SECRET_ARGS,
        ],
        env,
      );
      expect(r.code).toBe(0);
      expect(leaked(r.stdout + r.stderr)).toEqual([]);
      expect(r.stdout).toContain('--token=***');
    }
    const run = await h.runReal(
      ['worker', 'start', '--queue-id', 'q', '--proxy-config-file', mock, '--', 'node', script, ...SECRET_ARGS],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout + run.stderr).toContain('args 7');
    expect(leaked(run.stdout + run.stderr)).toEqual([]);
    expect(leaked(fs.readFileSync(path.join(h.home, '.kubiya', 'workers', 'q', 'worker.log'), 'utf8'))).toEqual([]);
  });
});
