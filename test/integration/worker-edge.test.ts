import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BIN,
  cli,
  cliInProcess,
  FIXTURES,
  kubiya,
  pidFile,
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

  it('gives up restarting an engine whose port stays taken and reports the crash loop in status', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const env = testEnv(h, { KUBIYA_RESTART_LIMIT: '2' });
    expect(
      (await cli(startArgs('e-3', ['node', path.join(FIXTURES, 'loop-worker.mjs')], { daemon: true }), env)).code,
    ).toBe(0);
    const info = pidFile(h, 'e-3')!;
    process.kill(info.engine.pid, 'SIGKILL');
    // squat on the engine's port so every restart on it fails (engine exit 98)
    const squatter = net.createServer((sock) => sock.destroy());
    await until(
      () =>
        new Promise<boolean>((r) =>
          squatter.once('error', () => r(false)).listen(info.engine.port, '127.0.0.1', () => r(true)),
        ),
      'the port to be free',
    );
    onTestFinished(() => new Promise<void>((r) => squatter.close(() => r())));
    const looped = await until(
      () => (pidFile(h, 'e-3')?.engine.state === 'crash-loop' ? pidFile(h, 'e-3') : undefined),
      'the crash-loop state',
      30_000,
    );
    expect(looped.engine.pid).toBeNull();
    const st = await cliInProcess(['worker', 'status', '--queue-id', 'e-3'], env);
    expect(st.stdout).toContain('crash-loop limit');
    expect(st.stdout).toContain('not answering');
    expect((await cli(kubiya('worker', 'stop', '--queue-id', 'e-3'), env)).code).toBe(0);
  });
});
