#!/usr/bin/env node
// `npm pack` / `npm publish` hooks (docs/decisions.md, "Shipping built"):
//   prepack   build, then take `prepare` out of package.json for the tarball
//   postpack  put package.json back as it was
// `prepare` is for checkouts (scripts/prepare.mjs); in a tarball npm counts it as an install script of a
// non-registry package and warns every `npm install -g kubiya-*.tgz` about it, though there is nothing to run.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PKG = path.join(ROOT, 'package.json');
const SAVED = path.join(ROOT, '.package.json.prepack');

/** A package.json left changed by an interrupted pack is put back first. */
function restore() {
  if (fs.existsSync(SAVED)) fs.renameSync(SAVED, PKG);
}

if (process.argv[2] === 'postpack') {
  restore();
} else {
  restore();
  const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
  const r = spawnSync(npm[0], [...npm.slice(1), 'run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  const text = fs.readFileSync(PKG, 'utf8');
  const pkg = JSON.parse(text);
  delete pkg.scripts.prepare;
  fs.writeFileSync(SAVED, text);
  fs.writeFileSync(PKG, `${JSON.stringify(pkg, null, 2)}\n`);
}
