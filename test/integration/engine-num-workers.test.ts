/**
 * `kubiya proxy start --num_workers N`, as real processes: one port served by N workers, limits exact across
 * them (shared through the primary, no Redis), /metrics and /kubiya/usage covering all of them, a dead worker
 * replaced, SIGTERM draining everything, and no worker outliving its primary.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CHALLENGE_HEADER, PROOF_HEADER, readinessProof } from '../../src/engine/child-contract.js';
import { makeTempHome, type TempHome } from '../fakes/temp-home.js';
import { parseExposition, sum } from './prometheus-text.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/kubiya.js');
const MASTER = 'sk-num-workers-master-4821';
const LOCAL_KEY = 'kubiya-local-num-workers-key-77';

const CONFIG = `
model_list:
  - model_name: mock
    litellm_params:
      model: openai/mock
      mock_response: "hello from a worker"
general_settings:
  master_key: ${MASTER}
  # key records cached long: a block seen by the other worker at once came through the primary, not a refresh
  user_api_key_cache_ttl: 600
litellm_settings:
  callbacks: ["prometheus"]
`;

const homes: TempHome[] = [];
const children: ChildProcess[] = [];
/** worker pids seen, killed after each test if a bug left them running */
const workerPids = new Set<number>();

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const pid of workerPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  workerPids.clear();
});
afterAll(() => {
  for (const h of homes.splice(0)) h.cleanup();
});

/** The pids whose parent is `ppid` (Linux /proc). */
function childPids(ppid: number): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * Whether the process still runs. An exited worker whose primary was killed is an orphan until whoever adopts it
 * reaps it (in a container that may be late, or never): a zombie has exited.
 */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (not Linux): the signal's answer stands
  }
}

interface Cluster {
  child: ChildProcess;
  port: number;
  portFile: string;
  out: () => string;
  exit: Promise<number | null>;
}

async function startCluster(workers: number, extra: string[] = []): Promise<Cluster> {
  const home = makeTempHome('kubiya-num-workers-');
  homes.push(home);
  const cfg = home.write('config.yaml', CONFIG);
  const portFile = home.path('engine.port');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...home.env(),
    NO_COLOR: '1',
    KUBIYA_DB_PATH: home.path('governance.db'),
    KUBIYA_LOCAL_KEY: LOCAL_KEY,
  };
  for (const k of ['CONFIG_FILE_PATH', 'LITELLM_MASTER_KEY', 'NUM_WORKERS', 'DATABASE_URL', 'REDIS_HOST', 'REDIS_URL'])
    delete env[k];
  const args = ['proxy', 'start', '-c', cfg, '--port', '0', '--port-file', portFile, '--num_workers', String(workers)];
  const child = spawn(process.execPath, [BIN, ...args, ...extra], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const info = await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`proxy start exited ${child.exitCode}: ${out}`);
    try {
      return JSON.parse(fs.readFileSync(portFile, 'utf8')) as { pid: number; port: number };
    } catch {
      return undefined;
    }
  }, 60_000);
  expect(info.pid).toBe(child.pid);
  return { child, port: info.port, portFile, out: () => out, exit };
}

