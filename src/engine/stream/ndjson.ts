/**
 * Incremental newline-delimited JSON parser: bytes in, parsed values out.
 * Holds at most one partial line. A line that is not JSON throws (the caller maps it to a broken stream).
 */
export class NdjsonParser {
  private readonly decoder = new TextDecoder();
  private rest = '';

  push(bytes: Uint8Array): unknown[] {
    return this.feed(this.decoder.decode(bytes, { stream: true }));
  }

  end(): unknown[] {
    const out = this.feed(`${this.decoder.decode()}\n`);
    this.rest = '';
    return out;
  }

  private feed(text: string): unknown[] {
    const out: unknown[] = [];
    const buf = this.rest + text;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf('\n', start);
      if (nl === -1) break;
      const line = buf.slice(start, nl).trim();
      start = nl + 1;
      if (line !== '') out.push(JSON.parse(line));
    }
    this.rest = buf.slice(start);
    return out;
  }
}
