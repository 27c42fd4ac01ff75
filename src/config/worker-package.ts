import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { UserError } from '../errors.js';

/** The Python distribution that provides `kubiya-control-plane-worker`, and the extra with the worker's deps. */
export const WORKER_DIST = 'kubiya-control-plane-api';
export const WORKER_PACKAGE = `${WORKER_DIST}[worker]`;

/**
 * What pip installs for the default worker, resolved from --package-source / --package-version / --local-wheel
 * (or their KUBIYA_WORKER_PACKAGE_* variables).
 *  - index: from the package index pip is configured with (PyPI, or PIP_INDEX_URL / PIP_FIND_LINKS / pip.conf)
 *  - file:  a wheel, an sdist or a project directory on this machine, or an archive URL
 *  - git:   a git URL (pip clones and builds it)
 */
export interface PackageRequest {
  kind: 'index' | 'file' | 'git';
  /** the requirement handed to pip, e.g. `kubiya-control-plane-api[worker]>=0.3.0` */
  spec: string;
  /** index only: the version constraint ('' for the newest), e.g. `==0.5.0`, `>=0.3.0` */
  specifier?: string;
  /** what the user wrote and where: `--package-source 0.5.0`, `KUBIYA_WORKER_LOCAL_WHEEL=./x.whl`, `default` */
  from: string;
}

/** The package when nothing names one: the newest on the index. */
export const DEFAULT_PACKAGE: PackageRequest = { kind: 'index', spec: WORKER_PACKAGE, specifier: '', from: 'default' };

const FORMS =
  'a version (0.5.0), a specifier (">=0.3.0"), a wheel or sdist path (./dist/x.whl, x.tar.gz), ' +
  'a git URL (git+https://github.com/org/repo.git@ref) or GitHub shorthand (owner/repo@ref)';

/** PEP 440-ish: `0.5.0`, `1.0rc1`, `2024.1.post3`, `1.2.*` (with ==) */
const VERSION =
  /^v?\d+(\.\d+)*(\.\*)?([._-]?(a|b|c|rc|alpha|beta|pre|preview|post|rev|r|dev)[._-]?\d*)*(\+[a-z0-9.]+)?$/i;
const CLAUSE = /^(===|==|!=|~=|>=|<=|>|<)\s*(\S+)$/;
const ARCHIVE = /\.(whl|tar\.gz|tgz|tar\.bz2|zip)$/i;
const GITHUB = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9._-]+?)(?:\.git)?(?:@([^\s@]+))?$/;
const DIST_NAME = /^kubiya[-_.]control[-_.]plane[-_.]api(\[[^\]]*\])?\s*(.*)$/i;

/** `0.5.0` -> `==0.5.0`; `>=0.3.0, <1` -> `>=0.3.0,<1`; undefined when it is neither. */
export function versionSpecifier(text: string): string | undefined {
  const t = text.trim();
  if (VERSION.test(t) && !t.includes('*')) return `==${t}`;
  const clauses = t.split(',').map((c) => c.trim());
  const parsed = clauses.map((c) => CLAUSE.exec(c));
  if (clauses.length === 0 || parsed.some((m) => !m || !(VERSION.test(m[2]) || /^[\d.]+\.\*$/.test(m[2]))))
    return undefined;
  return parsed.map((m) => `${m![1]}${m![2]}`).join(',');
}

/** A local path as pip gets it: a `name[worker] @ file://` direct reference, so the extra's deps come along. */
function fileRequest(file: string, from: string): PackageRequest {
  return { kind: 'file', spec: `${WORKER_PACKAGE} @ ${pathToFileURL(file).href}`, from };
}

function expandHome(p: string, env: NodeJS.ProcessEnv): string {
  return p === '~' || p.startsWith('~/') ? path.join(env.HOME ?? '', p.slice(1)) : p;
}

/**
 * Classify one --package-source value (see FORMS): a version or specifier goes to the index, a path that exists
 * (or looks like an archive) is a local file, `git+...` and GitHub shorthand are git. Throws a UserError naming
 * the value and the forms it may take.
 */
