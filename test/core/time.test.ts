import { describe, expect, it } from 'vitest';
import { isoTime } from '../../src/core/time.js';

describe('isoTime', () => {
  it('writes what Date.prototype.toISOString writes', () => {
    const cases = [
      0, 1, -1, 999, 1000, 1_733_500_000_123, 1_733_500_000_123.9, -1_733_500_000_123.9, 951_782_400_000 /* 2000-02-29 */,
      253_402_300_799_999 /* 9999-12-31T23:59:59.999Z */, 253_402_300_800_000 /* +010000 */, -62_167_219_200_000 /* year 0 */,
      -62_167_219_200_001 /* -000001 */, 8.64e15, -8.64e15,
    ];
    let seed = 42;
    for (let i = 0; i < 2000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      cases.push((seed / 2 ** 31 - 0.5) * 2 * 8.64e15);
      cases.push(1.7e12 + seed);
    }
    for (const ms of cases) expect(isoTime(ms), String(ms)).toBe(new Date(ms).toISOString());
  });

  it('refuses what is not a time, as toISOString does', () => {
    for (const ms of [NaN, Infinity, -Infinity, 8.64e15 + 1, -8.64e15 - 1]) {
      expect(() => new Date(ms).toISOString()).toThrow(RangeError);
      expect(() => isoTime(ms)).toThrow(/invalid time value/);
    }
  });
});
