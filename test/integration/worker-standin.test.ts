import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, cli, cliInProcess, FIXTURES, queueFile, testEnv, testHome } from './worker-helpers.js';

const API_KEY = 'kk-STANDIN-KEY-42';
const CONFIG_SECRET = 'sk-INLINE-CFG-SECRET-9';

// The default worker (the queue venv's kubiya-control-plane-worker) is a stand-in here that looks at every
// command line of the queue's processes, as any local user can with ps.
describe('the default Kubiya worker behind the local proxy', { timeout: 60_000 }, () => {
  it('gets its API key from its environment, never argv; the engine wants a per-run key', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const bin = queueFile(h, 's', 'venv/bin');
    fs.mkdirSync(bin, { recursive: true });
    const entry = path.join(bin, 'kubiya-control-plane-worker');
    const script = fs.readFileSync(path.join(FIXTURES, 'standin-worker.mjs'), 'utf8');
    fs.writeFileSync(entry, `#!${process.execPath}\n${script}`, { mode: 0o755 });
    const config = {
      model_list: [
        { model_name: 'mock', litellm_params: { model: 'openai/x', api_key: CONFIG_SECRET, mock_response: 'hi' } },
      ],
    };
    const r = await cli(
      [
        BIN,
        'worker',
        'start',
        '--queue-id=s',
        '--enable-local-proxy',
        '--proxy-config-json',
        JSON.stringify(config),
        '--control-plane-url',
        'http://127.0.0.1:1',
        '--grace',
        '2',
        // the stand-in is what the venv has: start it, do not look for a newer package (on an index)
        '--no-update',
      ],
      testEnv(h, { KUBIYA_API_KEY: API_KEY, STANDIN_SECRETS: JSON.stringify([API_KEY, CONFIG_SECRET]) }),
    );
    expect(r.stderr).toMatch(/warning: --proxy-config-json is readable by every local user/);
    const line = r.stdout.split('\n').find((l) => l.includes('STANDIN '));
    expect(line, r.stdout + r.stderr).toBeDefined();
    const report = JSON.parse(line!.slice(line!.indexOf('STANDIN ') + 8));
    expect(report.leaks).toEqual([]);
    expect(report.apiKeyInEnv).toBe(true);
    expect(report.localKey).toMatch(/^sk-kubiya-local-.{20,}/);
    expect(report.withoutKey).toBe(401);
    expect(report.withKey).toBe(200);
    // the Kubiya worker's own default (kubiya/claude-sonnet-4) is served by no local config: it is told one that is
    expect(report.defaultModel).toBe('mock');
    expect(r.stderr).toContain("the config serves neither kubiya/claude-sonnet-4 (the Kubiya worker's default)");
    expect(r.code).toBe(0);
  });

  it('without an API key in gateway mode is refused by the CLI, saying which key and how to set it', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const args = [
      'worker',
      'start',
      '--queue-id=g',
      '--disable-local-proxy',
      '--control-plane-url',
      'http://127.0.0.1:1',
    ];
    const env = testEnv(h, { KUBIYA_PYTHON: '/bin/false' }); // never a real venv or pip
    const dry = await cliInProcess([...args, '--dry-run'], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('worker start refuses this');
    const r = await cliInProcess(args, env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('needs your Kubiya API key');
    expect(r.stderr).toContain('KUBIYA_API_KEY');
    expect(fs.existsSync(queueFile(h, 'g', 'worker.pid'))).toBe(false);
  });
});
