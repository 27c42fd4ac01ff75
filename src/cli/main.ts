import { Command, CommanderError } from 'commander';
import chalk from 'chalk';
import { ExitCode, isUserError } from '../errors.js';
import { configureColor } from './output.js';
import { VERSION } from '../version.js';

/** Build the whole program. Each command group registers itself and lazy-imports its handlers. */
export async function buildProgram(): Promise<Command> {
  const program = new Command('kubiya')
    .description('Run agent workers behind a local, LiteLLM-compatible LLM proxy you control.')
    .version(VERSION, '-v, --version')
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: true, showGlobalOptions: true })
    .exitOverride();
  const groups = await Promise.all([
    import('./commands/config/index.js'),
    import('./commands/proxy/index.js'),
    import('./commands/worker/index.js'),
  ]);
  for (const g of groups) g.register(program);
  return program;
}

/** Entry point: run the CLI and map every error to a clear message and exit code. */
export async function main(argv: string[]): Promise<void> {
  configureColor(process.stderr);
  ignoreClosedPipes();
  const program = await buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = handleError(err, wantsJson(argv));
  }
}

/**
 * A reader that goes away (`kubiya worker logs ... | head`) must not crash the CLI with an EPIPE
 * stack trace, nor a foreground supervisor whose children still need stopping: output to a closed
 * pipe is dropped (the log files keep everything). `worker logs -f` stops on its own (see there).
 */
function ignoreClosedPipes(): void {
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
    });
  }
}

/** Whether the command line asked for JSON output (`-o json`, `-ojson`, `--output json`, `--output=json`, `--json`). */
export function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  const args = end === -1 ? argv : argv.slice(0, end); // the worker's own arguments are not ours
  return args.some((a, i) => a === '--json' || a === '--output=json' || a === '-ojson' || ((a === '-o' || a === '--output') && args[i + 1] === 'json'));
}

function handleError(err: unknown, json: boolean): number {
  if (err instanceof CommanderError) {
    // commander already printed its message (unknown option, missing argument, --help, --version)
    return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  }
  if (isUserError(err)) {
    if (json) process.stderr.write(`${JSON.stringify({ error: { message: err.message, hint: err.hint, exitCode: err.exitCode } })}\n`);
    else {
      process.stderr.write(`${chalk.red('error:')} ${err.message}\n`);
      if (err.hint) process.stderr.write(`${err.hint}\n`);
    }
    return err.exitCode;
  }
  const e = err as Error;
  process.stderr.write(`${chalk.red('internal error:')} ${e?.stack ?? String(err)}\nThis is a bug in kubiya; please report it with the command you ran.\n`);
  return ExitCode.internal;
}
