import fs from 'node:fs';
import path from 'node:path';

/**
 * Write a file atomically (temp file in the same directory + rename) with the given mode. `durable: false` skips
 * the fsync: for a file that only describes this running process (a port file), where readers need the rename's
 * all-or-nothing but not survival across a power cut, and an fsync on a busy disk can hold a start for many ms.
 */
export function writeFileAtomic(file: string, data: string, mode = 0o600, { durable = true } = {}): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeFileSync(fd, data);
    if (durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.chmodSync(tmp, mode);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
