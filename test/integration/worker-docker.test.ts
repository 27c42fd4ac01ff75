// `worker start --type docker` against a fake Docker Engine API on a unix socket (test/fakes/docker-engine.ts):
// no Docker engine runs here. The fake runs a "container" as a real local process from the Cmd and Env it was
// given; with no network namespace it resolves the container's ExtraHosts (host.docker.internal -> the
// address mapped) by rewriting that name in the Env's URLs, so the worker really reaches the proxy engine at
// the bridge gateway the fake reports (127.0.0.2 here: a loopback address that is not 127.0.0.1).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type FakeDockerEngine, startFakeDocker } from '../fakes/docker-engine.js';
import {
  cli,
  cliInProcess,
  FIXTURES,
  kubiya,
  MOCK_CONFIG,
  pidFile,
  queueFile,
  readOr,
  spawnCli,
  testEnv,
  testHome,
  until,
} from './worker-helpers.js';

const IMAGE = 'ghcr.io/kubiyabot/agent-worker';

/**
 * Whether this process can run kubiya as `nobody`: root (it passes every permission check otherwise), and a node
 * and a checkout nobody may read (CI's Node 22/24 runs live in a 0700 temp directory: there they may not).
 */
const NOBODY_CAN_RUN = (() => {
  if (process.getuid?.() !== 0) return false;
  try {
    const r = spawnSync(process.execPath, kubiya('--version'), { uid: 65534, gid: 65534, stdio: 'ignore' });
    return r.status === 0;
  } catch {
    return false;
  }
})();
const WORKER = path.join(FIXTURES, 'container-worker.mjs');
const LOOP = path.join(FIXTURES, 'loop-worker.mjs');

/** `worker start --type docker` of `queueId` behind the mock config, with `flags`, then `-- command`. */
function dockerStart(queueId: string, flags: string[], command: string[]): string[] {
  return kubiya(
    'worker',
    'start',
    `--queue-id=${queueId}`,
    '--type',
    'docker',
    '--enable-local-proxy',
    '--proxy-config-file',
    MOCK_CONFIG,
    '--grace',
    '3',
    ...flags,
    '--',
    ...command,
  );
}

/** A fake engine for one test; it must have no container still running when the test ends. */
async function fakeDocker(
  onTestFinished: (fn: () => Promise<void>) => void,
  opts: Parameters<typeof startFakeDocker>[0],
): Promise<FakeDockerEngine> {
  const fake = await startFakeDocker(opts);
  onTestFinished(async () => {
    const left = await fake.close();
    if (left.length > 0) throw new Error(`containers left running: ${left.join(', ')}`);
  });
  return fake;
}

