import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeControlPlane } from '../fakes/control-plane.js';
import { refusedUrl } from '../fakes/fake-server.js';
import { makeHome } from './config-run.js';
import { HAS_NODE_SQLITE } from './governance/stores.js';

const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'bin/kubiya.js');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
/** The interpreter itself (a version manager's shim can take seconds per start on a busy machine). */
const PYTHON = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout?.trim();
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** A directory with a `kubiya` on it that runs this checkout's bin (what a completion script calls on TAB). */
function shimDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubiya-shim-'));
  fs.writeFileSync(path.join(dir, 'kubiya'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, { mode: 0o755 });
  return dir;
}

describe('kubiya version', () => {
  it('-o json: the version, the commit and date embedded at build time, Node and platform', () => {
    const out = execFileSync(process.execPath, [BIN, 'version', '-o', 'json'], { encoding: 'utf8' });
    const v = JSON.parse(out);
    expect(Object.keys(v).sort()).toEqual(['build_date', 'commit', 'node', 'platform', 'version']);
    expect(v.version).toBe(PKG.version);
    expect(v.commit).toMatch(/^([0-9a-f]{12}(-dirty)?|unknown)$/);
    // built from this checkout: a commit git knows (HEAD when built after the last commit, as npm test does)
    const sha = v.commit.replace(/-dirty$/, '');
    expect(spawnSync('git', ['cat-file', '-e', `${sha}^{commit}`], { cwd: ROOT }).status).toBe(0);
    expect(Number.isNaN(Date.parse(v.build_date))).toBe(false);
    expect(v.node).toBe(process.version);
    expect(v.platform).toBe(`${process.platform}-${process.arch}`);
    expect(execFileSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' }).trim()).toBe(PKG.version);
  });
});

describe('kubiya completion', () => {
  let home: ReturnType<typeof makeHome>;
  let shim: string;
  beforeAll(() => {
    home = makeHome();
    shim = shimDir();
    fs.mkdirSync(path.join(home.home, '.kubiya/workers/q-alpha'), { recursive: true });
    fs.mkdirSync(path.join(home.home, '.kubiya/workers/q-beta'), { recursive: true });
    fs.writeFileSync(
      home.configPath,
      'current-context: prod\ncontexts:\n  - name: prod\n    context: {}\n  - name: staging\n    context: {}\n',
    );
  });
  afterAll(() => {
    home.cleanup();
    fs.rmSync(shim, { recursive: true, force: true });
  });
  const env = () => ({ HOME: home.home, KUBIYA_CONFIG: home.configPath, PATH: `${shim}:${process.env.PATH}` });

  it('bash: sourcing the script registers kubiya with complete', () => {
    const r = spawnSync('bash', ['-c', 'source <(kubiya completion bash) && complete -p kubiya'], {
      env: env(),
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('complete -o default -F _kubiya_complete kubiya');
  });

  it('bash: TAB offers commands, flags, context names, queue ids and output formats', () => {
    const script = `source <(kubiya completion bash)
t() {
  COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); COMPREPLY=(); _kubiya_complete; echo "\${COMPREPLY[*]}"
}
t kubiya ''
t kubiya worker ''
t kubiya worker start --queue-id ''
t kubiya worker stop --queue-id q-a
t kubiya config use-context ''
t kubiya config set-proxy --context st
t kubiya worker status -o ''
t kubiya doctor --q
t kubiya completion ''
t kubiya worker start --queue-id q1 -- pyth`;
    const r = spawnSync('bash', ['-c', script], { env: env(), encoding: 'utf8' });
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0].split(' ')).toEqual(expect.arrayContaining(['completion', 'config', 'doctor', 'proxy', 'worker']));
    expect(lines[0].split(' ')).not.toContain('__complete'); // hidden commands stay hidden
    expect(lines[1].split(' ')).toEqual(expect.arrayContaining(['start', 'stop', 'status', 'logs', 'list']));
    expect(lines[1]).not.toContain('__supervise');
    expect(lines[2]).toBe('q-alpha q-beta');
    expect(lines[3]).toBe('q-alpha');
    expect(lines[4]).toBe('prod staging');
    expect(lines[5]).toBe('staging');
    expect(lines[6]).toBe('text json');
    expect(lines[7]).toBe('--queue-id');
    expect(lines[8]).toBe('bash zsh fish');
    expect(lines[9]).toBe(''); // after --, the worker's own command line: nothing of ours
  });

  it.skipIf(!has('zsh'))('zsh: the script parses', () => {
    const r = spawnSync('zsh', [
      '-n',
      '-c',
      execFileSync(process.execPath, [BIN, 'completion', 'zsh'], { encoding: 'utf8' }),
    ]);
    expect(r.stderr.toString()).toBe('');
    expect(r.status).toBe(0);
  });

  it.skipIf(!has('fish'))('fish: the script parses and completes queue ids', () => {
    const file = path.join(shim, 'kubiya.fish');
    fs.writeFileSync(file, execFileSync(process.execPath, [BIN, 'completion', 'fish'], { encoding: 'utf8' }));
    expect(spawnSync('fish', ['--no-execute', file]).status).toBe(0);
    const r = spawnSync('fish', ['-c', `source ${file}; complete -C 'kubiya worker stop --queue-id '`], {
      env: env(),
      encoding: 'utf8',
    });
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['q-alpha', 'q-beta']);
  });

  it('an unknown shell is a usage error naming the shells', async () => {
    const r = await home.run(['completion', 'tcsh']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('expected one of bash, zsh, fish');
  });

  it('--help says how to install it', async () => {
    const r = await home.run(['completion', '--help']);
    expect(r.stdout).toContain("echo 'source <(kubiya completion bash)' >> ~/.bashrc");
    expect(r.stdout).toContain('~/.config/fish/completions/kubiya.fish');
  });
});

describe('help examples', () => {
  it.each([[[]], [['config']], [['proxy']], [['worker']], [['proxy', 'keys']]])(
    'kubiya %s --help shows examples',
    async (words) => {
      const h = makeHome();
      try {
        const r = await h.run([...words, '--help']);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`Examples:\\n\\s+kubiya ${words.join(' ')}`));
      } finally {
        h.cleanup();
      }
    },
  );
});

