import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startOpenAIUpstream } from '../fakes/openai-upstream.js';
import { makeTempHome, type TempHome } from '../fakes/temp-home.js';
import { proxyTestConfig } from './config-run.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/kubiya.js');
const UPSTREAM_KEY = 'sk-cli-upstream-secret-999';

let dir: string;
let tmp: TempHome;
let up: FakeUpstream;
const children: ChildProcess[] = [];

beforeAll(async () => {
  tmp = makeTempHome('kubiya-engine-cli-');
  dir = tmp.home;
  up = await startOpenAIUpstream();
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(async () => {
  await up?.close();
  tmp?.cleanup();
});

function writeConfig(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

interface Proc {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exit: Promise<number | null>;
}

function run(args: string[], env: Record<string, string> = {}): Proc {
  const base = { ...process.env, NO_COLOR: '1', UP_KEY: UPSTREAM_KEY, ...env };
  for (const k of ['CONFIG_FILE_PATH', 'LITELLM_MASTER_KEY', 'OPENAI_API_KEY', 'OPENAI_BASE_URL'])
    if (!(k in env)) delete base[k];
  const child = spawn(process.execPath, [BIN, ...args], { env: base, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, out: () => out, err: () => err, exit };
}

// generous: a CLI process on a busy 2-core machine can take seconds to start; a passing wait ends at once
async function waitFor<T>(fn: () => T | undefined | Promise<T | undefined>, ms = 15_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const readPortFile = (f: string) => () => {
  try {
    return JSON.parse(fs.readFileSync(f, 'utf8')) as { pid: number; host: string; port: number; url: string };
  } catch {
    return undefined;
  }
};

const CONFIG = () => proxyTestConfig(`${up.url}/v1`);

describe('kubiya proxy start', () => {
  it('binds a free port, writes the port file, serves, and drains a stream on SIGTERM then exits 0', async () => {
    const cfg = writeConfig('a.yaml', CONFIG());
    const portFile = path.join(dir, 'run', 'engine.json');
    const p = run(['proxy', 'start', '--config', cfg, '--port', '0', '--port-file', portFile, '--json-logs']);
    const info = await waitFor(readPortFile(portFile));
    expect(info).toEqual({
      pid: p.child.pid,
      host: '127.0.0.1',
      port: expect.any(Number),
      url: `http://127.0.0.1:${info.port}`,
    });
    expect(fs.statSync(portFile).mode & 0o777).toBe(0o600);
    const ready = await fetch(`${info.url}/health/readiness`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'healthy' });
    // start-up logs: JSON, one line per model group, the port, no secret
    const lines = p
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.msg === 'serving model').map((l) => l.model_name)).toEqual(['m', 'mock']);
    expect(p.out()).toContain(String(info.port));
    expect(p.out()).not.toContain(UPSTREAM_KEY);
    expect(p.out()).not.toContain('sk-cli-master-1234');

    // a slow stream in flight when SIGTERM arrives still completes
    up.setOptions({ chunkIntervalMs: 30, repeat: 10 });
    const res = await fetch(`${info.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-cli-master-1234' },
      body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'a b c' }] }),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    await reader.read();
    p.child.kill('SIGTERM');
    let body = '';
    const dec = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      body += dec.decode(value);
    }
    expect(body).toContain('data: [DONE]');
    expect(await p.exit).toBe(0);
    up.setOptions({ chunkIntervalMs: 0, repeat: 1 });
    expect(fs.existsSync(portFile)).toBe(false);
    // no per-request logs without debug
    expect(p.out()).not.toContain('"msg":"request"');
  });

  it('a taken port: a clear message and exit code 98', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const p = run(['proxy', 'start', '--config', writeConfig('b.yaml', CONFIG()), '--port', String(port)]);
      expect(await p.exit).toBe(98);
      expect(p.err()).toContain(`port ${port}`);
      expect(p.err()).toContain('already in use');
    } finally {
      blocker.close();
    }
  });

  it('a config error: the file and key path on stderr, exit 2', async () => {
    const cfg = writeConfig(
      'bad.yaml',
      'model_list:\n  - model_name: x\n    litellm_params:\n      api_base: http://x\n',
    );
    const p = run(['proxy', 'start', '--config', cfg, '--port', '0']);
    expect(await p.exit).toBe(2);
    expect(p.err()).toContain('bad.yaml');
    expect(p.err()).toContain('model_list[0].litellm_params.model');
    const none = run(['proxy', 'start', '--port', '0']);
    expect(await none.exit).toBe(2);
    expect(none.err()).toContain('CONFIG_FILE_PATH');
  });

  it('honours CONFIG_FILE_PATH and LITELLM_MASTER_KEY, logs requests with --detailed-debug', async () => {
    const cfg = writeConfig(
      'c.yaml',
      'model_list:\n  - model_name: mock\n    litellm_params: {model: openai/mock, mock_response: "hi"}\n',
    );
    const portFile = path.join(dir, 'c.json');
    const p = run(['proxy', 'start', '--port', '0', '--port-file', portFile, '--detailed-debug'], {
      CONFIG_FILE_PATH: cfg,
      LITELLM_MASTER_KEY: 'sk-env-master-77',
    });
    const info = await waitFor(readPortFile(portFile));
    const body = JSON.stringify({ model: 'mock', messages: [{ role: 'user', content: 'x' }] });
    expect((await fetch(`${info.url}/v1/chat/completions`, { method: 'POST', body })).status).toBe(401);
    expect(
      (
        await fetch(`${info.url}/v1/chat/completions`, {
          method: 'POST',
          body,
          headers: { authorization: 'Bearer sk-env-master-77' },
        })
      ).status,
    ).toBe(200);
    await waitFor(() => (p.out().includes('request') ? true : undefined));
    p.child.kill('SIGINT');
    expect(await p.exit).toBe(0);
    expect(p.out()).toMatch(/DEBUG request .*status=200/);
    expect(p.out()).not.toContain('sk-env-master-77');
  });

  it('warns when binding beyond loopback without a master key', async () => {
    const cfg = writeConfig(
      'd.yaml',
      'model_list:\n  - model_name: mock\n    litellm_params: {model: openai/mock, mock_response: "hi"}\n',
    );
    const portFile = path.join(dir, 'd.json');
    const p = run(['proxy', 'start', '--config', cfg, '--host', '0.0.0.0', '--port', '0', '--port-file', portFile]);
    await waitFor(readPortFile(portFile));
    p.child.kill('SIGTERM');
    expect(await p.exit).toBe(0);
    expect(p.out()).toMatch(/WARN .*non-loopback address without a master key/);
  });
});
