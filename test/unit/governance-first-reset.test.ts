import { describe, expect, it } from 'vitest';
import { nextResetAt } from '../../src/engine/governance/budgets/reset.js';

// LiteLLM's aligned windows (get_next_standardized_reset_time), in UTC
const at = (s: string) => Date.parse(s);
const next = (d: string, now: string) => new Date(nextResetAt(d, at(now), 'UTC')).toISOString();

describe('first budget reset of a budget_duration', () => {
  it('puts day windows on midnight, weeks on Monday and 30d / 1mo on the 1st', () => {
    expect(next('1d', '2026-11-30T12:00:00Z')).toBe('2026-12-01T00:00:00.000Z');
    // 2026-12-02 is a Wednesday; a Monday itself goes to the following Monday
    expect(next('7d', '2026-12-02T08:00:00Z')).toBe('2026-12-07T00:00:00.000Z');
    expect(next('1w', '2026-11-30T00:00:00Z')).toBe('2026-12-07T00:00:00.000Z');
    expect(next('30d', '2026-12-31T23:59:59Z')).toBe('2027-01-01T00:00:00.000Z');
    expect(next('1mo', '2026-02-10T00:00:00Z')).toBe('2026-03-01T00:00:00.000Z');
    expect(next('3d', '2026-11-30T12:00:00Z')).toBe('2026-12-03T00:00:00.000Z');
  });

  it('puts hour, minute and second windows on the next multiple within the day', () => {
    expect(next('1h', '2026-11-30T12:00:00Z')).toBe('2026-11-30T13:00:00.000Z');
    expect(next('6h', '2026-11-30T13:30:00Z')).toBe('2026-11-30T18:00:00.000Z');
    expect(next('15m', '2026-11-30T13:31:00Z')).toBe('2026-11-30T13:45:00.000Z');
    expect(next('30s', '2026-11-30T13:31:45Z')).toBe('2026-11-30T13:32:00.000Z');
  });
});
