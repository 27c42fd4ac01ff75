// Preload for a spawned kubiya (`node --import <this> bin/kubiya.js ...`): appends every module the process loads
// to the file named by KUBIYA_TEST_LOAD_LOG, one a line: `import <url>` for what the ESM loader resolves (the
// bundle's chunks, packages it imports), `require <id>` for CommonJS requires (the bundle's createRequire, and
// what packages require inside). Plain JS: node runs it before the program, outside vitest.
import fs from 'node:fs';
import module from 'node:module';

const log = process.env.KUBIYA_TEST_LOAD_LOG;
if (log) {
  const load = module.Module._load;
  module.Module._load = function recorded(request, ...rest) {
    fs.appendFileSync(log, `require ${request}\n`);
    return load.call(this, request, ...rest);
  };
  // resolve hooks run on the loader's own thread; a data: URL keeps them in this one file
  const hooks = `
    import fs from 'node:fs';
    let log;
    export function initialize(data) { log = data.log; }
    export async function resolve(specifier, context, next) {
      const r = await next(specifier, context);
      fs.appendFileSync(log, 'import ' + r.url + '\\n');
      return r;
    }`;
  module.register(`data:text/javascript,${encodeURIComponent(hooks)}`, { data: { log } });
}
