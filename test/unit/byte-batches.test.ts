/**
 * ByteBatches, the sinks' queue as bytes: what a batch holds is exactly the items joined (UTF-8, any size),
 * batches close at their item and byte limits, and a reused buffer never changes a batch not yet released.
 */
import { describe, expect, it } from 'vitest';
import { ByteBatches } from '../../src/engine/observability/byte-batches.js';

const json = (o: { maxItems: number; maxBytes: number }) =>
  new ByteBatches({ ...o, head: '{"batch":[', separator: ',', tail: ']}' });

describe('ByteBatches', () => {
  it('a batch is its items joined, as UTF-8, growing past its first buffer', () => {
    const q = json({ maxItems: 1000, maxBytes: 10_000_000 });
    const items = ['"é ü 😀 \u2028"', JSON.stringify('x'.repeat(100_000)), '{"a":[1,2]}', '"中文"'];
    for (const s of items) expect(q.pushString(s)).toBe(false);
    expect(q.count).toBe(4);
    expect(q.take()).toBeUndefined(); // still filling
    q.seal();
    const b = q.take()!;
    expect(b.count).toBe(4);
    expect(q.count).toBe(0);
    expect(b.bytes.toString('utf8')).toBe(`{"batch":[${items.join(',')}]}`);
    expect(JSON.parse(b.bytes.toString('utf8')).batch).toHaveLength(4);
  });

  it('closes a batch at maxItems and before it would pass maxBytes (saying so); a big item goes alone', () => {
    const q = json({ maxItems: 3, maxBytes: 100 });
    expect([q.pushString('"a"'), q.pushString('"b"'), q.pushString('"c"')]).toEqual([false, false, true]);
    expect(q.pushString(`"${'x'.repeat(50)}"`)).toBe(false);
    expect(q.pushString(`"${'y'.repeat(50)}"`)).toBe(true); // would make 116 bytes: the x batch is ready
    expect(q.pushString(`"${'z'.repeat(500)}"`)).toBe(true); // bigger than maxBytes: alone
    expect(q.pushString('"d"')).toBe(true);
    q.seal();
    const sizes: number[] = [];
    const texts: string[] = [];
    for (let b = q.take(); b; b = q.take()) {
      sizes.push(b.count);
      texts.push(b.bytes.toString());
      q.release(b);
    }
    expect(sizes).toEqual([3, 1, 1, 1, 1]);
    expect(texts[0]).toBe('{"batch":["a","b","c"]}');
    expect(texts[3]).toBe(`{"batch":["${'z'.repeat(500)}"]}`);
    for (const t of texts.filter((x) => !x.includes('z'))) expect(Buffer.byteLength(t)).toBeLessThanOrEqual(100);
  });

  it('a released buffer is reused; a batch not yet released keeps its bytes', () => {
    const q = new ByteBatches({ maxItems: 2, maxBytes: 1000 });
    const bytes = (s: string) => Buffer.from(s);
    q.pushBytes(bytes('AAAA'), 0, 4);
    q.pushBytes(bytes('xxBBBBxx'), 2, 6);
    const first = q.take()!;
    q.pushBytes(bytes('CCCC'), 0, 4);
    q.pushBytes(bytes('DDDD'), 0, 4);
    const second = q.take()!;
    expect(first.bytes.toString()).toBe('AAAABBBB');
    q.release(first);
    q.pushBytes(bytes('EEEE'), 0, 4);
    q.pushBytes(bytes('FFFF'), 0, 4);
    const third = q.take()!;
    expect(third.buffer).toBe(first.buffer); // reused
    expect(second.bytes.toString()).toBe('CCCCDDDD');
    expect(third.bytes.toString()).toBe('EEEEFFFF');
    q.pushBytes(bytes('GG'), 0, 2);
    expect(q.clear()).toBe(1);
    expect(q.take()).toBeUndefined();
  });
});
