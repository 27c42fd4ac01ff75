import { describe, expect, it } from 'vitest';
import { nextResetAt, parseBudgetDuration } from '../../src/engine/governance/budgets/reset.js';

const utc = (s: string) => Date.parse(`${s}Z`);
const iso = (t: number) => new Date(t).toISOString();

describe('budget durations', () => {
  it('parses LiteLLM units and refuses what LiteLLM refuses', () => {
    expect(parseBudgetDuration('30s')).toEqual({ n: 30, unit: 's' });
    expect(parseBudgetDuration('3600')).toEqual({ n: 3600, unit: 's' });
    expect(parseBudgetDuration('1w')).toEqual({ n: 7, unit: 'd' });
    expect(parseBudgetDuration('1mo')).toEqual({ n: 1, unit: 'mo' });
    expect(parseBudgetDuration('2mo')).toBeUndefined();
    expect(parseBudgetDuration('1y')).toBeUndefined();
    expect(parseBudgetDuration('0d')).toBeUndefined();
    expect(() => nextResetAt('soon', 0, 'UTC')).toThrow(/invalid budget_duration "soon"/);
  });
});

describe('aligned resets in UTC', () => {
  // a Wednesday afternoon
  const wed = utc('2026-11-25T15:47:12');
  it('1d: the next midnight', () => expect(iso(nextResetAt('1d', wed, 'UTC'))).toBe('2026-11-26T00:00:00.000Z'));
  it('7d and 1w: the next Monday midnight', () => {
    expect(iso(nextResetAt('7d', wed, 'UTC'))).toBe('2026-11-30T00:00:00.000Z');
    expect(iso(nextResetAt('1w', wed, 'UTC'))).toBe('2026-11-30T00:00:00.000Z');
    // on a Monday: the following Monday, not today
    expect(iso(nextResetAt('7d', utc('2026-11-30T00:00:00'), 'UTC'))).toBe('2026-12-07T00:00:00.000Z');
  });
  it('30d and 1mo: the 1st of next month (across a year end too)', () => {
    expect(iso(nextResetAt('30d', wed, 'UTC'))).toBe('2026-12-01T00:00:00.000Z');
    expect(iso(nextResetAt('1mo', utc('2026-12-31T23:59:59'), 'UTC'))).toBe('2027-01-01T00:00:00.000Z');
  });
  it('other Nd: today midnight plus N days', () =>
    expect(iso(nextResetAt('3d', wed, 'UTC'))).toBe('2026-11-28T00:00:00.000Z'));
  it('Nh, Nm, Ns: the next multiple', () => {
    expect(iso(nextResetAt('1h', wed, 'UTC'))).toBe('2026-11-25T16:00:00.000Z');
    expect(iso(nextResetAt('6h', wed, 'UTC'))).toBe('2026-11-25T18:00:00.000Z');
    expect(iso(nextResetAt('5h', utc('2026-11-25T22:10:00'), 'UTC'))).toBe('2026-11-26T00:00:00.000Z');
    expect(iso(nextResetAt('15m', wed, 'UTC'))).toBe('2026-11-25T16:00:00.000Z');
    expect(iso(nextResetAt('10m', wed, 'UTC'))).toBe('2026-11-25T15:50:00.000Z');
    expect(iso(nextResetAt('30s', wed, 'UTC'))).toBe('2026-11-25T15:47:30.000Z');
    // exactly on a boundary: the next one
    expect(iso(nextResetAt('30s', utc('2026-11-25T15:47:30'), 'UTC'))).toBe('2026-11-25T15:48:00.000Z');
  });
});

describe('aligned resets in other zones', () => {
  it('midnight and Monday in Asia/Kolkata (+05:30)', () => {
    // 20:00 UTC Wednesday is 01:30 Thursday in India
    const t = utc('2026-11-25T20:00:00');
    expect(iso(nextResetAt('1d', t, 'Asia/Kolkata'))).toBe('2026-11-26T18:30:00.000Z');
    expect(iso(nextResetAt('7d', t, 'Asia/Kolkata'))).toBe('2026-11-29T18:30:00.000Z');
    expect(iso(nextResetAt('1mo', t, 'Asia/Kolkata'))).toBe('2026-11-30T18:30:00.000Z');
  });
  it('across the spring-forward change in America/New_York', () => {
    // 2026-03-08: clocks go from 02:00 EST to 03:00 EDT; a day is 23 hours long
    const before = utc('2026-03-08T05:30:00'); // 00:30 EST
    expect(iso(nextResetAt('1d', before, 'America/New_York'))).toBe('2026-03-09T04:00:00.000Z');
    // 01:30 EST with 1h: 02:00 does not exist, the reset is at 03:00 EDT = 07:00 UTC
    expect(iso(nextResetAt('1h', utc('2026-03-08T06:30:00'), 'America/New_York'))).toBe('2026-03-08T07:00:00.000Z');
  });
  it('across the fall-back change in Europe/Berlin', () => {
    // 2026-10-25: clocks go from 03:00 CEST back to 02:00 CET; that day is 25 hours long
    const t = utc('2026-10-24T22:30:00'); // 00:30 CEST on the 25th
    expect(iso(nextResetAt('1d', t, 'Europe/Berlin'))).toBe('2026-10-25T23:00:00.000Z');
    expect(iso(nextResetAt('1mo', t, 'Europe/Berlin'))).toBe('2026-10-31T23:00:00.000Z');
    // from 02:30 CEST (00:30 UTC) the next hour boundary on the wall clock is 03:00, which exists once: CET
    expect(iso(nextResetAt('1h', utc('2026-10-25T00:30:00'), 'Europe/Berlin'))).toBe('2026-10-25T02:00:00.000Z');
  });
});
