#!/usr/bin/env node
// Lint step (npm run lint): no line of code, tests or scripts is longer than 120 characters. The
// formatter wraps code at 120 but leaves long strings, template literals and comments alone.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MAX = 120;
const DIRS = ['src', 'ui', 'test', 'scripts', 'bin', 'templates'];
const EXT = /\.(?:tsx?|mjs|js|css)$/;

function* files(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== 'dist') yield* files(p);
    } else if (EXT.test(e.name)) yield p;
  }
}

let bad = 0;
for (const d of DIRS) {
  const dir = path.join(ROOT, d);
  if (!fs.existsSync(dir)) continue;
  for (const f of files(dir)) {
    fs.readFileSync(f, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (line.length > MAX) {
          bad++;
          console.log(`${path.relative(ROOT, f)}:${i + 1}: ${line.length} characters (at most ${MAX})`);
        }
      });
  }
}
if (bad > 0) {
  console.log(`${bad} line${bad === 1 ? '' : 's'} longer than ${MAX} characters`);
  process.exit(1);
}
