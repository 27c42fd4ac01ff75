import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { makeTempHome, type TempHome } from '../fakes/temp-home.js';
import { BIN, until } from './worker-helpers.js';

const MASTER = 'sk-reload-master-1';
let tmp: TempHome;
let child: ChildProcess;
let out = '';
let url: string;
let cfg: string;

const config = (models: string[], general: Record<string, unknown> = {}) =>
  stringify({
    model_list: models.map((m) => ({
      model_name: m,
      litellm_params: { model: 'openai/x', mock_response: `answer from ${m}` },
    })),
    general_settings: { master_key: MASTER, ...general },
  });
const auth = { authorization: `Bearer ${MASTER}` };
const served = async () =>
  ((await (await fetch(`${url}/v1/models`, { headers: auth })).json()) as { data: { id: string }[] }).data
    .map((m) => m.id)
    .sort();
const reload = (headers: Record<string, string> = auth) => fetch(`${url}/kubiya/reload`, { method: 'POST', headers });

beforeAll(async () => {
  tmp = makeTempHome('kubiya-engine-reload-');
  cfg = path.join(tmp.home, 'cfg.yaml');
  fs.writeFileSync(cfg, config(['m1']));
  const portFile = path.join(tmp.home, 'port.json');
  const env = { ...process.env, HOME: tmp.home, KUBIYA_DB_PATH: ':memory:' };
  delete env.LITELLM_MASTER_KEY;
  child = spawn(process.execPath, [BIN, 'proxy', 'start', '--config', cfg, '--port', '0', '--port-file', portFile], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  url = await until(() => {
    try {
      return JSON.parse(fs.readFileSync(portFile, 'utf8')).url as string;
    } catch {
      return undefined;
    }
  }, 'the port file');
}, 60_000);
afterAll(() => {
  child?.kill('SIGKILL');
  tmp?.cleanup();
});

describe('a config reload in a running engine', { timeout: 60_000 }, () => {
  it('POST /kubiya/reload serves the file again on its port; a bad config is refused, the old one kept', async () => {
    expect(await served()).toEqual(['m1']);
    expect((await reload({})).status).toBe(401);

    fs.writeFileSync(cfg, config(['m1', 'm2']));
    const r = await reload();
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ models: ['m1', 'm2'], restart_needed: [], warnings: [] });
    expect(await served()).toEqual(['m1', 'm2']);
    const chat = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm2', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(((await chat.json()) as any).choices[0].message.content).toBe('answer from m2');

    fs.writeFileSync(cfg, 'model_list: []\n');
    const bad = await reload();
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as any).error.message).toBe(
      'config not reloaded, the old one stays in force: the new config serves no model',
    );
    fs.writeFileSync(cfg, 'model_list: [ unclosed\n');
    const broken = await reload();
    expect(broken.status).toBe(422);
    expect(await served()).toEqual(['m1', 'm2']);
  });

  it('SIGHUP reloads too, and names the sections that only apply at the next start', async () => {
    fs.writeFileSync(cfg, config(['m3'], { max_request_size_mb: 8 }));
    child.kill('SIGHUP');
    await until(async () => (await served()).join() === 'm3', 'm3 served after SIGHUP');
    await until(() => /config reloaded.*restart_needed=general_settings/.test(out), 'the reload in the log');
    expect(child.exitCode).toBeNull();
  });
});
