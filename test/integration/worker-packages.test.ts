// The default worker's package, installed for real into the queue's venv by pip: from a package index that is a
// folder of wheels the test builds (pip's --no-index --find-links, given as PIP_* variables, as a user's pip.conf
// or PIP_INDEX_URL would be), and from a local git repository that pip clones and builds with an in-tree backend.
// Nothing leaves the machine.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BIN,
  cli,
  cliInProcess,
  FIXTURES,
  MOCK_CONFIG,
  pidFile,
  pipEnv,
  testEnv,
  testHome,
  until,
} from './worker-helpers.js';

const MAKER = path.join(FIXTURES, 'fake_worker_package.py');

const start = (q: string, ...extra: string[]) => [
  BIN,
  'worker',
  'start',
  `--queue-id=${q}`,
  '--enable-local-proxy',
  '--proxy-config-file',
  MOCK_CONFIG,
  '--control-plane-url',
  'http://127.0.0.1:9',
  '--grace',
  '2',
  ...extra,
];

/** A wheel of the stand-in package, version `v`, into the folder that serves as the index. */
const wheel = (dir: string, v: string) => execFileSync('python3', [MAKER, dir, v], { encoding: 'utf8' }).trim();

/** A folder of wheels of `versions` in the test's home, and the environment that makes it pip's only index. */
function index(home: string, ...versions: string[]): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = path.join(home, 'index');
  fs.mkdirSync(dir);
  for (const v of versions) wheel(dir, v);
  return { dir, env: pipEnv(home, dir) };
}

/** The version the worker printed when it ran (the installed entry point says its own). */
const ran = (stdout: string) => /\[worker\] fake control-plane worker (\S+) build (\S+)/.exec(stdout)?.slice(1, 3);

