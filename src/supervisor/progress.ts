import ora from 'ora';
import type { EchoStream } from './io.js';

/** A progress line: a spinner on a terminal that can draw one, plain lines otherwise. */
export interface Progress {
  ok(text: string): void;
  fail(text: string): void;
  /** end without a final line */
  stop(): void;
}

/**
 * Whether a spinner can draw on `stream`: a TTY that reports its width. On one that reports 0 columns
 * (`script`, some `docker exec -t` / `kubectl exec -t`) ora computes an endless number of lines to clear and
 * spins at 100% CPU writing escape codes, deaf to SIGTERM.
 */
export function canSpin(stream: EchoStream & { columns?: number }): boolean {
  return !!stream.isTTY && typeof stream.columns === 'number' && stream.columns > 0;
}

/** Start a progress line for `text` on `stream`. */
export function progress(text: string, stream: EchoStream): Progress {
  if (canSpin(stream)) {
    const s = ora({ text, stream: stream as NodeJS.WriteStream }).start();
    return { ok: (t) => s.succeed(t), fail: (t) => s.fail(t), stop: () => s.stop() };
  }
  stream.write(`${text}\n`);
  return { ok: (t) => stream.write(`${t}\n`), fail: (t) => stream.write(`${t}\n`), stop: () => undefined };
}
