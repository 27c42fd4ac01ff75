import type { ChalkInstance } from 'chalk';

/** A stream the supervisor echoes to: the terminal in a real run. */
export type EchoStream = NodeJS.WritableStream & { isTTY?: boolean };

/**
 * What the supervisor is given by the CLI instead of reaching for process globals: the
 * environment children inherit, the streams to echo to, colours, and stop signals.
 */
export interface SupervisorIo {
  env: NodeJS.ProcessEnv;
  stdout: EchoStream;
  stderr: EchoStream;
  /** colours for stderr (status lines, prefixes): level 0 when it is not a TTY or NO_COLOR is set */
  color: ChalkInstance;
  /** colours for stdout, by the same rules */
  outColor: ChalkInstance;
  /** call `fn` on each of `signals` until the returned function is called */
  onSignal(signals: NodeJS.Signals[], fn: (signal: NodeJS.Signals) => void): () => void;
  /**
   * The safety net: call `fn` on an uncaught exception or unhandled rejection (the first one), then exit 70
   * once it settles. The supervisor uses it to stop its children before the process dies: they run detached,
   * so the default crash would leave them orphaned. Until the returned function is called.
   */
  onFault(fn: (err: unknown) => Promise<void>): () => void;
}
