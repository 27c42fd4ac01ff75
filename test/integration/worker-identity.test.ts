import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BIN,
  cli,
  cliInProcess,
  FIXTURES,
  gatewayStartArgs,
  MOCK_CONFIG,
  pidFile,
  queueFile,
  spawnCli,
  startArgs,
  testEnv,
  testHome,
  until,
} from './worker-helpers.js';

/** Whether `pid` runs (and is not a zombie). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

// A pid file left by a crash names pids the kernel has since handed to someone else: the decoy is such an
// unrelated process (its own group, like the children a supervisor spawns), and nothing may touch it.
describe('a stale worker.pid naming an unrelated live process', { timeout: 60_000 }, () => {
  it('is reported as stale, and stop, stop --force and start never signal that process', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const env = testEnv(h);
    const decoy = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], { detached: true, stdio: 'ignore' });
    onTestFinished(() => void decoy.kill('SIGKILL'));
    const pid = decoy.pid!;
    const recorded = { start_time: '1', cmdline_sha256: '0'.repeat(64) }; // who the pids were before the "reboot"
    const writeStale = () => {
      fs.mkdirSync(queueFile(h, 'q', ''), { recursive: true, mode: 0o700 });
      const file = queueFile(h, 'q', 'worker.pid');
      fs.writeFileSync(
        file,
        JSON.stringify({
          supervisor_pid: pid,
          supervisor_identity: recorded,
          queue_id: 'q',
          worker_dir: queueFile(h, 'q', ''),
          started_at: new Date(Date.now() - 32 * 3600_000).toISOString(),
          mode: 'daemon',
          engine: { pid, identity: recorded, port: 1, url: 'http://127.0.0.1:1', state: 'running', restarts: 0 },
          worker: { pid, identity: recorded, command: ['w'], state: 'running', restarts: 0 },
          logs: { worker: '', proxy: null, supervisor: '' },
        }),
      );
    };

    writeStale();
    const st = JSON.parse((await cliInProcess(['worker', 'status', '--queue-id', 'q', '-o', 'json'], env)).stdout);
    expect(st.state).toBe('stale');
    expect(st.problem).toContain(`pid ${pid} now belongs to another process`);
    expect(st.worker.alive).toBe(false);

    for (const extra of [[], ['--force']]) {
      writeStale();
      const stop = await cliInProcess(['worker', 'stop', '--queue-id', 'q', ...extra], env);
      expect(stop.code).toBe(0);
      expect(stop.stdout).toContain('was not running');
      expect(stop.stdout).toContain('another process');
      expect(alive(pid)).toBe(true);
      expect(fs.existsSync(queueFile(h, 'q', 'worker.pid'))).toBe(false);
    }

    writeStale();
    const start = await cli([BIN, ...gatewayStartArgs('q', 'console.log("decoy-test worker ran")')], env);
    expect(start.stderr).not.toContain('already running');
    expect(start.stdout).toContain('decoy-test worker ran');
    expect(start.code).toBe(0);
    expect(alive(pid)).toBe(true);
    expect((await cliInProcess(['worker', 'status', '--queue-id', 'q'], env)).stdout).toMatch(/state:\s+stopped/);
  });
});

describe('an engine whose supervisor is gone while it still starts', { timeout: 60_000 }, () => {
  it('exits before serving when its parent is not the --parent-pid it was given', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const gone = spawnSync('true').pid; // a pid that is nobody's parent any more
    const portFile = path.join(h, 'port.json');
    const args = ['proxy', 'start', '--config', MOCK_CONFIG, '--port', '0', '--port-file', portFile];
    const r = await cli([BIN, ...args, '--exit-with-parent', '--parent-pid', String(gone)], testEnv(h));
    expect(r.stderr).toContain(`the process that started the engine (pid ${gone}) is gone`);
    expect(r.code).toBe(0);
    expect(fs.existsSync(portFile)).toBe(false);
  });

  it('is recorded in worker.pid from its spawn, so worker stop ends it after the supervisor was killed', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const env = testEnv(h, { KUBIYA_ENGINE_BIN: path.join(FIXTURES, 'slow-engine.mjs') });
    const start = spawnCli(startArgs('slow', ['node', '-e', '0'], { daemon: true }), env);
    const info = await until(() => pidFile(h, 'slow')?.engine?.pid && pidFile(h, 'slow'), 'the engine pid');
    process.kill(info.supervisor_pid, 'SIGKILL');
    await start.done;
    const stop = await cliInProcess(['worker', 'stop', '--queue-id', 'slow'], env);
    expect(stop.stdout).toContain(`engine pid ${info.engine.pid}`);
    await until(() => !alive(info.engine.pid), 'the engine to be gone', 5000);
  });
});
