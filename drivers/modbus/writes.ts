/**
 * Groups the points of one control write into as few Modbus writes as possible: adjacent coils
 * into one FC15, adjacent holding registers into one FC16 (a lone coil is FC5, a lone register
 * FC6, unless the point asks for `write_function: 16`). Only points that touch are merged:
 * writing across a gap would overwrite registers the client did not ask to change. A bit, byte or
 * bits: field of a register is never merged: it is written alone (FC22 mask write, or read-modify-write).
 */
import type { PointValue } from '../../src/core/points.js';
import type { ResolvedPoint } from './codec.js';

/** Protocol limits per request (Modbus Application Protocol 6.11, 6.12). */
export const MAX_WRITE_COILS = 1968;
export const MAX_WRITE_REGISTERS = 123;

export interface WriteItem {
  point: ResolvedPoint;
  value: PointValue;
}

export type WriteGroup = { kind: 'coils' | 'registers'; address: number; count: number; items: WriteItem[] } | { kind: 'field'; items: [WriteItem] };

export function groupWrites(items: WriteItem[]): WriteGroup[] {
  const groups: WriteGroup[] = [];
  const sorted = [...items].sort((a, b) => (a.point.table === b.point.table ? a.point.address - b.point.address : a.point.table < b.point.table ? -1 : 1));
  let current: Extract<WriteGroup, { kind: 'coils' | 'registers' }> | undefined;
  for (const item of sorted) {
    const p = item.point;
    if (p.field !== undefined) {
      groups.push({ kind: 'field', items: [item] });
      current = undefined;
      continue;
    }
    const kind = p.table === 'coil' ? 'coils' : 'registers';
    const limit = kind === 'coils' ? MAX_WRITE_COILS : MAX_WRITE_REGISTERS;
    if (current !== undefined && current.kind === kind && p.address === current.address + current.count && current.count + p.count <= limit) {
      current.count += p.count;
      current.items.push(item);
      continue;
    }
    current = { kind, address: p.address, count: p.count, items: [item] };
    groups.push(current);
  }
  return groups;
}
