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

describe('BucketSet rows and overflow', () => {
  const m = (i: number) => i * MINUTE_MS;
  const row = (b: { t: number; min: number; max: number; sum: number; last: number; count: number; q: number }) => [b.t, b.min, b.max, b.sum, b.last, b.count, b.q];

  test('a third bucket of one point stays in time order, late ones included, and closes oldest first', () => {
    const set = new BucketSet(MINUTE_MS);
    set.addSample('d', 'p', good(m(12) + 1, 2));
    set.addSample('d', 'p', good(m(13) + 1, 3));
    set.addSample('d', 'p', good(m(14) + 1, 4));
    // Late: one before all of them, one between, and one more into the newest.
    set.addSample('d', 'p', good(m(10) + 1, 0));
    set.addSample('d', 'p', good(m(11) + 1, 1));
    set.addSample('d', 'p', good(m(14) + 2, 40));
    set.addAggregate('d', 'p', { t: m(13), min: 30, max: 30, sum: 30, last: 30, count: 1, q: 0 });
    expect(set.peek('d', 'p').map((b) => [b.t, b.count, b.sum, b.last])).toEqual([
      [m(10), 1, 0, 0],
      [m(11), 1, 1, 1],
      [m(12), 1, 2, 2],
      [m(13), 2, 33, 30],
      [m(14), 2, 44, 40],
    ]);

    expect(set.closeBefore(m(13)).get('d')!.get('p')!.map((b) => b.t)).toEqual([m(10), m(11), m(12)]);
    expect(set.peek('d', 'p').map((b) => b.t)).toEqual([m(13), m(14)]);
    // A new minute after the close is a third bucket again; then everything closes in order.
    set.addSample('d', 'p', good(m(15), 5));
    expect(set.closeBefore(m(16)).get('d')!.get('p')!.map((b) => [b.t, b.sum])).toEqual([
      [m(13), 33],
      [m(14), 44],
      [m(15), 5],
    ]);
    expect(set.peek('d', 'p')).toEqual([]);
  });

  test('a late sample of the older of two open buckets lands in it and leaves the newer alone', () => {
    const set = new BucketSet(MINUTE_MS);
    set.addSample('d', 'p', good(m(5) + 59_000, 10));
    set.addSample('d', 'p', good(m(6) + 1_000, 20));
    set.addSample('d', 'p', good(m(5) + 59_500, -3));
    expect(set.peek('d', 'p').map(row)).toEqual([
      [m(5), -3, 10, 7, -3, 2, 0],
      [m(6), 20, 20, 20, 20, 1, 0],
    ]);
    // The older bucket opening second moves the open one up.
    const late = new BucketSet(MINUTE_MS);
    late.addSample('d', 'p', good(m(6), 20));
    late.addSample('d', 'p', good(m(5), 10));
    expect(late.peek('d', 'p').map((b) => [b.t, b.sum])).toEqual([
      [m(5), 10],
      [m(6), 20],
    ]);
  });

  test('a close of the older row keeps the newer one, which takes the next sample of its minute', () => {
    const set = new BucketSet(MINUTE_MS);
    set.addSample('d', 'p', good(m(1) + 5, 1));
    set.addSample('d', 'p', good(m(2) + 5, 2));
    expect(set.closeBefore(m(2)).get('d')!.get('p')!.map(row)).toEqual([[m(1), 1, 1, 1, 1, 1, 0]]);
    set.addSample('d', 'p', good(m(2) + 6, 4));
    set.addSample('d', 'p', good(m(3), 8));
    expect(set.peek('d', 'p').map(row)).toEqual([
      [m(2), 2, 4, 6, 4, 2, 0],
      [m(3), 8, 8, 8, 8, 1, 0],
    ]);
  });

  test('stale and bad samples only mark quality; a bucket without good samples keeps its infinities and NaN', () => {
    const set = new BucketSet(MINUTE_MS);
    set.addSample('d', 'p', { t: 1, v: 50, q: 1 });
    set.addSample('d', 'p', { t: m(1), v: 7, q: 2 });
    set.addSample('d', 'p', good(2, -Infinity));
    set.addSample('d', 'p', { t: 3, v: 99, q: 3 });
    expect(set.peek('d', 'p').map(row)).toEqual([
      [0, -Infinity, -Infinity, -Infinity, -Infinity, 1, 1],
      [m(1), Infinity, -Infinity, 0, Number.NaN, 0, 2],
    ]);
  });

  test('5,000 points each keep their own buckets when the rows grow', () => {
    const set = new BucketSet(MINUTE_MS);
    const n = 5000;
    const name = (i: number) => [`dev${i % 7}`, `p${i}`] as const;
    for (let i = 0; i < n; i++) set.addSample(...name(i), good(m(1) + i, i));
    // A second minute for every third point, and a late sample of the first for every fifth.
    for (let i = 0; i < n; i += 3) set.addSample(...name(i), good(m(2), -i - 1));
    for (let i = 0; i < n; i += 5) set.addSample(...name(i), good(m(1), i + 0.5));
    for (let i = 0; i < n; i++) {
      const first = i % 5 === 0 ? [m(1), i, i + 0.5, 2 * i + 0.5, i + 0.5, 2] : [m(1), i, i, i, i, 1];
      const want = i % 3 === 0 ? [first, [m(2), -i - 1, -i - 1, -i - 1, -i - 1, 1]] : [first];
      expect(set.peek(...name(i)).map((b) => [b.t, b.min, b.max, b.sum, b.last, b.count])).toEqual(want);
    }
    const closed = set.closeBefore(m(2));
    let count = 0;
    for (const points of closed.values()) for (const list of points.values()) count += list.length;
    expect(count).toBe(n);
    expect(closed.get('dev3')!.get('p10')!.map((b) => b.sum)).toEqual([20.5]);
    expect(set.peek('dev3', 'p10')).toEqual([]);
    expect(set.peek('dev2', 'p9').map((b) => [b.t, b.sum])).toEqual([[m(2), -10]]);
  });

  test('peek and close hand out copies: changing them changes no open bucket, in a row or beyond', () => {
    const set = new BucketSet(MINUTE_MS);
    for (const i of [1, 2, 3]) set.addSample('d', 'p', good(m(i), i));
    for (const b of set.peek('d', 'p')) b.sum = 100;
    expect(set.peek('d', 'p').map((b) => b.sum)).toEqual([1, 2, 3]);
    const closed = set.closeBefore(m(3)).get('d')!.get('p')!;
    closed[0]!.sum = 100;
    set.addSample('d', 'p', good(m(3) + 1, 4));
    expect(closed.map((b) => b.sum)).toEqual([100, 2]);
    expect(set.peek('d', 'p').map((b) => b.sum)).toEqual([7]);
  });

  test('a close lists devices, and their points, in the order they opened since their last close', () => {
    const set = new BucketSet(MINUTE_MS);
    set.addSample('a', 'x', good(1, 1));
    set.addSample('b', 'x', good(1, 1));
    set.addSample('a', 'y', good(1, 1));
    expect([...set.closeBefore(m(1))].map(([d, points]) => [d, [...points.keys()]])).toEqual([
      ['a', ['x', 'y']],
      ['b', ['x']],
    ]);
    // Reopened in another order: the close follows it, not the order the points were first seen.
    set.addSample('b', 'x', good(m(1), 1));
    set.addSample('a', 'y', good(m(1), 1));
    set.addSample('a', 'x', good(m(1), 1));
    expect([...set.closeBefore(m(2))].map(([d, points]) => [d, [...points.keys()]])).toEqual([
      ['b', ['x']],
      ['a', ['y', 'x']],
    ]);
  });
});
