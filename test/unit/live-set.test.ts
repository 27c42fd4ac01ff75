import { describe, expect, it } from 'vitest';
import { LiveSet } from '../../src/engine/live-set.js';

class Item {
  liveSlot = -1;
  constructor(readonly name: string) {}
}

describe('LiveSet (requests in flight without a hash table)', () => {
  it('holds what was added until it leaves, once each, in any order', () => {
    const s = new LiveSet<Item>();
    const [a, b, c] = [new Item('a'), new Item('b'), new Item('c')];
    s.add(a);
    s.add(b);
    s.add(b); // twice: still one
    s.add(c);
    expect(s.size).toBe(3);
    expect(s.delete(b)).toBe(true);
    expect(s.delete(b)).toBe(false); // already gone
    expect(s.values().map((x) => x.name)).toEqual(['a', 'c']);
    const d = new Item('d');
    s.add(d); // takes b's free slot
    expect(s.values().map((x) => x.name)).toEqual(['a', 'd', 'c']);
    expect(s.at(d.liveSlot)).toBe(d); // a member is found by its slot
    expect(s.delete(new Item('a'))).toBe(false); // another object is not a member
    for (const x of [a, c, d]) s.delete(x);
    expect(s.size).toBe(0);
    expect(s.values()).toEqual([]);
    s.add(a); // usable again once empty
    expect(s.values()).toEqual([a]);
  });

  it('lets members leave while the caller walks them (the drain deadline does)', () => {
    const s = new LiveSet<Item>();
    const items = Array.from({ length: 100 }, (_, i) => new Item(String(i)));
    for (const x of items) s.add(x);
    const seen: string[] = [];
    for (const x of s.values()) {
      seen.push(x.name);
      s.delete(x);
    }
    expect(seen).toHaveLength(100);
    expect(s.size).toBe(0);
    // churn as under load: the slots are reused, the set never grows past what was in it at once
    for (let round = 0; round < 1000; round++) {
      const batch = items.slice(0, 50);
      for (const x of batch) s.add(x);
      for (const x of batch) s.delete(x);
    }
    expect(s.size).toBe(0);
    for (const x of items) expect(x.liveSlot).toBe(-1);
  });
});
