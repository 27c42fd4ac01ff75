import { readFileSync } from 'node:fs';

/** What `kubiya version` prints about the build: set by the bundler (scripts/build.mjs) at build time. */
export interface BuildInfo {
  version: string;
  /** the git commit built from ("-dirty" with uncommitted changes), or "unknown" (not built from a checkout) */
  commit: string;
  /** ISO 8601 time of the build, or "unknown" */
  date: string;
}

// replaced by the bundler with the build's facts; absent when the sources run directly (tests)
declare const __KUBIYA_BUILD__: BuildInfo | undefined;

/** The build's facts: embedded in the bundle, else the version from package.json (sources run directly). */
export const BUILD: BuildInfo =
  typeof __KUBIYA_BUILD__ === 'object'
    ? __KUBIYA_BUILD__
    : (() => {
        let version = '0.0.0';
        try {
          const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
          version = (pkg as { version: string }).version;
        } catch {
          // not next to the package (a copy of the sources): the version is unknown
        }
        return { version, commit: 'unknown', date: 'unknown' };
      })();

/** The package version. */
export const VERSION: string = BUILD.version;
