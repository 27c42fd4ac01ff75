/**
 * `kubiya proxy keys create|list|info|block|unblock|delete` in-process against an in-process engine: target from
 * flags, environment or the current context; the key printed once on create and never by list or info; tables
 * as text, `-o json` for scripts; clear errors for an engine that is not there or refuses.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliHome, makeHome } from '../config-run.js';
import { startTestEngine, type TestEngine } from '../engine-helpers.js';
import { CONFIG, chat, MASTER } from './key-helpers.js';

let engine: TestEngine;
let home: CliHome;
let env: Record<string, string>;

beforeAll(async () => {
  engine = await startTestEngine(CONFIG, { apiKey: MASTER });
  home = makeHome();
  env = { KUBIYA_PROXY_URL: engine.url, LITELLM_MASTER_KEY: MASTER };
});
afterAll(async () => {
  await engine?.close();
  home?.cleanup();
});

describe('kubiya proxy keys', () => {
  it('create prints the key once; list and info never show it', async () => {
    const made = await home.run(['proxy', 'keys', 'create', '--alias', 'cli-1', '--models', 'gpt-a,gpt-b'], env);
    expect(made.code).toBe(0);
    const [summary, key] = made.stdout.split('\n');
    expect(key).toMatch(/^sk-[A-Za-z0-9_-]{22}$/);
    expect(summary).toBe(`created sk-...${key.slice(-4)} (cli-1), token ${summary.split('token ')[1]}`);
    expect(made.stderr).toContain('this is the only time the key is shown');
    expect(await chat(engine, key, 'gpt-b')).toBe('from b');

    const list = await home.run(['proxy', 'keys', 'list', '--alias', 'cli-1'], env);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^NAME\s+ALIAS\s+TOKEN\s+USER\s+TEAM\s+MODELS\s+SPEND\s+BUDGET/);
    expect(list.stdout).toContain('gpt-a,gpt-b');
    expect(list.stdout).not.toContain(key);

    const json = await home.run(['proxy', 'keys', 'list', '-o', 'json'], env);
    const parsed = JSON.parse(json.stdout);
    const row = parsed.keys.find((k: any) => k.key_alias === 'cli-1');
    expect(row.models).toEqual(['gpt-a', 'gpt-b']);
    expect(json.stdout).not.toContain(key);

    const info = await home.run(['proxy', 'keys', 'info', key], env);
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/alias\s+cli-1/);
    expect(info.stdout).not.toContain(key);
    const infoJson = JSON.parse((await home.run(['proxy', 'keys', 'info', row.token, '-o', 'json'], env)).stdout);
    expect(infoJson).toMatchObject({ key_alias: 'cli-1', token: row.token });
  });

  it('create -o json carries the key and every field for scripts', async () => {
    const r = await home.run(
      ['proxy', 'keys', 'create', '--max-budget', '2.5', '--budget-duration', '1d', '--rpm', '3', '-o', 'json'],
      env,
    );
    expect(r.code).toBe(0);
    const k = JSON.parse(r.stdout);
    expect(k).toMatchObject({ max_budget: 2.5, budget_duration: '1d', rpm_limit: 3 });
    expect(k.key).toMatch(/^sk-/);
  });

  it('block, unblock and delete act on the running engine at once', async () => {
    const k = JSON.parse((await home.run(['proxy', 'keys', 'create', '--alias', 'cli-2', '-o', 'json'], env)).stdout);
    const block = await home.run(['proxy', 'keys', 'block', k.token], env);
    expect(block).toMatchObject({ code: 0, stdout: `blocked ${k.key_name} (cli-2)` });
    expect((await chat(engine, k.key)).status).toBe(401);
    expect((await home.run(['proxy', 'keys', 'unblock', k.key], env)).stdout).toBe(`unblocked ${k.key_name} (cli-2)`);
    expect(await chat(engine, k.key)).toBe('from a');
    const del = await home.run(['proxy', 'keys', 'delete', '--alias', 'cli-2'], env);
    expect(del).toMatchObject({ code: 0, stdout: 'deleted 1 key' });
    expect((await chat(engine, k.key)).status).toBe(401);
  });

  it('takes the target from flags, or from the current context', async () => {
    const byFlags = await home.run(['proxy', 'keys', 'list', '--url', engine.url, '--master-key', MASTER], {});
    expect(byFlags.code).toBe(0);
    fs.mkdirSync(path.dirname(home.configPath), { recursive: true });
    fs.writeFileSync(
      home.configPath,
      `current-context: local\ncontexts:\n  - name: local\n    context:\n      litellm-proxy:\n` +
        `        url: ${engine.url}\n        master-key: ${MASTER}\n`,
    );
    const byContext = await home.run(['proxy', 'keys', 'list', '-o', 'json'], {});
    expect(byContext.code).toBe(0);
    expect(JSON.parse(byContext.stdout).total_count).toBeGreaterThan(0);
    // the master key of the config the context's local proxy runs (config-file, relative to ~/.kubiya)
    fs.writeFileSync(
      path.join(path.dirname(home.configPath), 'proxy.yaml'),
      `general_settings:\n  master_key: ${MASTER}\n`,
    );
    fs.writeFileSync(
      home.configPath,
      'current-context: local\ncontexts:\n  - name: local\n    context:\n      litellm-proxy:\n' +
        '        config-file: proxy.yaml\n',
    );
    const byConfig = await home.run(['proxy', 'keys', 'list', '--url', engine.url], {});
    expect(byConfig.code).toBe(0);
    fs.rmSync(home.configPath);
  });

  it('explains what is missing or wrong, with exit codes', async () => {
    const none = await home.run(['proxy', 'keys', 'list'], {});
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no master key: pass --master-key or set LITELLM_MASTER_KEY');
    expect((await home.run(['proxy', 'keys', 'list', '--url', 'ftp://x'], env)).stderr).toContain(
      '--url must be an http:// or https:// URL; found "ftp://x"',
    );
    const wrong = await home.run(['proxy', 'keys', 'list'], { ...env, LITELLM_MASTER_KEY: 'sk-not-the-master' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('GET /key/list');
    expect(wrong.stderr).toContain('401 Authentication Error, Invalid proxy server token passed');
    expect(wrong.stderr).not.toContain('sk-not-the-master');
    // a port nothing listens on
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const closed = `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
    await new Promise((r) => srv.close(r));
    const down = await home.run(['proxy', 'keys', 'list'], { ...env, KUBIYA_PROXY_URL: closed });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`cannot reach the engine at ${closed} (ECONNREFUSED)`);
    const missing = await home.run(['proxy', 'keys', 'info', 'sk-no-such-key-abcd'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('404 Key not found: sk-...abcd');
    expect((await home.run(['proxy', 'keys', 'delete'], env)).code).toBe(2);
    expect((await home.run(['proxy', 'keys', 'create', '--rpm', 'many'], env)).stderr).toContain(
      '--rpm must be a number; found "many"',
    );
  });
});
