#!/usr/bin/env node
// Build (npm run build): the CLI and engine bundled by esbuild into dist/bundle/ (what bin/kubiya.js runs and
// the package ships), plus the data files the engine reads at run time. Type checking is tsc's job (the
// `typecheck` script and CI's lint); tsc's own output in dist/ is no longer used at run time.
//
// Why a bundle: the engine's cold start was mostly module resolution and loading (~130 of our files, plus
// zod's ~100 and yaml's), not work. One file per lazily loaded part (esbuild's code splitting keeps every
// `import()` lazy: provider SDKs, the store, the supervisor) reads and compiles once.
//
//   node scripts/build.mjs [--external-all]   (--external-all: bundle only our code; to measure the difference)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'dist/bundle');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

// Pure-JS packages on every start's path go into the bundle; everything else stays a runtime dependency:
// native (better-sqlite3), resolved by path at run time (undici's Pool), or big and rarely loaded (SDKs).
const BUNDLED = new Set(['commander', 'chalk', 'zod', 'yaml']);
const externalAll = process.argv.includes('--external-all');
const external = Object.keys(pkg.dependencies ?? {})
  .concat(Object.keys(pkg.optionalDependencies ?? {}), Object.keys(pkg.peerDependencies ?? {}))
  .filter((d) => externalAll || !BUNDLED.has(d))
  .flatMap((d) => [d, `${d}/*`]);

/** The commit being built: from git when this is a checkout, else "unknown" (a tarball, a copy). */
function commit() {
  if (process.env.KUBIYA_BUILD_COMMIT) return process.env.KUBIYA_BUILD_COMMIT;
  try {
    const sha = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString();
    return dirty.trim() ? `${sha}-dirty` : sha;
  } catch {
    return 'unknown';
  }
}

// SOURCE_DATE_EPOCH (reproducible builds) wins over the clock
const epoch = process.env.SOURCE_DATE_EPOCH;
const build = {
  version: pkg.version,
  commit: commit(),
  date: new Date(epoch ? Number(epoch) * 1000 : Date.now()).toISOString(),
};

fs.rmSync(OUT, { recursive: true, force: true });
await esbuild.build({
  entryPoints: { main: path.join(ROOT, 'src/cli/main.ts') },
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  chunkNames: '[name]-[hash]',
  // CommonJS packages in the bundle (commander, yaml) call require() for Node's own modules
  banner: {
    js:
      "import { createRequire as __kubiyaCreateRequire } from 'node:module';\n" +
      'const require = __kubiyaCreateRequire(import.meta.url);',
  },
  define: { __KUBIYA_BUILD__: JSON.stringify(build) },
  legalComments: 'linked',
  logLevel: 'warning',
});
// the data files the engine reads next to its code (new URL('./prices.json', import.meta.url)). The price map is
// written one model a line (still JSON): the engine then reads only the names at start and parses an entry when
// its model is first looked up (src/engine/cost/prices.ts, priceMapOfText)
fs.copyFileSync(path.join(ROOT, 'src/engine/cost/NOTICE.md'), path.join(OUT, 'NOTICE.md'));
const prices = JSON.parse(fs.readFileSync(path.join(ROOT, 'src/engine/cost/prices.json'), 'utf8'));
const lines = Object.entries(prices).map(([name, entry]) => `${JSON.stringify(name)}:${JSON.stringify(entry)}`);
fs.writeFileSync(path.join(OUT, 'prices.json'), `{\n${lines.join(',\n')}\n}\n`);
fs.writeFileSync(path.join(OUT, 'build.json'), `${JSON.stringify(build, null, 2)}\n`);