describe.concurrent('the worker package', { timeout: 240_000 }, () => {
  it('from an index: a pin; a newer one at the next start, not with --no-update; --no-cache purges', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const { dir, env } = index(h, '0.1.0');
    // a wheel pip built and cached earlier (pip cache purge removes what it finds under wheels/ and http/)
    const cached = path.join(h, 'pip-cache/wheels/00/11/old_pkg-1.0-py3-none-any.whl');
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    fs.writeFileSync(cached, 'x');

    // first start: the venv is made, the newest the index has is installed, and its entry point runs
    let r = await cli(start('pk'), env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Installed kubiya-control-plane-api 0.1.0');
    expect(ran(r.stdout)).toEqual(['0.1.0', '-']);
    expect(r.stdout).toMatch(/--queue-id pk --control-plane-url http:\/\/127\.0\.0\.1:9/);
    expect(r.stdout).toMatch(/\[worker\] proxy http:\/\/127\.0\.0\.1:\d+\/v1/);
    expect(fs.existsSync(cached)).toBe(true);

    // a newer wheel appears: --no-update starts the installed one and does not look
    wheel(dir, '0.2.0');
    r = await cli(start('pk', '--no-update'), env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Using the installed kubiya-control-plane-api 0.1.0 (--no-update');
    expect(ran(r.stdout)?.[0]).toBe('0.1.0');

    // without it the start finds the newer one (and with --no-cache, after clearing pip's cache)
    r = await cli(start('pk', '--no-cache'), env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("Cleared pip's cache");
    expect(fs.existsSync(cached)).toBe(false);
    expect(r.stderr).toContain('Updated kubiya-control-plane-api 0.1.0 -> 0.2.0');
    expect(ran(r.stdout)?.[0]).toBe('0.2.0');

    // a pin installs exactly that version (the flag wins over the environment's source)
    r = await cli(start('pk', '--package-version', '0.1.0'), { ...env, KUBIYA_WORKER_PACKAGE_SOURCE: '0.2.0' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Updated kubiya-control-plane-api 0.2.0 -> 0.1.0');
    expect(ran(r.stdout)?.[0]).toBe('0.1.0');

    // --no-update with a pin the venv does not have: refused, saying what to drop; nothing started
    r = await cli(start('pk', '--no-update', '--package-source', '0.2.0'), env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/has kubiya-control-plane-api 0\.1\.0, which is not ==0\.2\.0/);
    expect(r.stderr).toContain('Drop --no-update');
    expect(r.stdout).not.toContain('[worker]');
  });

  it('--no-update with nothing installed is an error; --local-wheel in a daemon, its version in worker status', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const { dir, env } = index(h);
    const file = wheel(dir, '1.4.2');
    let r = await cli(start('pd', '--no-update', '--local-wheel', file), env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--no-update: the queue has no worker package installed yet/);
    expect(r.stderr).toContain('Drop --no-update to install kubiya-control-plane-api[worker] @ file://');

    r = await cli(start('pd', '-d', '--local-wheel', file), { ...env, FAKE_WORKER_SLEEP: '60' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Installed kubiya-control-plane-api 1.4.2');
    expect(fs.existsSync(path.join(h, '.kubiya/workers/pd/venv/bin/kubiya-control-plane-worker'))).toBe(true);
    const s = await cliInProcess(['worker', 'status', '--queue-id', 'pd', '-o', 'json'], env);
    expect(JSON.parse(s.stdout)).toMatchObject({ state: 'running', package_version: '1.4.2' });
    const text = await cliInProcess(['worker', 'status', '--queue-id', 'pd'], env);
    expect(text.stdout).toMatch(/package:\s+kubiya-control-plane-api 1\.4\.2/);
    expect(pidFile(h, 'pd')?.package_version).toBe('1.4.2');
    // the worker page says it too (its token, as a browser holds it after opening the printed URL)
    const page = new URL(fs.readFileSync(path.join(h, '.kubiya/workers/pd/webui.url'), 'utf8').trim());
    const res = await fetch(new URL('/api/status', page), {
      headers: { cookie: `kubiya_worker=${page.searchParams.get('token')}` },
    });
    expect(await res.json()).toMatchObject({ package_version: '1.4.2' });
    await cli([BIN, 'worker', 'stop', '--queue-id', 'pd'], env);
    await until(() => !pidFile(h, 'pd'), 'the daemon to stop');
  });

  it('from a git repository at a ref (rebuilt when it moves, even under the same version), and an sdist', async ({
    onTestFinished,
  }) => {
    const h = testHome(onTestFinished);
    const repo = path.join(h, 'repo');
    fs.mkdirSync(repo);
    fs.copyFileSync(MAKER, path.join(repo, 'fake_worker_package.py'));
    fs.writeFileSync(
      path.join(repo, 'pyproject.toml'),
      '[build-system]\nrequires = []\nbuild-backend = "fake_worker_package"\nbackend-path = ["."]\n',
    );
    const commit = (version: string, build: string) => {
      fs.writeFileSync(path.join(repo, 'version.txt'), version);
      fs.writeFileSync(path.join(repo, 'build.txt'), build);
      const git = (...a: string[]) =>
        execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...a], { cwd: repo });
      if (!fs.existsSync(path.join(repo, '.git'))) git('init', '-q', '-b', 'main');
      git('add', '-A');
      git('commit', '-qm', `${version} ${build}`);
    };
    commit('0.3.0', 'one');
    const { env } = index(h);
    const source = `git+file://${repo}@main`;

    let r = await cli(start('pg', '--package-source', source), env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Installed kubiya-control-plane-api 0.3.0');
    expect(ran(r.stdout)).toEqual(['0.3.0', 'one']);

    commit('0.3.0', 'two');
    r = await cli(start('pg', '--package-source', source), env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Reinstalled kubiya-control-plane-api 0.3.0');
    expect(ran(r.stdout)).toEqual(['0.3.0', 'two']);

    // the same source from the environment, --no-update: the installed build, no clone
    commit('0.4.0', 'three');
    r = await cli(start('pg', '--no-update'), { ...env, KUBIYA_WORKER_PACKAGE_SOURCE: source });
    expect(r.code, r.stderr).toBe(0);
    expect(ran(r.stdout)).toEqual(['0.3.0', 'two']);

    // an sdist of that commit: pip unpacks and builds it
    const sdist = path.join(h, 'kubiya_control_plane_api-0.4.0.tar.gz');
    execFileSync(
      'git',
      ['archive', '--format=tar.gz', '--prefix=kubiya_control_plane_api-0.4.0/', '-o', sdist, 'HEAD'],
      {
        cwd: repo,
      },
    );
    r = await cli(start('pg', '--package-source', sdist), env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Updated kubiya-control-plane-api 0.3.0 -> 0.4.0');
    expect(ran(r.stdout)).toEqual(['0.4.0', 'three']);
  });

  it('no usable Python: the install command for this OS, exit 69, nothing started', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const r = await cli(start('pn'), testEnv(h, { KUBIYA_PYTHON: '/nonexistent/python3' }));
    expect(r.code).toBe(69);
    expect(r.stderr).toContain('the default worker needs Python 3.8+ with venv and pip');
    expect(r.stderr).toContain('/nonexistent/python3 not found or does not run');
    const release = fs.existsSync('/etc/os-release') ? fs.readFileSync('/etc/os-release', 'utf8') : '';
    if (/^ID(_LIKE)?=.*(debian|ubuntu)/m.test(release)) expect(r.stderr).toContain('sudo apt-get install -y python3');
    expect(r.stderr).toContain('KUBIYA_PYTHON');
    // and the other way: a worker command of one's own, which needs no Python
    for (const how of ['-- node my-worker.mjs', '--worker-command', 'KUBIYA_WORKER_COMMAND'])
      expect(r.stderr).toContain(how);
    expect(fs.existsSync(path.join(h, '.kubiya/workers/pn/worker.pid'))).toBe(false);
    expect(fs.existsSync(path.join(h, '.kubiya/workers/pn/venv'))).toBe(false);
  });

  it('contradictions are refused before anything is resolved or installed', async ({ onTestFinished }) => {
    const h = testHome(onTestFinished);
    const env = testEnv(h);
    let r = await cli(start('px', '--package-source', '0.5.0', '--package-version', '0.4.0', '--dry-run'), env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('each name the worker package; give one');
    r = await cli(start('px', '--no-update', '--no-cache', '--dry-run'), env);
    expect(r.code).toBe(2);
    r = await cli(start('px', '--package-source', '0.5.0', '--dry-run', '--', 'node', '-e', '0'), env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("for the default Kubiya worker's package, but the worker command is your own");
    r = await cli(start('px', '--package-source', 'kubiyabot/control-plane-api@v0.5.0', '--dry-run'), env);
    expect(r.code, r.stderr).toBe(0);
    const url = 'git+https://github.com/kubiyabot/control-plane-api.git@v0.5.0';
    expect(r.stdout).toContain(`Worker package: kubiya-control-plane-api[worker] @ ${url}`);
  });
});
