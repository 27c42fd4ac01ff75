/** One server-sent event: its `event:` name (if any) and its `data:` lines joined by newlines. */
export interface SseEvent {
  event?: string;
  data: string;
}

/**
 * Incremental SSE parser (https://html.spec.whatwg.org/multipage/server-sent-events.html):
 * bytes in, whole events out. Holds at most one partial line, never the whole stream.
 */
export class SseParser {
  private readonly decoder = new TextDecoder();
  private rest = '';
  private data: string[] = [];
  private event: string | undefined;

  /** Feed bytes; returns the events they completed. */
  push(bytes: Uint8Array): SseEvent[] {
    return this.feed(this.decoder.decode(bytes, { stream: true }));
  }

  /** The stream ended: flush a last event that had no blank line after it. */
  end(): SseEvent[] {
    const out = this.feed(`${this.decoder.decode()}\n\n`);
    this.rest = '';
    return out;
  }

  private feed(text: string): SseEvent[] {
    const out: SseEvent[] = [];
    let buf = this.rest + text;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf('\n', start);
      if (nl === -1) break;
      let line = buf.slice(start, nl);
      start = nl + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        if (this.data.length > 0)
          out.push({ event: this.event, data: this.data.length === 1 ? this.data[0] : this.data.join('\n') });
        this.data = [];
        this.event = undefined;
        continue;
      }
      if (line.charCodeAt(0) === 58 /* : */) continue; // comment / keep-alive
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.charCodeAt(0) === 32) value = value.slice(1);
      if (field === 'data') this.data.push(value);
      else if (field === 'event') this.event = value;
    }
    buf = buf.slice(start);
    // a bare '\r' line ending (rare) is handled when the next '\n' arrives or at end()
    this.rest = buf;
    return out;
  }
}
