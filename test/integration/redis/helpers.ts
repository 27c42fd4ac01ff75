/**
 * Helpers for the shared-state tests: redis-server processes of their own (a single server to stop and
 * restart, a Cluster, a Sentinel) on free ports, and engine processes started through the CLI.
 * The machine's Redis on 6379 is shared with other test files: tests there use unique keys and never flush it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = path.join(ROOT, 'bin/kubiya.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export async function waitFor<T>(fn: () => T | undefined | Promise<T | undefined>, ms = 15_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** redis-cli against a port; the reply's text (trimmed). */
export function redisCli(port: number, ...args: string[]): string {
  const r = spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 10_000 });
  return (r.stdout ?? '').trim();
}

export interface RedisProc {
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** A redis-server of this test's own (nothing saved), ready when it returns. */
export async function startRedis(port?: number, extra: string[] = [], dir?: string): Promise<RedisProc> {
  const p = port ?? (await freePort());
  const args = ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra];
  const child = spawn('redis-server', args, { cwd: dir, stdio: 'ignore' });
  try {
    // a server with a password answers NOAUTH: up all the same
    await waitFor(() => (/^(PONG|NOAUTH)/.test(redisCli(p, 'PING')) ? true : undefined), 10_000);
  } catch (e) {
    await stopProc(child); // never left behind by a start that failed
    throw e;
  }
  return { port: p, child, stop: () => stopProc(child) };
}

export async function stopProc(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGKILL');
  await gone;
}

export interface EngineProc {
  child: ChildProcess;
  url: string;
  out: () => string;
  stop(): Promise<void>;
}

/** `kubiya proxy start --config <file> --port 0 --port-file ...`: resolves once it serves. */
export async function startEngineProc(config: string, dir: string, env: Record<string, string>): Promise<EngineProc> {
  const portFile = path.join(dir, `engine-${Math.random().toString(36).slice(2)}.json`);
  const base: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...env };
  for (const k of ['CONFIG_FILE_PATH', 'LITELLM_MASTER_KEY', 'OPENAI_API_KEY', 'OPENAI_BASE_URL', 'REDIS_URL'])
    if (!(k in env)) delete base[k];
  for (const k of Object.keys(base)) if (k.startsWith('REDIS_') && !(k in env)) delete base[k];
  const child = spawn(
    process.execPath,
    [BIN, 'proxy', 'start', '--config', config, '--port', '0', '--port-file', portFile],
    {
      env: base,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const info = await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`engine exited: ${out}`);
    try {
      return JSON.parse(fs.readFileSync(portFile, 'utf8')) as { url: string };
    } catch {
      return undefined;
    }
    // generous: three engines starting at once on a busy 2-core machine; a passing wait ends at once
  }, 90_000).catch(async (e) => {
    await stopProc(child); // never left behind by a start that failed
    throw e;
  });
  return { child, url: info.url, out: () => out, stop: () => stopProc(child) };
}

/** POST JSON; status, headers and body. */
export async function postJson(
  url: string,
  body: unknown,
  key: string,
): Promise<{ status: number; headers: Headers; json: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, json };
}
