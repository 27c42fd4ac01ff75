import { CommanderError, Option, Command as Program } from 'commander';
import { ExitCode, isUserError } from '../errors.js';
import { VERSION } from '../version.js';
import { type Command, type CommandGroup, examplesBlock, type OptionSpec } from './command.js';
import { completeCommand, completionCommand } from './commands/completion/index.js';
import { configCommands } from './commands/config/index.js';
import { doctorCommand } from './commands/doctor/index.js';
import { proxyCommands } from './commands/proxy/index.js';
import { versionCommand } from './commands/version.js';
import { workerCommands } from './commands/worker/index.js';
import { type CliIo, createContext, processIo } from './context.js';
import { colorFor, parseOutputMode, wantsJson } from './output.js';

const GROUPS: CommandGroup[] = [configCommands, proxyCommands, workerCommands];
/** Commands directly under `kubiya` */
const TOP: Command[] = [completionCommand, completeCommand, doctorCommand, versionCommand];

const HELP = examplesBlock([
  'kubiya doctor                      # what is missing on this machine for `worker start`',
  'kubiya config set-context prod --api-url https://control-plane.kubiya.ai --token "$KUBIYA_API_KEY"',
  'kubiya worker start --queue-id q1 --proxy-config-file ./litellm.yaml -d',
  'kubiya worker status',
  'kubiya proxy start --config templates/mock.yaml --port 4000',
  'source <(kubiya completion bash)   # tab completion (see kubiya completion --help)',
]);

/** Build the commander program from the command declarations; `done` receives each handler's exit code. */
export function buildProgram(io: CliIo, done: (code: number) => void): Program {
  const program = new Program('kubiya')
    .description('Run agent workers behind a local, LiteLLM-compatible LLM proxy you control.')
    .version(VERSION, '-v, --version')
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: true, showGlobalOptions: true })
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
      getOutHelpWidth: () => (io.stdout.isTTY ? (io.stdout.columns ?? 80) : 80),
      getErrHelpWidth: () => (io.stderr.isTTY ? (io.stderr.columns ?? 80) : 80),
      getOutHasColors: () => colorFor(io.stdout, io.env).level > 0,
      getErrHasColors: () => colorFor(io.stderr, io.env).level > 0,
    })
    .exitOverride();
  for (const group of GROUPS) addGroup(program, group, io, done);
  for (const c of TOP) addCommand(program, c, io, done);
  program.addHelpText('after', `${HELP}\n\nEach command's --help has its own examples. Docs: docs/cli.md`);
  return program;
}

function addGroup(parent: Program, group: CommandGroup, io: CliIo, done: (code: number) => void): void {
  const g = parent.command(group.name).description(group.description);
  if (group.helpText) g.addHelpText('after', group.helpText);
  for (const c of group.commands) addCommand(g, c, io, done);
  for (const sub of group.groups ?? []) addGroup(g, sub, io, done);
}

function addCommand(parent: Program, decl: Command, io: CliIo, done: (code: number) => void): void {
  const { spec } = decl;
  const cmd = parent.command(spec.name, { hidden: spec.hidden }).description(spec.description);
  for (const a of spec.args ?? []) cmd.argument(a.name, a.description);
  for (const o of spec.options ?? []) cmd.addOption(option(o));
  if (spec.output) cmd.addOption(new Option('-o, --output <format>', spec.output).default('text'));
  const after = `${spec.notes ? `\n${spec.notes}\n` : ''}${spec.examples ? examplesBlock(spec.examples) : ''}`;
  if (after) cmd.addHelpText('after', after);
  cmd.action(async (...a: unknown[]) => {
    const opts = (a[a.length - 1] as Program).opts();
    const ctx = createContext(io, spec.output ? parseOutputMode(opts.output as string) : 'text');
    done((await decl.run(ctx, opts, a.slice(0, -2))) ?? ExitCode.ok);
  });
}

function option(o: OptionSpec): Option {
  const opt = new Option(o.flags, o.description);
  if (o.default !== undefined) opt.default(o.default);
  if (o.choices) opt.choices(o.choices);
  if (o.required) opt.makeOptionMandatory();
  if (o.hidden) opt.hideHelp();
  return opt;
}

/**
 * Run the CLI on `args` (what follows `kubiya`) with the given streams and environment; resolves
 * to the exit code. Tests call this in-process; `main` calls it with the real process.
 */
export async function runCli(args: string[], io: CliIo): Promise<number> {
  let code: number = ExitCode.ok;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    code = reportError(err, wantsJson(args), io);
  }
  return code;
}

/** Entry point (bin/kubiya.js): run the CLI for this process and set its exit code. */
export async function main(argv: string[]): Promise<void> {
  ignoreClosedPipes();
  const code = await runCli(argv.slice(2), processIo());
  process.exitCode = code;
  // a process with an IPC channel (a `--num_workers` worker) would live on through it after a failure, and its
  // primary would wait for it forever: it exits now, with the code
  if (code !== 0 && process.connected) process.exit(code);
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

/** The one top-level handler: usage errors (exit 2), user errors (their code), bugs (70 with a stack). */
function reportError(err: unknown, json: boolean, io: CliIo): number {
  if (err instanceof CommanderError) {
    // commander already printed its message (unknown option, missing argument, --help, --version)
    return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  }
  const red = colorFor(io.stderr, io.env).red;
  if (isUserError(err)) {
    if (json)
      io.stderr.write(
        `${JSON.stringify({ error: { message: err.message, hint: err.hint, exitCode: err.exitCode } })}\n`,
      );
    else {
      io.stderr.write(`${red('error:')} ${err.message}\n`);
      if (err.hint) io.stderr.write(`${err.hint}\n`);
    }
    return err.exitCode;
  }
  const e = err as Error;
  io.stderr.write(
    `${red('internal error:')} ${e?.stack ?? String(err)}\n` +
      'This is a bug in kubiya; please report it with the command you ran.\n',
  );
  return ExitCode.internal;
}
