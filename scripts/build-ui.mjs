#!/usr/bin/env node
// Build step (npm run build): type-check the dashboard's sources (ui/, Preact + TSX), bundle them with esbuild
// into dist/ui/assets/app.js, and copy its page and stylesheet. The engine serves dist/ui at /ui: nothing is
// fetched from a CDN at run time. Prints the gzipped size of what a browser downloads (budget: 300 KB).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'dist', 'ui');
const BUDGET = 300 * 1024;

const tsc = path.join(ROOT, 'node_modules', '.bin', 'tsc');
execFileSync(tsc, ['-p', path.join(ROOT, 'ui', 'tsconfig.json')], { stdio: 'inherit' });
fs.rmSync(OUT, { recursive: true, force: true });
fs.mkdirSync(path.join(OUT, 'assets'), { recursive: true });
await build({
  entryPoints: [path.join(ROOT, 'ui', 'src', 'main.tsx')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outfile: path.join(OUT, 'assets', 'app.js'),
  legalComments: 'eof',
  logLevel: 'warning',
});
fs.copyFileSync(path.join(ROOT, 'ui', 'index.html'), path.join(OUT, 'index.html'));
fs.copyFileSync(path.join(ROOT, 'ui', 'app.css'), path.join(OUT, 'assets', 'app.css'));
let total = 0;
for (const f of ['index.html', 'assets/app.js', 'assets/app.css'])
  total += gzipSync(fs.readFileSync(path.join(OUT, f))).length;
if (total > BUDGET) {
  console.error(`dashboard: ${(total / 1024).toFixed(1)} KB gzipped, over the ${BUDGET / 1024} KB budget`);
  process.exit(1);
}
if (process.env.UI_BUILD_VERBOSE) console.log(`dashboard: ${(total / 1024).toFixed(1)} KB gzipped`);
