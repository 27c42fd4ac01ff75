#!/usr/bin/env node
// Build step (npm run build, after tsc): copy the data files the engine reads at run time into dist/.
// tsc emits only what TypeScript imports; the price table is read with fs, lazily, at engine start.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FILES = ['engine/cost/prices.json', 'engine/cost/NOTICE.md'];
for (const f of FILES) {
  const to = path.join(ROOT, 'dist', f);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'src', f), to);
}
