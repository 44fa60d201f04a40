/**
 * ReadPlanner: the minimum number of requests for a point map, the protocol limits, and
 * learning from exception 02 and from refusals that may pass.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { ReadPlanner, type PlanPoint } from '../../drivers/modbus/planner.js';
import { PROFILES } from '../../drivers/profiles/index.js';
import { resolvePoint } from '../../drivers/modbus/codec.js';
import * as v from 'valibot';
import { ModbusPointSchema } from '../../drivers/modbus/config.js';

const hr = (name: string, address: number, count = 1): PlanPoint => ({ name, table: 'holding', address, count });

/** The smallest number of requests, by dynamic programming over the sorted points of one table. */
function optimal(points: PlanPoint[], maxGap: number, limit: number): number {
  const p = [...points].sort((a, b) => a.address - b.address);
  const best = new Array<number>(p.length + 1).fill(Infinity);
  best[0] = 0;
  for (let j = 1; j <= p.length; j++) {
    let end = -Infinity;
    for (let i = j; i >= 1; i--) {
      // p[i-1..j-1] as one request
      end = Math.max(end, p[i - 1]!.address + p[i - 1]!.count);
      const span = end - p[i - 1]!.address;
      let gapsOk = true;
      let reach = p[i - 1]!.address + p[i - 1]!.count;
      for (let k = i; k < j; k++) {
        if (p[k]!.address - reach > maxGap) gapsOk = false;
        reach = Math.max(reach, p[k]!.address + p[k]!.count);
      }
      if (span <= limit && gapsOk) best[j] = Math.min(best[j]!, best[i - 1]! + 1);
    }
  }
  return best[p.length]!;
}

