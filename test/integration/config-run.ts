import path from 'node:path';
import { Writable } from 'node:stream';
import { execa } from 'execa';
import { runCli as runProgram } from '../../src/cli/main.js';
import { makeTempHome } from '../fakes/temp-home.js';

const BIN = path.resolve(__dirname, '../../bin/kubiya.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunCliOptions {
  /** the whole environment of the run (nothing is inherited) */
  env?: NodeJS.ProcessEnv;
  /** where relative paths on the command line resolve from (default: `home`, else this process's) */
  cwd?: string;
  /** HOME for the run (sets env.HOME) */
  home?: string;
}

/** A stream that keeps what is written to it. */
function capture(): Writable & { text(): string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return Object.assign(w, { text: () => chunks.join('') });
}

/**
 * Run the CLI in this process: `args` is what follows `kubiya`; stdout, stderr and the environment
 * are injected, nothing touches the process's own. Resolves to the exit code and the output.
 * For commands that need no real process (help, config, dry runs, validate); `worker start` without
 * --dry-run, `proxy start` and the daemon need `run` of a real process.
 */
export async function runCli(args: string[], opts: RunCliOptions = {}): Promise<CliResult> {
  const stdout = capture();
  const stderr = capture();
  const env = { ...opts.env, ...(opts.home ? { HOME: opts.home } : {}) };
  const code = await runProgram(args, {
    env,
    cwd: opts.cwd ?? opts.home ?? process.cwd(),
    stdout,
    stderr,
    onSignal: () => () => undefined,
    onFault: () => () => undefined,
  });
  return { code, stdout: stdout.text().replace(/\n$/, ''), stderr: stderr.text().replace(/\n$/, '') };
}

/** A temporary HOME with its own ~/.kubiya/config path. */
export interface CliHome {
  home: string;
  configPath: string;
  /** the CLI in-process (see runCli), in HOME, from HOME */
  run(args: string[], env?: Record<string, string>): Promise<CliResult>;
  /** the real `bin/kubiya.js` in a child process, for commands that start processes */
  runReal(args: string[], env?: Record<string, string>): Promise<CliResult>;
  cleanup(): void;
}

/** Make a temp HOME. A run gets only HOME, KUBIYA_CONFIG, PATH, NO_COLOR and what the test passes. */
export function makeHome(): CliHome {
  const { home, configPath, cleanup } = makeTempHome();
  const envOf = (env: Record<string, string>) => ({
    HOME: home,
    KUBIYA_CONFIG: configPath,
    PATH: process.env.PATH ?? '',
    NO_COLOR: '1',
    ...env,
  });
  return {
    home,
    configPath,
    run: (args, env = {}) => runCli(args, { env: envOf(env), cwd: home }),
    async runReal(args, env = {}) {
      const r = await execa(process.execPath, [BIN, ...args], {
        env: envOf(env),
        extendEnv: false,
        reject: false,
        timeout: 20_000,
        cwd: home,
      });
      return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    cleanup,
  };
}

/** A config the `proxy` command tests serve: `m` from an OpenAI-compatible upstream (key in UP_KEY), `mock` offline. */
export const proxyTestConfig = (apiBase: string): string => `
model_list:
  - model_name: m
    litellm_params:
      model: openai/m
      api_base: ${apiBase}
      api_key: os.environ/UP_KEY
  - model_name: mock
    litellm_params: {model: openai/mock, mock_response: "hi"}
general_settings:
  master_key: sk-cli-master-1234
`;
