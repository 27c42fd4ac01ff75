/** An object a `LiveSet` can hold: its slot there, -1 while it is in none (one LiveSet per object at a time). */
export interface LiveSlot {
  liveSlot: number;
}

/**
 * The requests or attempts in flight, for the hot path: a Set without V8's hash table. A long-lived `Set` that
 * gains and loses an entry per request rehashes into a new table every few dozen of them, and V8 keeps each old
 * table (with every entry it held then) linked to its successor. Once one table of that chain is in the old
 * generation, scavenges keep every later table alive, and with them every request that was in flight when each
 * was replaced: whole finished requests promoted by the thousand, until a full collection, which starts the
 * chain again. That cost the engine 30-50% more CPU per request (engine CPU per request and --trace-gc-nvp:
 * 40% of the young generation surviving each scavenge, instead of 3-8%). Here an object takes a free slot of a
 * plain array, which it clears when it leaves: nothing that left is held by anything.
 */
export class LiveSet<T extends LiveSlot> {
  private readonly slots: (T | undefined)[] = [];
  private readonly free: number[] = [];
  size = 0;

  add(item: T): void {
    if (item.liveSlot >= 0) return;
    const i = this.free.length > 0 ? (this.free.pop() as number) : this.slots.length;
    this.slots[i] = item;
    item.liveSlot = i;
    this.size++;
  }

  delete(item: T): boolean {
    const i = item.liveSlot;
    if (i < 0 || this.slots[i] !== item) return false;
    this.slots[i] = undefined;
    item.liveSlot = -1;
    this.size--;
    if (this.size === 0) {
      // empty again: start from slot 0 (the arrays keep their storage)
      this.slots.length = 0;
      this.free.length = 0;
    } else this.free.push(i);
    return true;
  }

  /** The member in slot `i` (its `liveSlot`), if any. */
  at(i: number): T | undefined {
    return this.slots[i];
  }

  /** The members now (a copy: members may leave while the caller walks it). */
  values(): T[] {
    const out: T[] = [];
    for (const x of this.slots) if (x !== undefined) out.push(x);
    return out;
  }
}
