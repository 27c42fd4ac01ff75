import { describe, expect, it } from 'vitest';
import { SettledBus, type SettledEvent } from '../../src/engine/observability/settled.js';

const ev = (callId: string) => ({ callId }) as SettledEvent;
const tick = () => new Promise((r) => setImmediate(r));

describe('the settled bus', () => {
  it('queues: subscribers run after emit returned, in order, once each', async () => {
    const bus = new SettledBus();
    const seen: string[] = [];
    bus.subscribe((e) => void seen.push(`a:${e.callId}`));
    bus.subscribe((e) => void seen.push(`b:${e.callId}`));
    bus.emit(ev('1'));
    bus.emit(ev('2'));
    expect(seen).toEqual([]);
    await tick();
    expect(seen).toEqual(['a:1', 'b:1', 'a:2', 'b:2']);
  });

  it('a subscriber that throws or rejects is reported once and never stops the others', async () => {
    const errors: unknown[] = [];
    const bus = new SettledBus((e) => errors.push(e));
    const seen: string[] = [];
    bus.subscribe(() => {
      throw new Error('sync');
    });
    bus.subscribe(async () => {
      throw new Error('async');
    });
    bus.subscribe((e) => void seen.push(e.callId));
    for (const id of ['1', '2', '3']) bus.emit(ev(id));
    await tick();
    await tick();
    expect(seen).toEqual(['1', '2', '3']);
    expect(errors.map((e) => (e as Error).message).sort()).toEqual(['async', 'sync']);
  });

  it('is inactive without subscribers (nothing is queued), and flush() delivers at once', () => {
    const bus = new SettledBus();
    expect(bus.active).toBe(false);
    bus.emit(ev('dropped'));
    const seen: string[] = [];
    const off = bus.subscribe((e) => void seen.push(e.callId));
    expect(bus.active).toBe(true);
    bus.emit(ev('1'));
    bus.flush();
    expect(seen).toEqual(['1']);
    off();
    expect(bus.active).toBe(false);
  });

  it('a subscriber may unsubscribe itself while it runs without others missing the event', async () => {
    const bus = new SettledBus();
    const seen: string[] = [];
    const off = bus.subscribe(() => off());
    bus.subscribe((e) => void seen.push(e.callId));
    bus.emit(ev('1'));
    await tick();
    expect(seen).toEqual(['1']);
  });
});
