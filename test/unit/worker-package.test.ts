import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  classifyPackageSource,
  compareVersions,
  DEFAULT_PACKAGE,
  resolvePackageRequest,
  versionSpecifier,
} from '../../src/config/worker-package.js';
import { ExitCode, UserError } from '../../src/errors.js';
import { pythonInstallHow, pythonProblem, readOsRelease } from '../../src/supervisor/python.js';
import { makeTempHome } from '../fakes/temp-home.js';

const home = makeTempHome('kubiya-pkg-unit-');
afterAll(() => home.cleanup());
const cwd = home.home;
const PKG = 'kubiya-control-plane-api[worker]';
const DIST = 'kubiya_control_plane_api';
const src = (v: string) => classifyPackageSource(v, '--package-source', cwd, { HOME: cwd });

describe('--package-source forms', () => {
  it('a version pins it, a specifier constrains it, on the index', () => {
    expect(src('0.5.0')).toMatchObject({ kind: 'index', spec: `${PKG}==0.5.0`, specifier: '==0.5.0' });
    expect(src('>=0.3.0')).toMatchObject({ kind: 'index', spec: `${PKG}>=0.3.0` });
    expect(src('>=0.3, <1.0')).toMatchObject({ spec: `${PKG}>=0.3,<1.0` });
    expect(src('~=0.5')).toMatchObject({ spec: `${PKG}~=0.5` });
    expect(src('1.0rc1')).toMatchObject({ spec: `${PKG}==1.0rc1` });
    expect(src('kubiya-control-plane-api==0.4.2')).toMatchObject({ spec: `${PKG}==0.4.2` });
  });

  it('a git URL or GitHub shorthand is a git source, with the [worker] extra as a direct reference', () => {
    const url = 'git+https://github.com/kubiyabot/control-plane-api.git@abc1234';
    expect(src(url)).toEqual({ kind: 'git', spec: `${PKG} @ ${url}`, from: `--package-source "${url}"` });
    expect(src('kubiyabot/control-plane-api@feature-x')).toMatchObject({
      kind: 'git',
      spec: `${PKG} @ git+https://github.com/kubiyabot/control-plane-api.git@feature-x`,
    });
    expect(src('git+file:///tmp/repo@main')).toMatchObject({
      kind: 'git',
      spec: `${PKG} @ git+file://localhost/tmp/repo@main`,
    });
  });

  it('a wheel or sdist path is a file source (relative to the working directory), and must exist', () => {
    const wheel = home.write('dist/kubiya_control_plane_api-0.5.0-py3-none-any.whl', 'x');
    const sdist = home.write('kubiya_control_plane_api-0.5.0.tar.gz', 'x');
    expect(src('./dist/kubiya_control_plane_api-0.5.0-py3-none-any.whl')).toMatchObject({
      kind: 'file',
      spec: `${PKG} @ ${pathToFileURL(wheel).href}`,
    });
    expect(src('~/kubiya_control_plane_api-0.5.0.tar.gz')).toMatchObject({
      kind: 'file',
      spec: `${PKG} @ ${pathToFileURL(sdist).href}`,
    });
    expect(() => src('./dist/missing.whl')).toThrow(/no such file or directory/);
  });

  it('refuses what is none of them, naming the forms it takes', () => {
    for (const bad of ['latest please', 'git+ftp://x/y', 'https://example.com/repo', '>=', ''])
      expect(() => src(bad), bad).toThrow(UserError);
    expect(() => src('latest please')).toThrow(/a version \(0\.5\.0\).*owner\/repo@ref/);
  });

  it('versionSpecifier reads versions and clause lists only', () => {
    expect(versionSpecifier('0.5')).toBe('==0.5');
    expect(versionSpecifier('==1.2.*')).toBe('==1.2.*');
    expect(versionSpecifier('main')).toBeUndefined();
    expect(compareVersions('0.10.0', '0.9.1')).toBeGreaterThan(0);
  });
});

