import { defineConfig } from 'vitest/config';

/**
 * Files that change process-wide state a later file in the same process would see (the AWS SDK
 * reads process.env; a module mocked away): each runs in a fresh process. Every other file shares its worker's module
 * cache, which saves re-importing the SDKs and the engine for each of the ~50 files.
 */
const OWN_PROCESS = [
  'test/integration/bedrock-credentials.test.ts',
  // mocks better-sqlite3 away: no other file may get (or have cached) the mock
  'test/integration/governance/without-better-sqlite3.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // a safety net: an engine a test starts with a master key (in process or as a child inheriting this
    // environment) keeps its virtual-key store in memory unless the test names one, never in ~/.kubiya
    env: { KUBIYA_DB_PATH: ':memory:' },
    // files share a process (below): undo spies and stubbed env or globals after each test, so none leaks
    restoreMocks: true,
    unstubEnvs: true,
    unstubGlobals: true,
    // vitest's default on 2 cores (cores - 1) runs one file at a time, though most tests wait on sockets, timers and
    // child processes; 3 workers starved the CLI tests' children of CPU on this machine
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'shared',
          include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
          exclude: OWN_PROCESS,
          isolate: false,
        },
      },
      { extends: true, test: { name: 'own-process', include: OWN_PROCESS, isolate: true } },
    ],
  },
});
