import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BIN,
  cli,
  cliInProcess,
  FIXTURES,
  kubiya,
  pidFile,
  queueFile,
  readOr,
  spawnCli,
  startArgs,
  testEnv,
  testHome,
  until,
} from './worker-helpers.js';

/** A fake LLM gateway on loopback that records the Authorization header it was sent. */
async function fakeGateway(
  onTestFinished: (fn: () => Promise<void>) => void,
): Promise<{ url: string; auth: string[] }> {
  const auth: string[] = [];
  const server = http.createServer((req, res) => {
    auth.push(String(req.headers.authorization));
    req.resume().on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'g',
          object: 'chat.completion',
          created: 0,
          model: 'gw',
          choices: [{ index: 0, message: { role: 'assistant', content: 'from the gateway' }, finish_reason: 'stop' }],
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, auth };
}

// concurrent: each test has its own HOME and queues; more time each, as they share two cores
describe.concurrent('worker start edge cases', { timeout: 60_000 }, () => {
  it('gateway mode starts no engine and points the SDK at the gateway with the user key', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const gw = await fakeGateway(onTestFinished);
    const worker =
      `const O=(await import('openai')).default; ` +
      `const r=await new O().chat.completions.create({model:'m',messages:[]}); ` +
      `console.log('got', r.choices[0].message.content)`;
    const r = await cli(
      [
        BIN,
        'worker',
        'start',
        '--queue-id=g-1',
        '--disable-local-proxy',
        '--gateway-url',
        gw.url,
        '--api-key',
        'kb-user-key-77',
        '--control-plane-url',
        'http://127.0.0.1:1',
        '--',
        'node',
        '--input-type=module',
        '-e',
        worker,
      ],
      testEnv(h, { NODE_PATH: path.join(FIXTURES, '../../../node_modules') }),
    );
    expect(r.stdout).toContain('[worker] got from the gateway');
    expect(r.code).toBe(0);
    expect(gw.auth).toEqual(['Bearer kb-user-key-77']);
    expect(r.stdout + r.stderr).not.toContain('[proxy]');
    expect(r.stderr).not.toContain('kb-user-key-77'); // the key is masked in the supervisor's messages
  });

  it('Ctrl-C stops the worker then the proxy and exits 130; a second Ctrl-C forces a stubborn worker', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const p = spawnCli(
      startArgs('e-2', ['node', path.join(FIXTURES, 'stubborn-worker.mjs')], { graceSeconds: 60 }),
      testEnv(h),
    );
    await until(() => p.out().includes('stubborn worker ready'), 'the worker');
    p.kill('SIGINT');
    await until(() => p.out().includes('ignoring SIGTERM'), 'the worker to get SIGTERM');
    p.kill('SIGINT'); // well before the 60 s grace
    const r = await p.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('second signal');
  });

  it('moves an engine whose port another process took to a new port, with a new key, and restarts the worker', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const env = testEnv(h);
    expect(
      (await cli(startArgs('e-3', ['node', path.join(FIXTURES, 'loop-worker.mjs')], { daemon: true }), env)).code,
    ).toBe(0);
    const info = pidFile(h, 'e-3')!;
    const firstWorker = info.worker.pid;
    process.kill(info.engine.pid, 'SIGKILL');
    // squat on the engine's port (a local process answering in its place, as any local user could)
    const seen: string[] = [];
    const squatter = http.createServer((req, res) => {
      seen.push(String(req.headers.authorization));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"healthy"}');
    });
    await until(
      () =>
        new Promise<boolean>((r) =>
          squatter.once('error', () => r(false)).listen(info.engine.port, '127.0.0.1', () => r(true)),
        ),
      'the port to be free',
    );
    onTestFinished(() => new Promise<void>((r) => squatter.close(() => r())));
    const moved = await until(
      () => {
        const p = pidFile(h, 'e-3');
        return p?.engine.port !== info.engine.port &&
          p?.engine.state === 'running' &&
          p.worker.pid &&
          p.worker.pid !== firstWorker
          ? p
          : undefined;
      },
      'the engine on a new port and the worker restarted',
      30_000,
    );
    expect(moved.engine.url).not.toBe(info.engine.url);
    const st = await cliInProcess(['worker', 'status', '--queue-id', 'e-3'], env);
    expect(st.stdout).toContain(`port ${info.engine.port} was taken by another process`);
    // the restarted worker's calls reach the moved engine, with a key the squatter never saw
    const log = () => readOr(queueFile(h, 'e-3', 'worker.log'));
    const before = log().length;
    await until(() => log().slice(before).includes('call ok'), 'a call through the moved engine');
    const newKey = readOr(`/proc/${moved.worker.pid}/environ`)
      .split('\0')
      .find((v) => v.startsWith('OPENAI_API_KEY='));
    expect(seen.every((a) => a !== `Bearer ${newKey?.slice('OPENAI_API_KEY='.length)}`)).toBe(true);
    expect((await cli(kubiya('worker', 'stop', '--queue-id', 'e-3'), env)).code).toBe(0);
  });

  it('gives up restarting an engine past the crash-loop limit and says so in status', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const env = testEnv(h, { KUBIYA_RESTART_LIMIT: '0' }); // the first crash is already one too many
    expect(
      (await cli(startArgs('e-4', ['node', path.join(FIXTURES, 'loop-worker.mjs')], { daemon: true }), env)).code,
    ).toBe(0);
    process.kill(pidFile(h, 'e-4')!.engine.pid, 'SIGKILL');
    const looped = await until(
      () => pidFile(h, 'e-4')?.engine.state === 'crash-loop' && pidFile(h, 'e-4'),
      'crash-loop',
    );
    expect(looped.engine.pid).toBeNull();
    const st = await cliInProcess(['worker', 'status', '--queue-id', 'e-4'], env);
    expect(st.stdout).toContain('crash-loop limit');
    expect(st.stdout).toContain('not answering');
    expect((await cli(kubiya('worker', 'stop', '--queue-id', 'e-4'), env)).code).toBe(0);
  });
});
