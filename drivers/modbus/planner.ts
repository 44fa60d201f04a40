/**
 * ReadPlanner: turns the points of one unit into as few read requests as possible. Points of
 * one table are sorted by address and merged greedily while the request stays within the
 * protocol limit (125 registers, 2000 bits) and the unused gap to the next point is at most
 * `maxGap` registers (x16 for bits). Greedy is optimal here: taking each point into the current
 * request whenever allowed never leaves more requests than any other grouping.
 *
 * Many devices answer exception 02 (illegal data address) for reads that touch an address they
 * do not implement, even inside a gap we do not care about. The planner learns from that: the
 * failing request is split at its gaps, then into single points; a single point that still
 * answers 02 is dropped from polling (its value stays null) and reported. A request the unit
 * refuses otherwise (exception 03 or 04, or silence while it answers its other requests) is
 * split the same way, but a single point stays: the driver rests it instead, since such a
 * refusal may pass.
 */
import type { Table } from './config.js';

export const MAX_READ_REGISTERS = 125;
export const MAX_READ_BITS = 2000;

export interface PlanPoint {
  name: string;
  table: Table;
  address: number;
  /** Registers or bits the point occupies. */
  count: number;
}

export interface ReadBlock {
  table: Table;
  address: number;
  count: number;
  points: PlanPoint[];
}

export interface ReadPlannerOptions {
  points: PlanPoint[];
  /** Largest unused gap merged into one request, in registers (bits: x16). */
  maxGap: number;
  maxRegisters?: number;
  maxBits?: number;
}

const TABLE_ORDER: Table[] = ['coil', 'discrete', 'input', 'holding'];

export class ReadPlanner {
  /** "table:address" of points that must start a new request. */
  private readonly barriers = new Set<string>();
  private readonly dropped = new Set<string>();
  private cached: ReadBlock[] | undefined;

  constructor(private readonly options: ReadPlannerOptions) {}

  plan(): ReadBlock[] {
    this.cached ??= this.build();
    return this.cached;
  }

  /** Names of points dropped because even a read of just them answers exception 02. */
  droppedPoints(): string[] {
    return [...this.dropped];
  }

  /**
   * A read of `block` answered exception 02. Returns what changed: `split` (the next plan has
   * more, smaller requests) or `dropped` (the block was a single point, now left out).
   */
  learnIllegalAddress(block: ReadBlock): { outcome: 'split' } | { outcome: 'dropped'; points: string[] } {
    if (this.split(block)) return { outcome: 'split' };
    this.cached = undefined;
    for (const p of block.points) this.dropped.add(p.name);
    return { outcome: 'dropped', points: block.points.map((p) => p.name) };
  }

  /**
   * The unit refused a read of `block` in a way that may pass (exception 03/04, silence). Returns
   * `split` (the next plan reads it in smaller requests) or `single` (it cannot be split).
   */
  learnRefused(block: ReadBlock): 'split' | 'single' {
    return this.split(block) ? 'split' : 'single';
  }

  /** Splits `block` at its gaps, or between every point; false when it holds one address. */
  private split(block: ReadBlock): boolean {
    const sorted = [...block.points].sort((a, b) => a.address - b.address);
    const starts = [...new Set(sorted.map((p) => p.address))];
    if (starts.length <= 1) return false;
    this.cached = undefined;
    // First split only at gaps (the unimplemented addresses are likely there); if the block had
    // no gaps, split between every point.
    let splitAtGaps = false;
    let end = sorted[0]!.address + sorted[0]!.count;
    for (const p of sorted.slice(1)) {
      if (p.address > end && !this.barriers.has(key(block.table, p.address))) {
        this.barriers.add(key(block.table, p.address));
        splitAtGaps = true;
      }
      end = Math.max(end, p.address + p.count);
    }
    if (!splitAtGaps) for (const a of starts.slice(1)) this.barriers.add(key(block.table, a));
    return true;
  }

  private build(): ReadBlock[] {
    const blocks: ReadBlock[] = [];
    for (const table of TABLE_ORDER) {
      const bits = table === 'coil' || table === 'discrete';
      const limit = bits ? (this.options.maxBits ?? MAX_READ_BITS) : (this.options.maxRegisters ?? MAX_READ_REGISTERS);
      const gap = bits ? this.options.maxGap * 16 : this.options.maxGap;
      const points = this.options.points
        .filter((p) => p.table === table && !this.dropped.has(p.name))
        .sort((a, b) => a.address - b.address || b.count - a.count);
      let current: ReadBlock | undefined;
      for (const p of points) {
        const end = p.address + p.count;
        if (current !== undefined) {
          const curEnd = current.address + current.count;
          const fits = Math.max(curEnd, end) - current.address <= limit;
          const close = p.address - curEnd <= gap;
          // A barrier only separates points that do not share registers already read.
          const barred = p.address >= curEnd && this.barriers.has(key(table, p.address));
          if (fits && close && !barred) {
            current.count = Math.max(curEnd, end) - current.address;
            current.points.push(p);
            continue;
          }
        }
        current = { table, address: p.address, count: p.count, points: [p] };
        blocks.push(current);
      }
    }
    return blocks;
  }
}

/** Identifies a block across plans (for its rest). */
export function blockKey(block: ReadBlock): string {
  return `${block.table}:${block.address}+${block.count}`;
}

function key(table: Table, address: number): string {
  return `${table}:${address}`;
}