describe('kubiya doctor', () => {
  let home: ReturnType<typeof makeHome>;
  let cp: Awaited<ReturnType<typeof startFakeControlPlane>>;
  let closed: string;
  const statusOf = (out: string, name: string) =>
    (JSON.parse(out).checks as { name: string; status: string; detail: string }[]).find((c) => c.name === name);
  beforeAll(async () => {
    home = makeHome();
    cp = await startFakeControlPlane({ kind: 'ok', settings: {} });
    closed = await refusedUrl();
  });
  afterAll(async () => {
    home.cleanup();
    await cp.close();
  });
  // a healthy machine: a key, a reachable control plane that knows the queue
  const good = () => ({
    KUBIYA_API_KEY: 'kk-doctor-1',
    KUBIYA_CONTROL_PLANE_BASE_URL: cp.url,
    ...(PYTHON ? { KUBIYA_PYTHON: PYTHON } : {}),
  });

  it('exits 0 when nothing would stop worker start, and says so per check', async () => {
    cp.set({ kind: 'ok', settings: {} });
    const r = await home.run(['doctor', '--queue-id', 'q1', '-o', 'json'], good());
    const out = JSON.parse(r.stdout);
    expect(out.checks.filter((c: { status: string }) => c.status === 'fail')).toEqual([]);
    expect(r.code).toBe(0);
    expect(out.ok).toBe(true);
    const names = out.checks.map((c: { name: string }) => c.name);
    for (const n of ['node', 'python', 'config', 'context', '~/.kubiya', 'api key', 'control plane', 'proxy config'])
      expect(names).toContain(n);
    expect(statusOf(r.stdout, 'control plane')?.detail).toContain('queue "q1" found');
    expect(cp.requests.at(-1)?.authorization).toBe('Bearer kk-doctor-1');
    expect(r.stdout).not.toContain('kk-doctor-1'); // never the key itself
  });

  it('no python on PATH: fails with the fix, exit 1', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'kubiya-nopath-'));
    try {
      const { KUBIYA_PYTHON: _, ...noPython } = good();
      const r = await home.run(['doctor', '-o', 'json'], { ...noPython, PATH: empty });
      expect(r.code).toBe(1);
      const py = statusOf(r.stdout, 'python');
      expect(py?.status).toBe('fail');
      expect(py?.detail).toContain('python3 not found');
      // a worker command of one's own needs no Python: a warning only
      const own = await home.run(['doctor', '-o', 'json'], {
        ...noPython,
        PATH: empty,
        KUBIYA_WORKER_COMMAND: 'node w.js',
      });
      expect(statusOf(own.stdout, 'python'), own.stdout).toMatchObject({ status: 'warn' });
      expect(own.code).toBe(0);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('a config that cannot be read: fails naming the file, exit 1', async () => {
    const bad = path.join(home.home, 'broken-config');
    fs.writeFileSync(bad, 'contexts: [\n  - name: x\n');
    const r = await home.run(['doctor'], { ...good(), KUBIYA_CONFIG: bad });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL\s+config\s+.*broken-config.*YAML syntax error/);
    expect(r.stdout).toContain('fix: fix the file');
    const dir = path.join(home.home, 'a-directory');
    fs.mkdirSync(dir);
    const d = await home.run(['doctor', '-o', 'json'], { ...good(), KUBIYA_CONFIG: dir });
    expect(d.code).toBe(1);
    expect(statusOf(d.stdout, 'config')?.status).toBe('fail');
  });

  it('a current context that names nothing: fails listing the contexts there are', async () => {
    fs.mkdirSync(path.dirname(home.configPath), { recursive: true });
    fs.writeFileSync(home.configPath, 'current-context: gone\ncontexts:\n  - name: prod\n    context: {}\n');
    try {
      const r = await home.run(['doctor', '-o', 'json'], good());
      expect(r.code).toBe(1);
      expect(statusOf(r.stdout, 'context')).toMatchObject({ status: 'fail' });
      expect(JSON.parse(r.stdout).checks.find((c: { name: string }) => c.name === 'context').fix).toContain(
        'kubiya config use-context prod',
      );
    } finally {
      fs.rmSync(home.configPath);
    }
  });

  it('no API key: fails, exit 1', async () => {
    const { KUBIYA_API_KEY: _, ...noKey } = good();
    const r = await home.run(['doctor'], noKey);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL\s+api key\s+no Kubiya API key/);
    expect(r.stdout).toContain('fix: export KUBIYA_API_KEY=');
  });

  it('an unreachable control plane (a closed port): fails with and without a queue id, exit 1', async () => {
    for (const args of [
      ['doctor', '-o', 'json'],
      ['doctor', '--queue-id', 'q1', '-o', 'json'],
    ]) {
      const r = await home.run(args, { ...good(), KUBIYA_CONTROL_PLANE_BASE_URL: closed });
      expect(r.code).toBe(1);
      const c = statusOf(r.stdout, 'control plane');
      expect(c?.status).toBe('fail');
      expect(c?.detail).toMatch(/refused/);
    }
  });

  it('a key the control plane rejects: fails with the fix, exit 1', async () => {
    cp.set({ kind: 'status', status: 401 });
    try {
      const r = await home.run(['doctor', '--queue-id', 'q1', '-o', 'json'], good());
      expect(r.code).toBe(1);
      expect(statusOf(r.stdout, 'control plane')?.detail).toContain('rejected the API key');
    } finally {
      cp.set({ kind: 'ok', settings: {} });
    }
  });

  it('the proxy config worker start would use: a broken one fails, missing credentials warn', async () => {
    const broken = path.join(home.home, 'broken.yaml');
    fs.writeFileSync(broken, 'model_list: [\n');
    const b = await home.run(['doctor', '-o', 'json'], {
      ...good(),
      KUBIYA_ENABLE_LOCAL_PROXY: 'true',
      KUBIYA_PROXY_CONFIG_FILE: broken,
    });
    expect(b.code).toBe(1);
    expect(statusOf(b.stdout, 'proxy config')).toMatchObject({ status: 'fail' });
    const cfg = path.join(home.home, 'litellm.yaml');
    fs.writeFileSync(
      cfg,
      'model_list:\n  - model_name: mock\n    litellm_params: {model: openai/mock, mock_response: hi}\n' +
        '  - model_name: gpt\n    litellm_params: {model: openai/gpt-4o, api_key: os.environ/DOCTOR_UNSET_KEY}\n',
    );
    const w = await home.run(['doctor', '-o', 'json'], {
      ...good(),
      KUBIYA_ENABLE_LOCAL_PROXY: 'true',
      KUBIYA_PROXY_CONFIG_FILE: cfg,
      KUBIYA_WORKER_COMMAND: 'node w.js', // this exit code is about the proxy config alone
    });
    const pc = statusOf(w.stdout, 'proxy config');
    expect(pc?.status).toBe('warn');
    expect(pc?.detail).toContain('DOCTOR_UNSET_KEY');
    expect(JSON.parse(w.stdout).checks.filter((c: { status: string }) => c.status === 'fail')).toEqual([]);
    expect(w.code).toBe(0);
  });

  it('Redis and Postgres named by the config but down: fail', async () => {
    const port = Number(new URL(closed).port);
    const cfg = path.join(home.home, 'stores.yaml');
    fs.writeFileSync(
      cfg,
      'model_list:\n  - model_name: mock\n    litellm_params: {model: openai/mock, mock_response: hi}\n' +
        `router_settings: {redis_host: 127.0.0.1, redis_port: ${port}}\n` +
        `general_settings: {master_key: sk-doctor-master, database_url: "postgresql://u@127.0.0.1:${port}/db"}\n`,
    );
    const r = await home.run(['doctor', '-o', 'json'], {
      ...good(),
      KUBIYA_ENABLE_LOCAL_PROXY: 'true',
      KUBIYA_PROXY_CONFIG_FILE: cfg,
    });
    expect(r.code).toBe(1);
    expect(statusOf(r.stdout, 'redis')?.status).toBe('fail');
    expect(statusOf(r.stdout, 'database')?.status).toBe('fail');
    expect(r.stdout).not.toContain('sk-doctor-master');
  });
});

