#!/usr/bin/env node
// Tiny launcher: the real program is bundled into dist/bundle/ (npm run build; shipped built in the package).
import { readFileSync } from 'node:fs';
import module from 'node:module';

// `kubiya --version` alone prints the version the build recorded, without loading the program
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) {
  try {
    const build = JSON.parse(readFileSync(new URL('../dist/bundle/build.json', import.meta.url), 'utf8'));
    process.stdout.write(`${build.version}\n`);
    process.exit(0);
  } catch {
    // not built: the program below says so
  }
}

// Node 22.1+: keep V8's compiled code of the bundle on disk (in the OS temp dir), so later starts skip compiling
module.enableCompileCache?.();
import('../dist/bundle/main.js')
  .then((m) => m.main(process.argv))
  .catch((err) => {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/bundle/main.js')) {
      process.stderr.write('kubiya: the program is not built yet; run `npm ci` (or `npm run build`) first\n');
      process.exit(70);
    }
    throw err;
  });
