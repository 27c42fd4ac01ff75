import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import type { EchoStream } from './io.js';
import { LineSplitter, type RotatingLog } from './rotating-log.js';

/** How a child ended: its exit code, or the signal that killed it. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The shell-style exit status of a child: its code, or 128 + signal number. */
export function exitStatus(e: ChildExit): number {
  if (e.code !== null) return e.code;
  const signals: Record<string, number> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGQUIT: 3,
    SIGKILL: 9,
    SIGSEGV: 11,
    SIGPIPE: 13,
    SIGTERM: 15,
  };
  return 128 + (signals[e.signal ?? ''] ?? 1);
}

/** Describe an exit for logs: "exit code 3" or "signal SIGKILL". */
export function describeExit(e: ChildExit): string {
  return e.code !== null ? `exit code ${e.code}` : `signal ${e.signal}`;
}

/** A spawned child with a promise for its exit. */
export interface Spawned {
  proc: ChildProcess;
  pid: number;
  exited: Promise<ChildExit>;
}

/** Where a child's output goes: its log file, and (foreground) the terminal with a prefix. */
export interface OutputSink {
  log: RotatingLog;
  /**
   * foreground: each line also goes to the terminal after `prefix` (e.g. a coloured "[worker]");
   * none means "log file only"
   */
  echo?: { prefix: string; stdout: EchoStream; stderr: EchoStream };
}

/**
 * Spawn a child in its own process group (so a terminal Ctrl-C reaches only the supervisor, which
 * then stops the children in order) with its output copied to `sink`.
 */
export function spawnChild(cmd: string, args: string[], opts: SpawnOptions, sink: OutputSink): Spawned {
  const proc = spawn(cmd, args, { ...opts, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<ChildExit>((resolve) => {
    let done = false;
    const finish = (e: ChildExit) => {
      if (!done) {
        done = true;
        resolve(e);
      }
    };
    proc.on('error', (err) => {
      // command not found / not executable: say so where the user looks
      const msg = `cannot run ${cmd}: ${err.message}\n`;
      sink.log.write(msg);
      sink.echo?.stderr.write(`${sink.echo.prefix} ${msg}`);
      finish({ code: 127, signal: null });
    });
    proc.on('close', (code, signal) => finish({ code, signal }));
  });
  pipeOutput(proc.stdout, sink.echo?.stdout, sink);
  pipeOutput(proc.stderr, sink.echo?.stderr, sink);
  return { proc, pid: proc.pid ?? -1, exited };
}

/** Copy one output stream of a worker (a child's pipe, or a container's demultiplexed stream) to `sink`. */
export function pipeOutput(from: NodeJS.ReadableStream | null, to: EchoStream | undefined, sink: OutputSink): void {
  if (!from) return;
  const prefix = sink.echo?.prefix;
  const lines = to && prefix ? new LineSplitter((l) => to.write(`${prefix} ${l}\n`)) : undefined;
  from.on('data', (chunk: Buffer) => {
    sink.log.write(chunk);
    lines?.push(chunk);
  });
  from.on('end', () => lines?.flush());
}
