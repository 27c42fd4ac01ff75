import fs from 'node:fs';
import { UserError } from '../errors.js';

/** How often a log that keeps failing (a full disk) is reported. */
const DROP_REPORT_MS = 60_000;

/**
 * An append-only log file rotated by size: `name` → `name.1` → ... → `name.<backups>` (the oldest is
 * dropped). Writes are synchronous so nothing is lost when the supervisor is killed. A write that fails
 * (ENOSPC, EIO) is counted and dropped, never thrown: a full disk must not take the supervisor, and with
 * it the engine and the worker, down. `onDrop` hears of it at once and then at most once a minute.
 */
export class RotatingLog {
  private fd: number;
  private size: number;
  private closed = false;
  /** chunks and bytes that could not be written since the last report */
  private dropped = { chunks: 0, bytes: 0, total: 0 };
  private reportedAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly file: string,
    private readonly maxBytes: number,
    private readonly backups: number,
    private readonly onDrop?: (message: string) => void,
  ) {
    try {
      this.fd = fs.openSync(file, 'a', 0o600);
      this.size = fs.fstatSync(this.fd).size;
    } catch (e) {
      throw new UserError(`cannot open the log file ${file}: ${(e as Error).message}`, { exitCode: 1 });
    }
  }

  /** chunks dropped since the log was opened */
  get droppedChunks(): number {
    return this.dropped.total;
  }

  /**
   * Append a chunk, rotating first when it would push the file past the size limit. A chunk larger than
   * the limit is split across files, so no file ever exceeds it.
   */
  write(chunk: string | Buffer): void {
    if (this.closed) return; // a child's last bytes after the supervisor closed its log: the log is done
    let buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    while (this.maxBytes > 0 && buf.length > this.maxBytes) {
      this.append(buf.subarray(0, this.maxBytes));
      buf = buf.subarray(this.maxBytes);
    }
    this.append(buf);
  }

  private append(buf: Buffer): void {
    try {
      if (this.maxBytes > 0 && this.size > 0 && this.size + buf.length > this.maxBytes) this.rotate();
      fs.writeSync(this.fd, buf);
      this.size += buf.length;
    } catch (e) {
      this.drop(buf.length, e as NodeJS.ErrnoException);
    }
  }

  private drop(bytes: number, e: NodeJS.ErrnoException): void {
    this.dropped.chunks++;
    this.dropped.bytes += bytes;
    this.dropped.total++;
    const now = Date.now();
    if (now - this.reportedAt < DROP_REPORT_MS) return;
    this.reportedAt = now;
    const { chunks, bytes: b } = this.dropped;
    this.dropped.chunks = this.dropped.bytes = 0;
    try {
      this.onDrop?.(
        `cannot write ${this.file} (${e.code ?? e.message}): dropped ${chunks} write(s), ${b} bytes; ` +
          'supervision goes on (reported at most once a minute)',
      );
    } catch {
      /* the report has nowhere to go either */
    }
  }

  private rotate(): void {
    try {
      fs.closeSync(this.fd);
      if (this.backups > 0) {
        fs.rmSync(`${this.file}.${this.backups}`, { force: true });
        for (let i = this.backups - 1; i >= 1; i--) {
          if (fs.existsSync(`${this.file}.${i}`)) fs.renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`);
        }
        fs.renameSync(this.file, `${this.file}.1`);
      } else fs.truncateSync(this.file, 0);
    } finally {
      // a new file after the renames; the old one, still growing, when they failed
      this.fd = fs.openSync(this.file, 'a', 0o600);
      this.size = fs.fstatSync(this.fd).size;
    }
  }

  close(): void {
    this.closed = true;
    try {
      fs.closeSync(this.fd);
    } catch {
      /* already closed */
    }
  }
}

/** Splits a byte stream into whole lines, so prefixed terminal output never interleaves mid-line. */
export class LineSplitter {
  private rest = '';
  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    const text = this.rest + chunk.toString();
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    for (const l of lines) this.onLine(l);
  }

  flush(): void {
    if (this.rest) this.onLine(this.rest);
    this.rest = '';
  }
}

/** The last `n` lines of a file (empty when it does not exist). Reads at most the last 64 KiB. */
export function tailLines(file: string, n: number): string[] {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      const lines = buf.toString('utf8').split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      return lines.slice(-n);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return [];
  }
}