async function waitFor<T>(fn: () => T | undefined | Promise<T | undefined>, ms = 30_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One request on a connection of its own (round-robin hands each new connection to the next worker). */
function request(
  port: number,
  method: string,
  route: string,
  headers: Record<string, string> = {},
  body?: unknown,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: route,
        agent: false,
        headers: { ...headers, ...(data ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (b += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
      },
    );
    req.on('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error(`${method} ${route}: no answer in 15 s`)));
    req.end(data);
  });
}

const auth = (key: string) => ({ authorization: `Bearer ${key}` });

/** The pids of the workers that answer /health over `n` fresh connections. */
async function healthPids(port: number, n: number): Promise<Set<number>> {
  const pids = new Set<number>();
  for (let i = 0; i < n; i++) {
    const r = await request(port, 'GET', '/health', auth(MASTER));
    expect(r.status).toBe(200);
    const pid = (JSON.parse(r.body) as { worker: { pid: number } }).worker.pid;
    pids.add(pid);
    workerPids.add(pid);
  }
  return pids;
}

const chat = (port: number, key: string) =>
  request(port, 'POST', '/v1/chat/completions', auth(key), {
    model: 'mock',
    messages: [{ role: 'user', content: 'hi' }],
  });

describe('proxy start --num_workers 2', () => {
  it('one port, two workers: shared limits, metrics and usage; a dead worker replaced; SIGTERM drains', async () => {
    const c = await startCluster(2);

    // both workers answer on the one port, and each proves it holds the supervisor's local key
    const pids = await healthPids(c.port, 6);
    expect(pids.size).toBe(2);
    expect(pids.has(c.child.pid!)).toBe(false);
    for (let i = 0; i < 2; i++) {
      const challenge = randomBytes(16).toString('hex');
      const r = await request(c.port, 'GET', '/health/readiness', { [CHALLENGE_HEADER]: challenge });
      expect(r.status).toBe(200);
      expect(r.headers[PROOF_HEADER]).toBe(readinessProof(LOCAL_KEY, challenge));
    }

    // a key with rpm_limit 10 and 30 calls spread over both workers: exactly 10 succeed
    const gen = await request(c.port, 'POST', '/key/generate', auth(MASTER), { rpm_limit: 10 });
    expect(gen.status).toBe(200);
    const key = (JSON.parse(gen.body) as { key: string }).key;
    const results = await Promise.all(Array.from({ length: 30 }, () => chat(c.port, key)));
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    expect(ok.length).toBe(10);
    expect(refused.length).toBe(20);
    expect(Number(refused[0]!.headers['retry-after'])).toBeGreaterThan(0);
    expect(JSON.parse(refused[0]!.body).error.type).toBeTruthy();

    // /metrics (asked of either worker) counts the calls both served
    for (let i = 0; i < 2; i++) {
      const m = await request(c.port, 'GET', '/metrics');
      expect(m.status).toBe(200);
      const e = parseExposition(m.body);
      expect(sum(e, 'litellm_proxy_total_requests_metric_total', { status_code: '200' })).toBe(10);
      expect(sum(e, 'litellm_proxy_total_requests_metric_total', { status_code: '429' })).toBe(20);
    }
    // so does /kubiya/usage
    const u = await request(c.port, 'GET', '/kubiya/usage', auth(MASTER));
    expect(u.status).toBe(200);
    expect(JSON.parse(u.body)).toMatchObject({ requests: 30, failures: 20 });

    // a key blocked through one worker is refused by both at once (the change notice reaches the other's cache)
    const gen2 = await request(c.port, 'POST', '/key/generate', auth(MASTER), {});
    const key2 = (JSON.parse(gen2.body) as { key: string }).key;
    for (const r of await Promise.all(Array.from({ length: 4 }, () => chat(c.port, key2)))) expect(r.status).toBe(200);
    const block = await request(c.port, 'POST', '/key/block', auth(MASTER), { key: key2 });
    expect(block.status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    for (const r of await Promise.all(Array.from({ length: 4 }, () => chat(c.port, key2)))) {
      expect(r.status).toBe(401);
      expect(r.body).toMatch(/Key is blocked/);
    }

    // a killed worker is replaced on the same port; the shared counts survive it (the primary holds them)
    const [victim] = [...pids];
    process.kill(victim!, 'SIGKILL');
    const now = await waitFor(async () => {
      const seen = await healthPids(c.port, 4).catch(() => new Set<number>());
      const fresh = [...seen].filter((p) => !pids.has(p));
      return fresh.length > 0 && !seen.has(victim!) ? seen : undefined;
    }, 60_000);
    expect(now.size).toBe(2);
    expect(c.out()).toMatch(/cluster worker died: starting another/);
    const after = await Promise.all(Array.from({ length: 4 }, () => chat(c.port, key)));
    expect(after.map((r) => r.status)).toEqual([429, 429, 429, 429]);

    // SIGTERM to the primary: every worker drains, the primary exits 0, nothing is left behind
    const all = [...workerPids];
    c.child.kill('SIGTERM');
    expect(await c.exit).toBe(0);
    for (const pid of all) await waitFor(() => (alive(pid) ? undefined : true), 10_000);
    expect(fs.existsSync(c.portFile)).toBe(false);
  }, 180_000);

  it('workers exit with a SIGKILLed primary', async () => {
    const c = await startCluster(2);
    const pids = await healthPids(c.port, 4);
    expect(pids.size).toBe(2);
    c.child.kill('SIGKILL');
    await c.exit;
    // node:cluster exits a worker as soon as its channel to the primary closes; the margin is for a loaded machine
    for (const pid of pids) await waitFor(() => (alive(pid) ? undefined : true), 20_000);
  }, 120_000);

  it('SIGTERM while the workers still start: exits 0 and leaves none behind', async () => {
    const home = makeTempHome('kubiya-num-workers-');
    homes.push(home);
    const cfg = home.write('config.yaml', CONFIG);
    const env: NodeJS.ProcessEnv = { ...process.env, ...home.env(), KUBIYA_DB_PATH: home.path('governance.db') };
    delete env.NUM_WORKERS;
    const child = spawn(process.execPath, [BIN, 'proxy', 'start', '-c', cfg, '--port', '0', '--num_workers', '2'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    // both workers forked (their pids are the primary's children), neither serving yet
    const kids = await waitFor(() => {
      const list = childPids(child.pid!);
      return list.length === 2 ? list : undefined;
    });
    for (const pid of kids) workerPids.add(pid);
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    for (const pid of kids) await waitFor(() => (alive(pid) ? undefined : true), 10_000);
  }, 60_000);

  it('rejects a --num_workers that is not a count', async () => {
    const home = makeTempHome('kubiya-num-workers-');
    homes.push(home);
    const cfg = home.write('config.yaml', CONFIG);
    const child = spawn(process.execPath, [BIN, 'proxy', 'start', '-c', cfg, '--port', '0', '--num-workers', 'two'], {
      env: { ...process.env, ...home.env(), NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(err).toMatch(/--num-workers must be a whole number of processes from 1 to 256, not "two"/);
  }, 60_000);

  it('a worker that cannot open the store fails the cluster (exit 1, the reason said), not hangs it', async () => {
    const home = makeTempHome('kubiya-num-workers-');
    homes.push(home);
    const cfg = home.write('config.yaml', CONFIG);
    const env: NodeJS.ProcessEnv = { ...process.env, ...home.env(), NO_COLOR: '1' };
    for (const k of ['NUM_WORKERS', 'DATABASE_URL', 'REDIS_HOST', 'REDIS_URL']) delete env[k];
    // the primary loads the config; only the workers open the store, and this one cannot be created (its
    // directory would be a file)
    env.KUBIYA_DB_PATH = path.join(cfg, 'governance.db');
    const child = spawn(process.execPath, [BIN, 'proxy', 'start', '-c', cfg, '--port', '0', '--num_workers', '2'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code, out).toBe(1);
    expect(out).toContain(`cannot create the database file ${path.join(cfg, 'governance.db')}`);
    expect(out).toMatch(/cluster worker failed to start: stopping/);
  }, 60_000);

  it('--help shows the flag with an example', async () => {
    const child = spawn(process.execPath, [BIN, 'proxy', 'start', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await new Promise((r) => child.on('exit', r));
    expect(out).toMatch(/--num-workers <n>/);
    expect(out).toMatch(/NUM_WORKERS/);
    expect(out).toMatch(/--num_workers 2/);
  }, 60_000);
});
