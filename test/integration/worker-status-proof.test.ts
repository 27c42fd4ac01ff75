/**
 * `worker status` tells the queue's engine from a process that took its port: the engine proves it holds the
 * run's usage token (0600 in the queue directory) by an HMAC of a fresh challenge, and the token itself goes
 * only to an engine that proved it (status, and the usage line of `worker stop` and of the supervisor).
 * In-process: the test plays the supervisor (its own pid is recorded) and the engine runs in-process, so no
 * child is started.
 */
import http from 'node:http';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCAL_KEY_ENV } from '../../src/engine/child-contract.js';
import { identityOf } from '../../src/supervisor/identity.js';
import { type PidInfo, writePidFile } from '../../src/supervisor/pid-file.js';
import { ensureQueueDir } from '../../src/supervisor/queue-dir.js';
import { fetchUsage, newUsageToken } from '../../src/supervisor/usage.js';
import { makeTempHome, type TempHome } from '../fakes/temp-home.js';
import { startTestEngine, type TestEngine } from './engine-helpers.js';
import { cliInProcess } from './worker-helpers.js';

const CONFIG = { model_list: [{ model_name: 'mock', litellm_params: { model: 'openai/x', mock_response: 'hi' } }] };

let home: TempHome | undefined;
let engine: TestEngine | undefined;
let squatter: http.Server | undefined;
afterEach(async () => {
  await engine?.close();
  await new Promise((r) => (squatter ? squatter.close(r) : r(undefined)));
  home?.cleanup();
  engine = squatter = home = undefined;
});

/** Queue `q`'s directory with its usage token; `running(url)` records it as running with its engine at `url`. */
function queue() {
  home = makeTempHome('kubiya-status-proof-');
  const paths = ensureQueueDir('q', home.env());
  const token = newUsageToken(paths.usageToken);
  // the test plays the supervisor and the engine: both pids are this process
  const me = { pid: process.pid, identity: identityOf(process.pid) };
  const running = (url: string) => {
    const info: PidInfo = {
      supervisor_pid: me.pid,
      supervisor_identity: me.identity,
      queue_id: 'q',
      worker_dir: paths.dir,
      started_at: new Date().toISOString(),
      mode: 'daemon',
      engine: { ...me, port: Number(new URL(url).port), url, state: 'running', restarts: 0 },
      worker: { pid: null, command: ['w'], state: 'running', restarts: 0 },
      logs: { worker: paths.workerLog, proxy: paths.proxyLog, supervisor: paths.supervisorLog },
    };
    writePidFile(paths.pidFile, info);
  };
  return { token, running, tokenFile: paths.usageToken };
}

async function status() {
  const env = home!.env();
  const r = await cliInProcess(['worker', 'status', '--queue-id', 'q', '-o', 'json'], env);
  expect(r.code, r.stderr).toBe(0);
  const text = await cliInProcess(['worker', 'status', '--queue-id', 'q'], env);
  return { json: JSON.parse(r.stdout), text: text.stdout };
}

describe('worker status and the engine port', () => {
  it("verifies the queue's own engine and shows its usage", async () => {
    const q = queue();
    // started as the supervisor starts it: with the run's usage token and local key
    engine = await startTestEngine(CONFIG, { env: { KUBIYA_USAGE_TOKEN: q.token, [LOCAL_KEY_ENV]: 'sk-local-1' } });
    q.running(engine.url);
    const { json, text } = await status();
    expect(json.engine).toMatchObject({ healthy: true, verified: true });
    expect(json.engine.port_taken).toBeUndefined();
    expect(json.usage).toMatchObject({ requests: 0 });
    expect(await fetchUsage(engine.url, q.tokenFile, 1500)).toMatchObject({ requests: 0 });
    expect(text).toMatch(/proxy: .*healthy/);
    expect(text).not.toContain('unverified');
  });

  it('names a process that took the port, never takes it for the engine, and never sends it the token', async () => {
    const q = queue();
    const seen: string[] = [];
    // answers every request 200, and echoes a "proof" of whatever it was sent
    squatter = http.createServer((req, res) => {
      seen.push(JSON.stringify(req.headers));
      res.writeHead(200, { 'content-type': 'application/json', 'x-kubiya-status-proof': 'x', 'x-kubiya-proof': 'x' });
      res.end('{"status":"healthy","requests":0}');
    });
    await new Promise<void>((r) => squatter!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(squatter.address() as net.AddressInfo).port}`;
    q.running(url);
    const { json, text } = await status();
    // nor does the usage query of `worker stop` and of the supervisor's last line
    expect(await fetchUsage(url, q.tokenFile, 1500)).toBeUndefined();
    expect(json.engine).toMatchObject({ healthy: false, verified: false, port_taken: true });
    expect(json.usage).toBeNull();
    expect(text).toContain('ANOTHER PROCESS ANSWERS ON ITS PORT');
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.join('\n')).not.toContain(q.token);
  });
});