/** Whether something accepts a TCP connection at host:port. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

const envOf = (body: { Env: string[] }) => Object.fromEntries(body.Env.map((kv) => kv.split(/=(.*)/s).slice(0, 2)));

describe.concurrent('worker start --type docker', { timeout: 60_000 }, () => {
  it('pulls the image, runs the worker in a container that reaches the proxy, logs it, returns its exit code', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const fake = await fakeDocker(onTestFinished, { registry: { [`${IMAGE}:latest`]: {} } });
    const r = await cli(
      dockerStart('dk-1', [], ['node', WORKER, '7']),
      testEnv(h, { DOCKER_HOST: fake.dockerHost, KUBIYA_API_KEY: 'kb-secret-key' }),
    );
    expect(r.code, r.stderr).toBe(7);
    // pulled first, with the default image and tag
    const pulls = fake.called('POST', /^\/images\/create$/);
    expect(pulls.map((c) => c.query)).toEqual([{ fromImage: IMAGE, tag: 'latest' }]);
    expect(r.stderr).toContain(`Pulled ${IMAGE}:latest`);
    // the engine listens on the bridge gateway the Engine API reported, not on 127.0.0.1
    const port = Number(/proxy ready at http:\/\/127\.0\.0\.2:(\d+)/.exec(r.stderr)?.[1]);
    expect(port).toBeGreaterThan(0);
    // the container: image:tag, the command, the worker's variables (and not the host's), the labels, the host
    const [create] = fake.called('POST', /^\/containers\/create$/);
    expect(create.query.name).toMatch(/^kubiya-worker-dk-1-[0-9a-f]{8}$/);
    expect(create.body).toMatchObject({
      Image: `${IMAGE}:latest`,
      Cmd: ['node', WORKER, '7'],
      Tty: false,
      Labels: { 'kubiya.queue-id': 'dk-1', 'kubiya.worker-dir': path.join(h, '.kubiya/workers/dk-1') },
      HostConfig: { ExtraHosts: ['host.docker.internal:127.0.0.2'], NetworkMode: 'bridge' },
    });
    const env = envOf(create.body);
    expect(env).toMatchObject({
      LITELLM_API_BASE: `http://host.docker.internal:${port}`,
      OPENAI_BASE_URL: `http://host.docker.internal:${port}/v1`,
      ANTHROPIC_BASE_URL: `http://host.docker.internal:${port}`,
      QUEUE_ID: 'dk-1',
      KUBIYA_API_KEY: 'kb-secret-key',
    });
    expect(env.LITELLM_API_KEY).toMatch(/^sk-kubiya-local-/);
    expect(env.OPENAI_API_KEY).toBe(env.LITELLM_API_KEY);
    expect(env.HOME).toBeUndefined();
    expect(env.PATH).toBeUndefined();
    // the worker's call went through: stdout and stderr demultiplexed, echoed with the prefix and logged
    expect(r.stdout).toContain('[worker] chat 200: Hello from the kubiya mock proxy.');
    expect(r.stderr).toContain('[worker] a line on stderr');
    expect(r.stdout).toContain('[worker] has-home: false');
    const log = readOr(queueFile(h, 'dk-1', 'worker.log'));
    expect(log).toMatch(/^chat 200: Hello from the kubiya mock proxy\.$/m);
    expect(log).toMatch(/^a line on stderr$/m);
    // attached before the start, waited for, and removed after the exit
    const order = fake.calls.map((c) => `${c.method} ${c.path.replace(/[0-9a-f]{64}/, 'ID')}`);
    expect(order).toEqual(
      expect.arrayContaining([
        'POST /containers/ID/attach',
        'POST /containers/ID/start',
        'POST /containers/ID/wait',
        'DELETE /containers/ID',
      ]),
    );
    expect(order.indexOf('POST /containers/ID/attach')).toBeLessThan(order.indexOf('POST /containers/ID/start'));
    expect(fake.existing()).toEqual([]);
    expect(r.stderr).not.toContain('kb-secret-key');
    expect(pidFile(h, 'dk-1')).toBeUndefined();
  });

  it('-d with --no-pull: status shows the container, the proxy answers only with the key, stop removes it', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const fake = await fakeDocker(onTestFinished, { local: { 'registry.local:5000/team/worker:1.2.3': {} } });
    const env = testEnv(h, { DOCKER_HOST: fake.dockerHost });
    const r = await cli(
      dockerStart(
        'dk-2',
        ['-d', '--no-pull', '--image', 'registry.local:5000/team/worker', '--image-tag', '1.2.3', '--quiet'],
        ['node', LOOP],
      ),
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(fake.called('POST', /^\/images\/create$/)).toEqual([]);
    const [c] = fake.existing();
    expect(c.status).toBe('running');
    expect(r.stdout).toContain(`container:      ${c.id.slice(0, 12)} (registry.local:5000/team/worker:1.2.3)`);
    await until(() => /^call ok/m.test(readOr(queueFile(h, 'dk-2', 'worker.log'))), 'a call through the proxy');

    const st = await cliInProcess(['worker', 'status', '--queue-id', 'dk-2', '-o', 'json'], env);
    const s = JSON.parse(st.stdout);
    expect(s.state).toBe('running');
    expect(s.worker).toMatchObject({
      pid: null,
      state: 'running',
      alive: true,
      container: { id: c.id, name: c.name, image: 'registry.local:5000/team/worker:1.2.3', state: 'running' },
    });
    expect(s.engine.url).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/);
    const text = await cliInProcess(['worker', 'status', '--queue-id', 'dk-2'], env);
    expect(text.stdout).toContain(`container ${c.id.slice(0, 12)} (running)`);

    // the worker's page names the container in place of a pid
    const page = new URL(readOr(queueFile(h, 'dk-2', 'webui.url')).trim());
    const cookie = `kubiya_worker=${page.searchParams.get('token')}`;
    const api = await (await fetch(new URL('/api/status', page), { headers: { cookie } })).json();
    expect(api.worker.container).toBe(`${c.id.slice(0, 12)} (registry.local:5000/team/worker:1.2.3)`);

    // reachable where the container reaches it, with the run's key only; not on the host's loopback
    const port = Number(new URL(s.engine.url).port);
    expect(await accepts('127.0.0.1', port)).toBe(false);
    const anon = await fetch(`${s.engine.url}/v1/models`);
    expect(anon.status).toBe(401);

    const stop = await cliInProcess(['worker', 'stop', '--queue-id', 'dk-2'], env);
    expect(stop.code, stop.stderr).toBe(0);
    const kills = fake.called('POST', new RegExp(`^/containers/${c.id}/kill$`));
    expect(kills[0].query.signal).toBe('SIGTERM');
    expect(fake.called('DELETE', new RegExp(`^/containers/${c.id}$`)).length).toBeGreaterThan(0);
    expect(fake.existing()).toEqual([]);
    expect(readOr(queueFile(h, 'dk-2', 'worker.log'))).toContain('got SIGTERM');
    expect(pidFile(h, 'dk-2')).toBeUndefined();
  });

  it('a foreground run stops its container on SIGTERM and exits at once, not after the grace', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const fake = await fakeDocker(onTestFinished, { local: { [`${IMAGE}:latest`]: {} } });
    const p = spawnCli(
      dockerStart('dk-10', ['--no-pull', '--grace', '30'], ['node', LOOP]),
      testEnv(h, { DOCKER_HOST: fake.dockerHost }),
    );
    await until(() => /call ok/.test(p.out()), 'a call through the proxy');
    const t0 = Date.now();
    p.kill('SIGTERM');
    const r = await p.done;
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(r.stdout).toContain('[worker] got SIGTERM');
    expect(fake.existing()).toEqual([]);
  });

  it('stop --force, which gives the supervisor no time, still removes the container', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const fake = await fakeDocker(onTestFinished, { local: { [`${IMAGE}:latest`]: {} } });
    const env = testEnv(h, { DOCKER_HOST: fake.dockerHost });
    const r = await cli(dockerStart('dk-8', ['-d', '--no-pull'], ['node', LOOP]), env);
    expect(r.code, r.stderr).toBe(0);
    const [c] = fake.existing();
    const stop = await cliInProcess(['worker', 'stop', '--queue-id', 'dk-8', '--force'], env);
    expect(stop.code, stop.stderr).toBe(0);
    expect(fake.called('POST', new RegExp(`^/containers/${c.id}/kill$`)).map((k) => k.query.signal)).toContain(
      'SIGKILL',
    );
    expect(fake.called('DELETE', new RegExp(`^/containers/${c.id}$`))[0].query.force).toBe('1');
    expect(stop.stdout).toContain(`cleaned up: container ${c.id.slice(0, 12)}`);
    expect(fake.existing()).toEqual([]);
    expect(pidFile(h, 'dk-8')).toBeUndefined();
  });

  it('-d restarts a failing container by the restart policy, a new container each time', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const fake = await fakeDocker(onTestFinished, { local: { [`${IMAGE}:latest`]: {} } });
    const env = testEnv(h, { DOCKER_HOST: fake.dockerHost });
    // runs long enough to pass the daemon's early-exit check, then fails
    const r = await cli(
      dockerStart('dk-3', ['-d', '--no-pull'], ['node', '-e', 'setTimeout(() => process.exit(4), 700)']),
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    await until(() => fake.called('POST', /^\/containers\/create$/).length >= 3, 'a third container');
    const info = pidFile(h, 'dk-3')!;
    expect(info.worker.restarts).toBeGreaterThanOrEqual(2);
    expect(info.worker.last_exit).toBe('exit code 4');
    // each exited container was removed before the next was created (same name: a create would get 409)
    expect(fake.called('DELETE', /^\/containers\/[0-9a-f]{64}$/).length).toBeGreaterThanOrEqual(2);
    const stop = await cliInProcess(['worker', 'stop', '--queue-id', 'dk-3'], env);
    expect(stop.code, stop.stderr).toBe(0);
    expect(fake.existing()).toEqual([]);
  });

  it('says clearly when the Docker engine socket is missing (exit 1) and starts nothing', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const r = await cli(
      dockerStart('dk-4', [], ['node', WORKER]),
      testEnv(h, { DOCKER_HOST: `unix://${h}/no/docker.sock` }),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`there is no Docker engine socket at ${h}/no/docker.sock (DOCKER_HOST)`);
    expect(r.stderr).toMatch(/DOCKER_HOST at a running engine/);
    expect(r.stderr).not.toContain('proxy ready');
    expect(pidFile(h, 'dk-4')).toBeUndefined();
  });

  it("refuses a bridge gateway that is not this machine's (Docker Desktop, rootless), proxy not started", async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    // TEST-NET-1: no interface here has it; nothing is sent to it, the check reads this machine's interfaces
    const fake = await fakeDocker(onTestFinished, { local: { [`${IMAGE}:latest`]: {} }, gateway: '192.0.2.1' });
    const r = await cli(
      dockerStart('dk-9', ['--no-pull'], ['node', WORKER]),
      testEnv(h, { DOCKER_HOST: fake.dockerHost }),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Docker's bridge gateway 192.0.2.1 is not an address of this machine");
    expect(r.stderr).not.toContain('proxy ready');
    expect(fake.called('POST', /^\/containers\/create$/)).toEqual([]);
    expect(pidFile(h, 'dk-9')).toBeUndefined();
  });

  // root passes every permission check: the CLI runs as nobody, and the fake's socket is in a root-only directory
  it.skipIf(!NOBODY_CAN_RUN)(
    'says how to fix a socket it may not use (docker group, DOCKER_HOST), exit 1',
    async ({ onTestFinished }) => {
      const h = testHome(onTestFinished);
      fs.chownSync(h, 65534, 65534);
      const fake = await fakeDocker(onTestFinished, {});
      const p = spawn(process.execPath, dockerStart('dk-7', [], ['node', WORKER]), {
        env: testEnv(h, { DOCKER_HOST: fake.dockerHost }),
        uid: 65534,
        gid: 65534,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      p.stderr!.on('data', (d) => (stderr += d));
      p.stdout!.resume();
      const code = await new Promise((resolve, reject) => {
        p.on('close', resolve);
        p.on('error', reject); // not spawned at all: a clear failure, not a timeout
      });
      expect(code, stderr).toBe(1);
      expect(stderr).toContain(`permission denied on the Docker engine socket ${fake.socketPath}`);
      expect(stderr).toContain('sudo usermod -aG docker $USER');
      expect(stderr).toContain('set DOCKER_HOST to a socket you may use');
      expect(fake.calls).toEqual([]);
    },
  );

  it('doctor --type docker: the engine and its bridge checked in place of Python; no socket: the fix', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const fake = await fakeDocker(onTestFinished, {});
    const check = (out: string, name: string) =>
      (JSON.parse(out) as { checks: { name: string; status: string; detail: string; fix?: string }[] }).checks.find(
        (c) => c.name === name,
      );
    const ok = await cliInProcess(
      ['doctor', '--type', 'docker', '-o', 'json'],
      testEnv(h, { DOCKER_HOST: fake.dockerHost }),
    );
    expect(ok.stderr).toBe('');
    expect(check(ok.stdout, 'docker engine')).toMatchObject({ status: 'ok' });
    expect(check(ok.stdout, 'docker engine')?.detail).toMatch(/^Docker \S+ \(API \S+\) at /);
    expect(check(ok.stdout, 'docker bridge')).toMatchObject({ status: 'ok' });
    expect(check(ok.stdout, 'python')).toBeUndefined(); // the image brings the worker
    expect(fake.called('GET', /\/_ping$/).length).toBeGreaterThan(0);
    const missing = path.join(h, 'no-such.sock');
    const bad = await cliInProcess(
      ['doctor', '--type', 'docker', '-o', 'json'],
      testEnv(h, { DOCKER_HOST: `unix://${missing}` }),
    );
    expect(bad.code).toBe(1);
    expect(check(bad.stdout, 'docker engine')).toMatchObject({ status: 'fail' });
    expect(check(bad.stdout, 'docker engine')?.detail).toContain(`no Docker engine socket at ${missing}`);
    expect(check(bad.stdout, 'docker engine')?.fix).toContain('DOCKER_HOST');
  });

  it('refuses an image the registry does not have, and a missing image with --no-pull, saying how', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const fake = await fakeDocker(onTestFinished, {});
    const env = testEnv(h, { DOCKER_HOST: fake.dockerHost });
    const pull = await cli(dockerStart('dk-5', ['--image', 'nobody/nothing'], ['node', WORKER]), env);
    expect(pull.code).toBe(1);
    expect(pull.stderr).toContain('cannot pull nobody/nothing:latest');
    expect(pull.stderr).toContain('pull access denied for nobody/nothing');
    const none = await cli(dockerStart('dk-5', ['--no-pull', '--image-tag', '9.9'], ['node', WORKER]), env);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`No such image: ${IMAGE}:9.9`);
    expect(none.stderr).toContain('run without --no-pull');
    // an error line in the pull's progress stream (after its 200) fails the pull too
    const broken = await fakeDocker(onTestFinished, {
      registry: { [`${IMAGE}:latest`]: {} },
      pullStreamError: 'unexpected EOF',
    });
    const mid = await cli(dockerStart('dk-5', [], ['node', WORKER]), testEnv(h, { DOCKER_HOST: broken.dockerHost }));
    expect(mid.code).toBe(1);
    expect(mid.stderr).toContain(`cannot pull ${IMAGE}:latest: unexpected EOF`);
    expect(broken.called('POST', /^\/containers\/create$/)).toEqual([]);
    expect(fake.existing()).toEqual([]);
    expect(pidFile(h, 'dk-5')).toBeUndefined();
  });

  it('checks the docker flags before anything starts', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const env = testEnv(h);
    const local = await cliInProcess(['worker', 'start', '--queue-id', 'dk-6', '--image', 'x/y', '--dry-run'], env);
    expect(local.code).toBe(2);
    expect(local.stderr).toContain('--image: only for a worker in a container (this is --type local)');
    const tagged = await cliInProcess(
      ['worker', 'start', '--queue-id', 'dk-6', '--type', 'docker', '--image', 'x/y:1.0', '--dry-run'],
      env,
    );
    expect(tagged.code).toBe(2);
    expect(tagged.stderr).toContain('give the repository only, the tag with --image-tag');
    const dry = await cliInProcess(
      [
        'worker',
        'start',
        '--queue-id',
        'dk-6',
        '--type',
        'docker',
        '--proxy-config-file',
        MOCK_CONFIG,
        '--dry-run',
        '-o',
        'json',
        '--',
        'node',
        'w.mjs',
      ],
      env,
    );
    expect(dry.code, dry.stderr).toBe(0);
    const text = await cliInProcess(
      ['worker', 'start', '--queue-id', 'dk-6', '--type', 'docker', '--proxy-config-file', MOCK_CONFIG, '--dry-run'],
      env,
    );
    expect(text.stdout).toContain(`Runs in: a Docker container, ${IMAGE}:latest (pulled first)`);
    expect(text.stdout).toContain("Worker command: the image's own");
    expect(JSON.parse(dry.stdout).options).toMatchObject({
      type: 'docker',
      docker: { image: IMAGE, tag: 'latest', pull: true },
    });
  });
});
