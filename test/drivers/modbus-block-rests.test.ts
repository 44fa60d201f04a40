/**
 * BlockRests: a read block that goes unanswered while its unit answers rests on its own, from
 * the floor, doubling up to the cap; an answer ends its rest.
 */
import { describe, expect, test } from 'vitest';
import { BlockRests } from '../../drivers/modbus/block-rests.js';

describe('BlockRests', () => {
  test('rests from the floor, doubling to the cap; an answer or clear() ends it', () => {
    let now = 0;
    const rests = new BlockRests({ floorMs: 12_000, maxMs: 30_000, random: () => 0.5, now: () => now });
    expect(rests.remaining('holding:100+1')).toBe(0);
    expect([1, 2, 3].map(() => rests.failed('holding:100+1'))).toEqual([12_000, 24_000, 30_000]);
    expect(rests.failures('holding:100+1')).toBe(3);
    expect(rests.remaining('holding:100+1')).toBe(30_000);
    expect(rests.remaining('holding:0+1')).toBe(0);
    expect(rests.size).toBe(1);
    now += 30_000;
    expect(rests.remaining('holding:100+1')).toBe(0);
    expect(rests.size).toBe(0);
    rests.answered('holding:100+1');
    expect(rests.failures('holding:100+1')).toBe(0);
    rests.failed('input:0+2');
    rests.clear();
    expect(rests.remaining('input:0+2')).toBe(0);
  });

  test('a floor above the cap rests for the cap', () => {
    const rests = new BlockRests({ floorMs: 12_000, maxMs: 1000, random: () => 0.5, now: () => 0 });
    expect(rests.failed('k')).toBe(1000);
  });
});
