import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

const BIN = path.resolve(__dirname, '../../bin/kubiya.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A temporary HOME with its own ~/.kubiya/config path; `run` executes the real CLI inside it. */
export interface CliHome {
  home: string;
  configPath: string;
  run(args: string[], env?: Record<string, string>): Promise<CliResult>;
  cleanup(): void;
}

/** Make a temp HOME. The child gets only HOME, KUBIYA_CONFIG, PATH and what the test passes. */
export function makeHome(): CliHome {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kubiya-home-'));
  const configPath = path.join(home, '.kubiya', 'config');
  return {
    home,
    configPath,
    async run(args, env = {}) {
      const r = await execa(process.execPath, [BIN, ...args], {
        env: { HOME: home, KUBIYA_CONFIG: configPath, PATH: process.env.PATH ?? '', NO_COLOR: '1', ...env },
        extendEnv: false,
        reject: false,
        timeout: 20_000,
        cwd: home,
      });
      return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    cleanup: () => fs.rmSync(home, { recursive: true, force: true }),
  };
}
