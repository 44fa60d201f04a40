/**
 * The open buckets of a tier: samples land in the bucket of their time, in any arrival order,
 * and a close hands out the ended buckets of each point oldest first, keeping the rest open.
 */
import { describe, expect, test } from 'vitest';
import { BucketSet, MINUTE_MS } from '../../src/historian/buckets.js';

const good = (t: number, v: number) => ({ t, v, q: 0 as const });

describe('BucketSet', () => {
  test('samples out of order land in their own minute; a close returns the ended ones oldest first', () => {
    const set = new BucketSet(MINUTE_MS);
    const m0 = 10 * MINUTE_MS;
    // The next minute opens first, then a late sample of the earlier one and one two minutes on.
    set.addSample('d', 'p', good(m0 + MINUTE_MS + 5, 7));
    set.addSample('d', 'p', good(m0 + 1, 1));
    set.addSample('d', 'p', good(m0 + 2 * MINUTE_MS, 9));
    set.addSample('d', 'p', good(m0 + 30_000, 3));
    set.addSample('d', 'q', good(m0 + 3, 5));
    expect(set.peek('d', 'p').map((b) => [b.t, b.count, b.min, b.max, b.last])).toEqual([
      [m0, 2, 1, 3, 3],
      [m0 + MINUTE_MS, 1, 7, 7, 7],
      [m0 + 2 * MINUTE_MS, 1, 9, 9, 9],
    ]);

    const closed = set.closeBefore(m0 + 2 * MINUTE_MS);
    expect(closed.get('d')!.get('p')!.map((b) => b.t)).toEqual([m0, m0 + MINUTE_MS]);
    expect(closed.get('d')!.get('q')!.map((b) => [b.t, b.sum])).toEqual([[m0, 5]]);
    // What did not end stays open; a point with nothing open is gone.
    expect(set.peek('d', 'p').map((b) => b.t)).toEqual([m0 + 2 * MINUTE_MS]);
    expect(set.peek('d', 'q')).toEqual([]);
    expect(set.closeBefore(m0 + 2 * MINUTE_MS).size).toBe(0);
  });

  test('peek returns copies: changing them changes no open bucket', () => {
    const set = new BucketSet(MINUTE_MS);
    set.addSample('d', 'p', good(5, 2));
    set.peek('d', 'p')[0]!.sum = 100;
    expect(set.peek('d', 'p')[0]!.sum).toBe(2);
  });

  test('an aggregate merges into the bucket of its start', () => {
    const set = new BucketSet(MINUTE_MS);
    set.addSample('d', 'p', good(MINUTE_MS + 1, 4));
    set.addAggregate('d', 'p', { t: MINUTE_MS, min: 1, max: 8, sum: 9, last: 8, count: 2, q: 0 });
    set.addAggregate('d', 'p', { t: 0, min: 2, max: 2, sum: 2, last: 2, count: 1, q: 0 });
    expect(set.peek('d', 'p').map((b) => [b.t, b.min, b.max, b.sum, b.count])).toEqual([
      [0, 2, 2, 2, 1],
      [MINUTE_MS, 1, 8, 13, 3],
    ]);
  });
});
