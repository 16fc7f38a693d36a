import { describe, expect, it } from 'vitest';
import { formatDuration, formatTimestamp, isTimestamp, shortSha } from './format.js';

describe('shortSha', () => {
  it('keeps the first seven characters', () => {
    expect(shortSha('3f9c2a1b7d4e5f60')).toBe('3f9c2a1');
  });

  it('shows a dash when there is no SHA', () => {
    expect(shortSha('')).toBe('—');
  });
});

describe('formatTimestamp', () => {
  it('formats ISO 8601 in UTC', () => {
    expect(formatTimestamp('2026-11-26T21:00:00+02:00')).toBe('2026-11-26 19:00:00 UTC');
  });

  it('passes through values that are not dates', () => {
    expect(formatTimestamp('unknown')).toBe('unknown');
    expect(isTimestamp('unknown')).toBe(false);
  });

  it('shows a dash for a missing value', () => {
    expect(formatTimestamp(null)).toBe('—');
    expect(isTimestamp(null)).toBe(false);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [42.4, '42s'],
    [60, '1m 00s'],
    [185, '3m 05s'],
    [3725, '1h 02m'],
    [null, '—'],
  ])('formats %s seconds as %s', (seconds, expected) => {
    expect(formatDuration(seconds)).toBe(expected);
  });
});
