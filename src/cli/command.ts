import type { CliContext } from './context.js';

/** One option of a command, as commander spells it (`-p, --port <port>`, `--no-enable-local-proxy`). */
export interface OptionSpec {
  flags: string;
  description?: string;
  default?: string | boolean;
  /** the only values accepted (commander checks them) */
  choices?: readonly string[];
  /** the option must be given */
  required?: boolean;
  /** accepted but not shown in --help */
  hidden?: boolean;
}

/**
 * A command's handler: gets the injected context, its parsed options and its positional arguments;
 * resolves to the exit code (nothing means 0).
 */
export type Handler<O, A extends unknown[] = []> = (
  ctx: CliContext,
  opts: O,
  ...args: A
) => Promise<number | undefined> | number | undefined;

/** A command declaration: what `--help` shows and where its handler lives (imported only when it runs). */
export interface CommandSpec<O, A extends unknown[]> {
  /** name and positional arguments, e.g. `use-context <name>`, `start [command...]` */
  name: string;
  description: string;
  /** positional arguments with a description for --help (`[config]`, `[command...]`) */
  args?: { name: string; description: string }[];
  options?: OptionSpec[];
  /** adds `-o, --output <format>` with this description; the parsed mode is `ctx.output` */
  output?: string;
  /** text shown in --help before the examples */
  notes?: string;
  /** runnable lines for the "Examples:" block of --help */
  examples?: string[];
  hidden?: boolean;
  /** lazy: the handler's module is imported only when this command runs */
  handler: () => Promise<Handler<O, A>>;
}

/** A declared command with its handler's types erased, ready for the program builder. */
export interface Command {
  spec: Omit<CommandSpec<never, never>, 'handler'>;
  run(ctx: CliContext, opts: Record<string, unknown>, args: unknown[]): Promise<number | undefined>;
}

/** Declare a command: the options and help as data, the typed handler behind a lazy import. */
export function defineCommand<O, A extends unknown[] = []>(spec: CommandSpec<O, A>): Command {
  const { handler, ...rest } = spec;
  return {
    spec: rest,
    run: async (ctx, opts, args) => (await handler())(ctx, opts as O, ...(args as A)),
  };
}

/** A group of commands (`kubiya config ...`). */
export interface CommandGroup {
  name: string;
  description: string;
  /** text shown at the end of the group's --help */
  helpText?: string;
  commands: Command[];
  /** nested groups (`kubiya proxy keys ...`) */
  groups?: CommandGroup[];
}

/** An "Examples:" block for --help. */
export function examplesBlock(lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}`;
}
