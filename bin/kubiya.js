#!/usr/bin/env node
// Tiny launcher: the real program is compiled to dist/ (npm run build).
import('../dist/cli/main.js')
  .then((m) => m.main(process.argv))
  .catch((err) => {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
      process.stderr.write('kubiya: the program is not built yet; run `npm run build` (or `npm ci`) first\n');
      process.exit(70);
    }
    throw err;
  });
