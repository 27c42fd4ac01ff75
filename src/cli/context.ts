import type { ChalkInstance } from 'chalk';
import type { KubiyaConfigFile } from '../config/contexts/index.js';
import type { SupervisorIo } from '../supervisor/io.js';
import { colorFor, type OutputMode, type OutStream, type Printer, printer } from './output.js';

/** What a run of the CLI is given: the process's own in production, fakes in in-process tests. */
export interface CliIo {
  env: NodeJS.ProcessEnv;
  /** relative paths on the command line mean "from here" */
  cwd: string;
  stdout: OutStream;
  stderr: OutStream;
  /** call `fn` on each of `signals` until the returned function is called */
  onSignal(signals: NodeJS.Signals[], fn: (signal: NodeJS.Signals) => void): () => void;
  /** see SupervisorIo.onFault */
  onFault(fn: (err: unknown) => Promise<void>): () => void;
}

/** Everything a command handler may use; handlers reach for nothing else (no process globals). */
export interface CliContext extends CliIo {
  /** `-o/--output`, parsed once for every command that has it ('text' for the others) */
  output: OutputMode;
  /** lines, JSON and warnings on stdout/stderr */
  out: Printer;
  /** colours for stdout (off when it is not a TTY or NO_COLOR is set) */
  color: ChalkInstance;
  /** colours for stderr (same rules, judged on stderr) */
  errColor: ChalkInstance;
  /** the contexts store (`$KUBIYA_CONFIG` or ~/.kubiya/config), read now (its schema loads on first use) */
  configStore(): Promise<KubiyaConfigFile>;
  /** the supervisor (loaded on first use: most commands never need it) */
  supervisor(): Promise<typeof import('../supervisor/index.js')>;
  /** what the supervisor is given to run children and talk to the user */
  supervisorIo(): SupervisorIo;
}

/** Build the context of one command run. */
export function createContext(io: CliIo, output: OutputMode): CliContext {
  const color = colorFor(io.stdout, io.env);
  const errColor = colorFor(io.stderr, io.env);
  return {
    ...io,
    output,
    color,
    errColor,
    out: printer(io.stdout, io.stderr, errColor),
    configStore: async () => {
      const { KubiyaConfigFile, kubiyaConfigPath } = await import('../config/contexts/index.js');
      return KubiyaConfigFile.load(kubiyaConfigPath(io.env));
    },
    supervisor: () => import('../supervisor/index.js'),
    supervisorIo: () => ({
      env: io.env,
      stdout: io.stdout,
      stderr: io.stderr,
      color: errColor,
      outColor: color,
      onSignal: io.onSignal,
      onFault: io.onFault,
    }),
  };
}

/** The real process as a CliIo. */
export function processIo(): CliIo {
  return {
    env: process.env,
    cwd: process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
    onSignal(signals, fn) {
      for (const s of signals) process.on(s, fn);
      return () => {
        for (const s of signals) process.off(s, fn);
      };
    },
    onFault(fn) {
      let faulted = false;
      const handler = (err: unknown) => {
        // a second fault while the first is handled changes nothing: that one still stops the children and exits
        if (faulted) return;
        faulted = true;
        fn(err)
          .catch(() => undefined)
          .finally(() => process.exit(70)); // the exit code of a bug (see main.ts)
      };
      process.on('uncaughtException', handler);
      process.on('unhandledRejection', handler);
      return () => {
        process.off('uncaughtException', handler);
        process.off('unhandledRejection', handler);
      };
    },
  };
}
