import fs from 'node:fs';
import { tailLines } from './rotating-log.js';

/**
 * Print the last `lines` lines of a log, then (with `follow`) keep printing what is appended,
 * across rotations, until `signal` aborts.
 */
export async function showLog(
  file: string,
  opts: { lines: number; follow: boolean; signal?: AbortSignal },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  for (const l of tailLines(file, opts.lines)) out.write(`${l}\n`);
  if (!opts.follow) return;
  let pos = fs.existsSync(file) ? fs.statSync(file).size : 0;
  let ino = fs.existsSync(file) ? fs.statSync(file).ino : 0;
  while (!opts.signal?.aborted) {
    await new Promise((r) => setTimeout(r, 200));
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      continue; // between rotate and re-create
    }
    if (st.ino !== ino || st.size < pos) {
      ino = st.ino; // rotated: the new file starts from the beginning
      pos = 0;
    }
    if (st.size > pos) {
      const fd = fs.openSync(file, 'r');
      const buf = Buffer.alloc(st.size - pos);
      fs.readSync(fd, buf, 0, buf.length, pos);
      fs.closeSync(fd);
      pos = st.size;
      out.write(buf);
    }
  }
}
