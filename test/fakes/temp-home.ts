/**
 * The one temp-home helper: a fresh directory under the OS temp dir that stands in for HOME (or any
 * scratch directory a test writes config, credential or log files to), removed by `cleanup()`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TempHome {
  /** the directory itself */
  home: string;
  /** where kubiya keeps its contexts inside it (`~/.kubiya/config`; not created) */
  configPath: string;
  /** a path inside the directory */
  path(...parts: string[]): string;
  /** write a file inside the directory (parent directories created) and return its path */
  write(relative: string, text: string, mode?: number): string;
  /** environment entries that point a child process at this home (HOME, KUBIYA_CONFIG) */
  env(): { HOME: string; KUBIYA_CONFIG: string };
  /** remove the directory and everything in it */
  cleanup(): void;
}

/** Make a temp home; `prefix` names it for whoever finds a leftover one. */
export function makeTempHome(prefix = 'kubiya-home-'): TempHome {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const configPath = path.join(home, '.kubiya', 'config');
  const inside = (...parts: string[]) => path.join(home, ...parts);
  return {
    home,
    configPath,
    path: inside,
    write: (relative, text, mode) => {
      const p = inside(relative);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, text, mode === undefined ? undefined : { mode });
      return p;
    },
    env: () => ({ HOME: home, KUBIYA_CONFIG: configPath }),
    cleanup: () => fs.rmSync(home, { recursive: true, force: true }),
  };
}