describe('which flag or variable names the package', () => {
  const env = { HOME: cwd };
  it('nothing given: the newest from the index', () => {
    expect(resolvePackageRequest({}, env, cwd)).toBe(DEFAULT_PACKAGE);
  });

  it('flags win over the environment as a whole', () => {
    const r = resolvePackageRequest({ version: '0.4.0' }, { ...env, KUBIYA_WORKER_PACKAGE_SOURCE: 'a/b@main' }, cwd);
    expect(r).toMatchObject({ spec: `${PKG}==0.4.0`, from: '--package-version "0.4.0"' });
    expect(resolvePackageRequest({}, { ...env, KUBIYA_WORKER_PACKAGE_VERSION: '>=0.3' }, cwd)).toMatchObject({
      spec: `${PKG}>=0.3`,
      from: 'KUBIYA_WORKER_PACKAGE_VERSION ">=0.3"',
    });
  });

  it('two at one level contradict each other', () => {
    expect(() => resolvePackageRequest({ source: '0.5.0', version: '0.4.0' }, env, cwd)).toThrow(
      /--package-source "0\.5\.0" and --package-version "0\.4\.0" each name the worker package/,
    );
    expect(() =>
      resolvePackageRequest({}, { ...env, KUBIYA_WORKER_PACKAGE_SOURCE: '0.5.0', KUBIYA_WORKER_LOCAL_WHEEL: 'x' }, cwd),
    ).toThrow(/KUBIYA_WORKER_PACKAGE_SOURCE .* and KUBIYA_WORKER_LOCAL_WHEEL/);
  });

  it("--package-version takes only versions; --local-wheel a wheel, or the newest in a directory's dist/", () => {
    expect(() => resolvePackageRequest({ version: 'owner/repo@main' }, env, cwd)).toThrow(
      /is not a version or version specifier/,
    );
    const project = home.path('proj');
    for (const v of ['0.9.0', '0.10.0', '0.2.0'])
      home.write(`proj/dist/kubiya_control_plane_api-${v}-py3-none-any.whl`, 'x');
    expect(resolvePackageRequest({ wheel: project }, env, cwd)).toMatchObject({
      kind: 'file',
      spec: `${PKG} @ ${pathToFileURL(path.join(project, 'dist', `${DIST}-0.10.0-py3-none-any.whl`)).href}`,
    });
    home.write('notes.txt', 'x');
    expect(() => resolvePackageRequest({ wheel: 'notes.txt' }, env, cwd)).toThrow(/not a wheel or sdist/);
    fs.mkdirSync(home.path('empty'));
    expect(() => resolvePackageRequest({ wheel: 'empty' }, env, cwd)).toThrow(/holds no wheel/);
  });
});

describe('Python install instructions', () => {
  const os = (text: string) => {
    const f = home.write(`os-release-${Math.random()}`, text);
    return readOsRelease(f);
  };
  it('names the package manager of the OS', () => {
    expect(pythonInstallHow('linux', os('ID=ubuntu\nID_LIKE=debian\nVERSION_ID="22.04"\n'))).toMatch(
      /apt-get install -y python3 python3-venv python3-pip/,
    );
    expect(pythonInstallHow('linux', os('ID=debian\nVERSION_ID="12"\n'))).toMatch(/apt-get/);
    expect(pythonInstallHow('linux', os('ID="amzn"\nID_LIKE="centos rhel fedora"\nVERSION_ID="2"\n'))).toMatch(
      /^sudo yum install/,
    );
    expect(pythonInstallHow('linux', os('ID="amzn"\nVERSION_ID="2023"\n'))).toMatch(/^sudo dnf install/);
    expect(pythonInstallHow('linux', os('ID="rhel"\nID_LIKE="fedora"\nVERSION_ID="9.3"\n'))).toMatch(/^sudo dnf/);
    expect(pythonInstallHow('linux', os('ID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="7"\n'))).toMatch(/^sudo yum/);
    expect(pythonInstallHow('darwin', {})).toMatch(/^brew install python/);
    expect(pythonInstallHow('linux', {})).toMatch(/python\.org/);
  });

  it('says what is wrong with a Python', () => {
    const base = { python: 'py', found: true, version: '3.7.9', recent: false, venv: true, ensurepip: true, pip: true };
    expect(pythonProblem({ ...base, found: false })).toBe('py not found or does not run');
    expect(pythonProblem(base)).toMatch(/3\.7\.9; the worker needs 3\.8/);
    expect(pythonProblem({ ...base, version: '3.11.2', recent: true, ensurepip: false })).toMatch(/no ensurepip/);
    expect(pythonProblem({ ...base, version: '3.11.2', recent: true, ensurepip: false }, false)).toBeUndefined();
    expect(ExitCode.unavailable).toBe(69);
  });
});
