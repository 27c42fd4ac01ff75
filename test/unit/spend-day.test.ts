import { describe, expect, it } from 'vitest';
import { utcDay } from '../../src/engine/governance/spend/row.js';

describe('utcDay (the rollups day of a call)', () => {
  it('is the UTC date, also across midnight and when calls arrive out of order', () => {
    const at = (s: string) => utcDay(Date.parse(s));
    expect(at('2026-11-30T23:59:59.999Z')).toBe('2026-11-30');
    expect(at('2026-12-01T00:00:00.000Z')).toBe('2026-12-01');
    // a late call of the previous day after the cached day moved on
    expect(at('2026-11-30T12:00:00Z')).toBe('2026-11-30');
    expect(at('2026-12-01T23:59:59Z')).toBe('2026-12-01');
    expect(at('1969-12-31T23:00:00Z')).toBe('1969-12-31');
  });
});