describe('ReadPlanner', () => {
  test('the SDM120 meter map takes 3 requests instead of 10', () => {
    const points = Object.entries(PROFILES.sdm120.points).map(([name, p]) => {
      const r = resolvePoint(name, v.parse(ModbusPointSchema, p));
      return { name, table: r.table, address: r.address, count: r.count };
    });
    expect(points).toHaveLength(10);
    const plan = new ReadPlanner({ points, maxGap: 8 }).plan();
    // 0x00-0x1F (voltage ... power factor, gaps of 4), 0x46-0x4B, 0x156-0x157.
    expect(plan.map((b) => [b.address, b.count])).toEqual([
      [0x00, 0x20],
      [0x46, 6],
      [0x156, 2],
    ]);
  });

  test('merges across gaps up to max_gap, never beyond, and never mixes tables', () => {
    const points = [hr('a', 0), hr('b', 1, 2), hr('c', 11), hr('d', 30), { name: 'e', table: 'input' as const, address: 1, count: 1 }];
    const plan = new ReadPlanner({ points, maxGap: 8 }).plan();
    expect(plan.map((b) => `${b.table}:${b.address}+${b.count}`)).toEqual(['input:1+1', 'holding:0+12', 'holding:30+1']);
    // max_gap 0 still merges contiguous points (a and b).
    const tight = new ReadPlanner({ points, maxGap: 0 }).plan();
    expect(tight.map((b) => `${b.table}:${b.address}+${b.count}`)).toEqual(['input:1+1', 'holding:0+3', 'holding:11+1', 'holding:30+1']);
  });

  test('respects 125 registers and 2000 bits per request', () => {
    const regs = Array.from({ length: 300 }, (_, i) => hr(`r${i}`, i));
    expect(new ReadPlanner({ points: regs, maxGap: 8 }).plan().map((b) => b.count)).toEqual([125, 125, 50]);
    const bits = Array.from({ length: 4500 }, (_, i) => ({ name: `c${i}`, table: 'coil' as const, address: i, count: 1 }));
    expect(new ReadPlanner({ points: bits, maxGap: 8 }).plan().map((b) => b.count)).toEqual([2000, 2000, 500]);
  });

  test('a 32-bit point is never cut at the 125-register limit', () => {
    const points = [hr('a', 0), hr('f', 124, 2)];
    const plan = new ReadPlanner({ points, maxGap: 200 }).plan();
    expect(plan.map((b) => [b.address, b.count])).toEqual([
      [0, 1],
      [124, 2],
    ]);
  });

  test('issues the minimum number of requests for any point map (compared with an exhaustive optimum)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.constantFrom(1, 2), { minLength: 40, maxLength: 40 }),
        fc.integer({ min: 0, max: 20 }),
        (addresses, counts, maxGap) => {
          // Points must not overlap (the config checks forbid it): drop the ones that would.
          const sorted = [...addresses].sort((a, b) => a - b);
          const points: PlanPoint[] = [];
          let free = 0;
          sorted.forEach((a, i) => {
            if (a < free) return;
            points.push(hr(`p${i}`, a, counts[i]!));
            free = a + counts[i]!;
          });
          const plan = new ReadPlanner({ points, maxGap }).plan();
          expect(plan.length).toBe(optimal(points, maxGap, 125));
          // Every point is read exactly once, whole.
          const covered = plan.flatMap((b) => b.points.map((p) => p.name)).sort();
          expect(covered).toEqual(points.map((p) => p.name).sort());
          for (const b of plan) for (const p of b.points) expect(p.address + p.count).toBeLessThanOrEqual(b.address + b.count);
        },
      ),
      { numRuns: 120 },
    );
  });

  test('learns from exception 02: splits at gaps first, then between points, then drops a single point', () => {
    const points = [hr('a', 0), hr('b', 1), hr('c', 5), hr('d', 6)];
    const planner = new ReadPlanner({ points, maxGap: 8 });
    const [all] = planner.plan();
    expect(all!.count).toBe(7);
    expect(planner.learnIllegalAddress(all!)).toEqual({ outcome: 'split' });
    expect(planner.plan().map((b) => [b.address, b.count])).toEqual([
      [0, 2],
      [5, 2],
    ]);
    // 0-1 still fails: it has no gap, so it is split between its points.
    expect(planner.learnIllegalAddress(planner.plan()[0]!)).toEqual({ outcome: 'split' });
    expect(planner.plan().map((b) => [b.address, b.count])).toEqual([
      [0, 1],
      [1, 1],
      [5, 2],
    ]);
    expect(planner.learnIllegalAddress(planner.plan()[1]!)).toEqual({ outcome: 'dropped', points: ['b'] });
    expect(planner.plan().map((b) => [b.address, b.count])).toEqual([
      [0, 1],
      [5, 2],
    ]);
    expect(planner.droppedPoints()).toEqual(['b']);
  });

  test('a refusal that may pass (03, 04, silence) splits the same way but never drops a point', () => {
    const points = [hr('a', 0), hr('b', 1), hr('c', 5)];
    const planner = new ReadPlanner({ points, maxGap: 8 });
    expect(planner.learnRefused(planner.plan()[0]!)).toBe('split');
    expect(planner.learnRefused(planner.plan()[0]!)).toBe('split');
    expect(planner.plan().map((b) => [b.address, b.count])).toEqual([
      [0, 1],
      [1, 1],
      [5, 1],
    ]);
    expect(planner.learnRefused(planner.plan()[1]!)).toBe('single');
    expect(planner.plan()).toHaveLength(3);
    expect(planner.droppedPoints()).toEqual([]);
  });

  test('bit points of one register share a single read, also after a split', () => {
    const points = [hr('x', 3), { ...hr('b0', 10), name: 'b0' }, { ...hr('b1', 10), name: 'b1' }];
    const planner = new ReadPlanner({ points, maxGap: 8 });
    expect(planner.plan()).toHaveLength(1);
    planner.learnIllegalAddress(planner.plan()[0]!);
    expect(planner.plan().map((b) => [b.address, b.count, b.points.length])).toEqual([
      [3, 1, 1],
      [10, 1, 2],
    ]);
  });
});