describe('the package', () => {
  it('ships the bundle, not the sources; nothing to run at install; engines names what CI tests', () => {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const files: string[] = JSON.parse(r.stdout)[0].files.map((f: { path: string }) => f.path);
    const shipped = ['bin/kubiya.js', 'dist/bundle/main.js', 'dist/bundle/prices.json', 'templates/mock.yaml'];
    // the dashboard's built page (served at /ui), not its sources
    shipped.push('dist/ui/index.html', 'dist/ui/assets/app.js', 'dist/ui/assets/app.css');
    for (const f of shipped) expect(files).toContain(f);
    expect(files.filter((f) => /^(src|test|scripts|ui)\/|^dist\/(?!bundle\/|ui\/)/.test(f))).toEqual([]);
    // the tarball's own install scripts: none (prepare is taken out by prepack, see scripts/pack.mjs)
    for (const s of ['preinstall', 'install', 'postinstall']) expect(PKG.scripts[s]).toBeUndefined();
    expect(PKG.scripts.prepack).toContain('pack.mjs');
    // a dependency with an install script makes npm warn at every install: the native one is an optional peer
    expect(PKG.dependencies['better-sqlite3']).toBeUndefined();
    expect(PKG.peerDependenciesMeta['better-sqlite3'].optional).toBe(true);
    expect(PKG.engines.node).toBe('^20.19.0 || ^22.12.0 || ^24.0.0');
  });

  it('runs with only its runtime dependencies (the bundle holds the rest)', () => {
    // the installed layout: the shipped files, and a node_modules with the `dependencies` alone
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubiya-installed-'));
    try {
      for (const f of ['bin', 'dist/bundle', 'dist/ui', 'templates', 'package.json'])
        fs.cpSync(path.join(ROOT, f), path.join(dir, f), { recursive: true });
      fs.mkdirSync(path.join(dir, 'node_modules/@x'), { recursive: true });
      for (const d of Object.keys(PKG.dependencies)) {
        fs.mkdirSync(path.dirname(path.join(dir, 'node_modules', d)), { recursive: true });
        fs.symlinkSync(path.join(ROOT, 'node_modules', d), path.join(dir, 'node_modules', d));
      }
      const bin = path.join(dir, 'bin/kubiya.js');
      expect(execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8' }).trim()).toBe(PKG.version);
      const v = spawnSync(process.execPath, [bin, 'proxy', 'validate', path.join(dir, 'templates/mock.yaml')], {
        encoding: 'utf8',
      });
      expect(v.stderr).toBe('');
      expect(v.stdout).toContain('gpt-4o-mini');
      // the SQLite store without better-sqlite3: Node's own node:sqlite from 22.13 on (with no experimental
      // warning shown), before that a clear error, not a crash
      const db = path.join(dir, 'gov.db');
      const m = spawnSync(process.execPath, [bin, 'proxy', 'migrate', '--db-path', db], { encoding: 'utf8' });
      if (HAS_NODE_SQLITE) {
        expect(m.stderr).toBe('');
        expect(m.stdout).toContain(`${db}: applied 0001_init`);
        expect(m.status).toBe(0);
      } else {
        expect(m.status).toBe(1);
        expect(m.stderr).toContain('needs the better-sqlite3 package');
        expect(m.stderr).toContain('or use Node 22+');
        expect(m.stderr).not.toContain('internal error');
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
