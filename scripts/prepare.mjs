#!/usr/bin/env node
// npm's `prepare` (see docs/decisions.md, "Shipping built"): npm runs it after `npm ci` / `npm install` in a
// checkout, and when a checkout is installed as a link (`npm install -g .`, `npm link`), before anything is
// installed in it. A link runs the checkout itself, so the checkout needs its dependencies and a build: install
// them first when they are missing, then build. Packing builds in `prepack`, so `npm pack` skips this.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npmCommand = process.env.npm_command;
if (npmCommand === 'pack' || npmCommand === 'publish') process.exit(0);

const npm = process.env.npm_execpath
  ? [process.execPath, process.env.npm_execpath]
  : [process.platform === 'win32' ? 'npm.cmd' : 'npm'];
// the outer npm's settings (a global install's --global, --prefix) must not steer an install in this checkout
const KEEP = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_globalconfig', 'npm_config_registry']);
const env = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_config_') || KEEP.has(k.toLowerCase())),
);
const run = (args) => {
  const r = spawnSync(npm[0], [...npm.slice(1), ...args], { cwd: ROOT, stdio: 'inherit', env });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

const haveTools = ['typescript', 'esbuild'].every((d) => fs.existsSync(path.join(ROOT, 'node_modules', d)));
if (!haveTools) {
  if (process.env.KUBIYA_PREPARE_INSTALLING) {
    process.stderr.write('kubiya prepare: the build tools are still missing after installing the dependencies\n');
    process.exit(1);
  }
  process.stderr.write("kubiya: installing the checkout's dependencies (npm ci) to build it ...\n");
  env.KUBIYA_PREPARE_INSTALLING = '1';
  // npm ci runs this script again once everything is installed, which builds
  run(['ci', '--no-audit', '--no-fund', '--include=dev']);
  process.exit(0);
}
run(['run', 'build']);