export function classifyPackageSource(
  value: string,
  from: string,
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): PackageRequest {
  const v = value.trim();
  const label = `${from} "${value}"`;
  if (!v) throw new UserError(`${from} is empty; give ${FORMS}`);
  const named = DIST_NAME.exec(v);
  if (named) {
    // `kubiya-control-plane-api==0.5.0` or `kubiya-control-plane-api[worker]>=0.3`: the same as its specifier
    const specifier = named[2] ? versionSpecifier(named[2]) : '';
    if (specifier === undefined) throw new UserError(`${label}: "${named[2]}" is not a version specifier`);
    return { kind: 'index', spec: `${WORKER_PACKAGE}${specifier}`, specifier, from: label };
  }
  const specifier = versionSpecifier(v);
  if (specifier !== undefined) return { kind: 'index', spec: `${WORKER_PACKAGE}${specifier}`, specifier, from: label };
  if (/^git\+[a-z]+:\/\//i.test(v)) {
    if (!/^git\+(https|http|ssh|file|git):\/\/\S+$/i.test(v))
      throw new UserError(`${label}: a git URL is git+https://, git+ssh:// or git+file:// followed by the repository`);
    // a direct reference needs a host in its URL (pip's PEP 508 parser refuses git+file:///path); git reads
    // file://localhost/path as the same local path
    const url = v.replace(/^git\+file:\/\/\//i, 'git+file://localhost/');
    return { kind: 'git', spec: `${WORKER_PACKAGE} @ ${url}`, from: label };
  }
  if (/^https?:\/\//i.test(v)) {
    if (!ARCHIVE.test(new URL(v).pathname))
      throw new UserError(
        `${label}: an http(s) URL must name a wheel or an sdist (.whl, .tar.gz, .zip); ` +
          `for a git repository use git+${v}`,
      );
    return { kind: 'file', spec: `${WORKER_PACKAGE} @ ${v}`, from: label };
  }
  const local = path.resolve(cwd, expandHome(v, env));
  const looksLikePath = ARCHIVE.test(v) || /^(\.{1,2}|~)?\//.test(v) || v === '.' || v === '..';
  if (fs.existsSync(local)) return fileRequest(local, label);
  if (looksLikePath) throw new UserError(`${label}: no such file or directory (${local})`);
  const gh = GITHUB.exec(v);
  if (gh) {
    const url = `git+https://github.com/${gh[1]}/${gh[2]}.git${gh[3] ? `@${gh[3]}` : ''}`;
    return { kind: 'git', spec: `${WORKER_PACKAGE} @ ${url}`, from: label };
  }
  throw new UserError(`${label} is not a package source; give ${FORMS}`);
}

/**
 * --local-wheel: a wheel (or sdist) file, or a project directory whose dist/ holds wheels (the newest version
 * is taken, as after `python -m build --wheel`).
 */
export function localWheel(value: string, from: string, cwd: string, env: NodeJS.ProcessEnv = {}): PackageRequest {
  const label = `${from} "${value}"`;
  const file = path.resolve(cwd, expandHome(value.trim(), env));
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new UserError(`${label}: no such file (${file})`, { hint: 'Build one with: python -m build --wheel' });
  }
  if (!st.isDirectory()) {
    if (!ARCHIVE.test(file)) throw new UserError(`${label}: not a wheel or sdist (.whl, .tar.gz, .zip)`);
    return fileRequest(file, label);
  }
  const dist = path.join(file, 'dist');
  const wheels = fs.existsSync(dist) ? fs.readdirSync(dist).filter((f) => f.endsWith('.whl')) : [];
  if (wheels.length === 0)
    throw new UserError(`${label}: a directory, and ${dist} holds no wheel`, {
      hint: `Build one with: (cd ${file} && python -m build --wheel --outdir dist/)`,
    });
  const newest = wheels.sort((a, b) => compareVersions(wheelVersion(a), wheelVersion(b))).at(-1)!;
  return fileRequest(path.join(dist, newest), `${label} (${newest})`);
}

/** `name-1.2.3-py3-none-any.whl` -> `1.2.3` */
function wheelVersion(file: string): string {
  return file.split('-')[1] ?? '';
}

/** Numeric comparison of dotted versions, part by part (what a dist/ folder's wheels need, not all of PEP 440). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/);
  const pb = b.split(/[.+-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const [x, y] = [pa[i] ?? '0', pb[i] ?? '0'];
    const [nx, ny] = [Number.parseInt(x, 10), Number.parseInt(y, 10)];
    if (!Number.isNaN(nx) && !Number.isNaN(ny) && nx !== ny) return nx - ny;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** What names the package at one level (the flags, or the environment). */
interface PackageInputs {
  source?: string;
  version?: string;
  wheel?: string;
}

/**
 * The package the default worker is installed from. Flags win over the environment as a whole (any of
 * --package-source / --package-version / --local-wheel means the KUBIYA_WORKER_PACKAGE_* variables are not
 * read); within one level, two of them at once is a contradiction and an error.
 */
export function resolvePackageRequest(flags: PackageInputs, env: NodeJS.ProcessEnv, cwd: string): PackageRequest {
  const nonEmpty = (s: string | undefined) => (s?.trim() ? s : undefined);
  const levels: [PackageInputs, Record<keyof PackageInputs, string>][] = [
    [flags, { source: '--package-source', version: '--package-version', wheel: '--local-wheel' }],
    [
      {
        source: nonEmpty(env.KUBIYA_WORKER_PACKAGE_SOURCE),
        version: nonEmpty(env.KUBIYA_WORKER_PACKAGE_VERSION),
        wheel: nonEmpty(env.KUBIYA_WORKER_LOCAL_WHEEL),
      },
      {
        source: 'KUBIYA_WORKER_PACKAGE_SOURCE',
        version: 'KUBIYA_WORKER_PACKAGE_VERSION',
        wheel: 'KUBIYA_WORKER_LOCAL_WHEEL',
      },
    ],
  ];
  for (const [inputs, names] of levels) {
    const given = (Object.keys(names) as (keyof PackageInputs)[]).filter((k) => inputs[k] !== undefined);
    if (given.length === 0) continue;
    if (given.length > 1)
      throw new UserError(
        `${given.map((k) => `${names[k]} "${inputs[k]}"`).join(' and ')} each name the worker package; give one`,
        {
          hint:
            '--package-source takes every form (0.5.0, ">=0.3.0", ./dist/x.whl, git+https://...@ref, ' +
            'owner/repo@ref); ' +
            '--package-version and --local-wheel are its older, narrower spellings',
        },
      );
    const k = given[0];
    const value = inputs[k]!;
    if (k === 'wheel') return localWheel(value, names.wheel, cwd, env);
    if (k === 'source') return classifyPackageSource(value, names.source, cwd, env);
    const specifier = versionSpecifier(value);
    if (specifier === undefined)
      throw new UserError(
        `${names.version} "${value}" is not a version or version specifier (0.5.0, ">=0.3.0", "~=0.5")`,
        { hint: 'For a wheel, a git URL or owner/repo@ref use --package-source' },
      );
    return {
      kind: 'index',
      spec: `${WORKER_PACKAGE}${specifier}`,
      specifier,
      from: `${names.version} "${value}"`,
    };
  }
  return DEFAULT_PACKAGE;
}
