/**
 * Point decoding and encoding: raw registers or bits <-> engineering values.
 *
 * value = raw * scale + offset. Byte order swaps the two bytes inside each register; word
 * order says which register holds the high half of a 32-bit value (big: the first, the
 * Modbus convention; little: the second, "word swapped" as many PLCs and meters do).
 */
import type { PointMeta, PointValue } from '../../src/core/points.js';
import type { ModbusPointConfig, ModbusPointType, Table } from './config.js';

export interface ResolvedPoint {
  name: string;
  table: Table;
  address: number;
  type: ModbusPointType;
  bit: number;
  byteOrder: 'big' | 'little';
  wordOrder: 'big' | 'little';
  scale: number;
  offset: number;
  access: 'r' | 'rw';
  /** 16: always the multiple-write functions (FC16/FC15), even for one register or coil. */
  writeFunction: 6 | 16;
  bitWrite: 'mask' | 'read_modify_write';
  deadband: number;
  /** The declared physical range a read value must be in (`range_check: true`), else undefined. */
  range: { min: number; max: number } | undefined;
  /** Registers (or bits) the point occupies. */
  count: number;
  /** raw value -> label, and back. */
  labels: Map<number, string> | undefined;
  raws: Map<string, number> | undefined;
  meta: PointMeta;
}

const RAW_RANGE: Partial<Record<ModbusPointType, [number, number]>> = {
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};

export function isBitTable(table: Table): boolean {
  return table === 'coil' || table === 'discrete';
}

/** The type a point has when the config does not say: bool for bit tables, uint16 for registers. */
export function pointType(p: Pick<ModbusPointConfig, 'table' | 'type'>): ModbusPointType {
  return p.type ?? (isBitTable(p.table) ? 'bool' : 'uint16');
}

export function registerCount(type: ModbusPointType): number {
  return type === 'int32' || type === 'uint32' || type === 'float32' ? 2 : 1;
}

/** Device-wide settings a point inherits unless it sets its own. */
export interface PointDefaults {
  write_function?: 6 | 16 | undefined;
  bit_write?: 'mask' | 'read_modify_write' | undefined;
}

export function resolvePoint(name: string, p: ModbusPointConfig, defaults: PointDefaults = {}): ResolvedPoint {
  const type = pointType(p);
  const labels = p.enum === undefined ? undefined : new Map(Object.entries(p.enum).map(([k, label]) => [Number(k), label]));
  const raws = labels === undefined ? undefined : new Map([...labels].map(([raw, label]) => [label, raw]));
  const boolean = type === 'bool' || type === 'bit';
  const range = RAW_RANGE[type];
  const exactInt = range !== undefined && Number.isInteger(p.scale) && Number.isInteger(p.offset);
  let min = p.min;
  let max = p.max;
  if (range !== undefined && labels === undefined) {
    // Writes outside what the register can hold are refused before they reach the bus.
    const a = Number((range[0] * p.scale + p.offset).toPrecision(12));
    const b = Number((range[1] * p.scale + p.offset).toPrecision(12));
    min = Math.max(min ?? -Infinity, Math.min(a, b));
    max = Math.min(max ?? Infinity, Math.max(a, b));
  }
  const meta: PointMeta = {
    type: boolean ? 'boolean' : labels !== undefined ? 'enum' : exactInt ? 'integer' : 'number',
    access: p.access,
    unit: p.unit,
    ...(boolean || labels !== undefined ? {} : { min, max }),
    enum: labels === undefined ? undefined : [...labels.values()],
    enum_codes: labels === undefined ? undefined : [...labels.keys()],
    source_type: p.scale === 1 && p.offset === 0 ? type : undefined,
    description: p.description,
  };
  return {
    name,
    table: p.table,
    address: p.address,
    type,
    bit: p.bit ?? 0,
    byteOrder: p.byte_order,
    wordOrder: p.word_order,
    scale: p.scale,
    offset: p.offset,
    access: p.access,
    writeFunction: p.write_function ?? defaults.write_function ?? 6,
    bitWrite: p.bit_write ?? defaults.bit_write ?? 'mask',
    deadband: p.deadband,
    range: p.range_check ? { min: p.min ?? -Infinity, max: p.max ?? Infinity } : undefined,
    count: boolean ? 1 : registerCount(type),
    labels,
    raws,
    meta,
  };
}

function swapBytes(word: number): number {
  return ((word & 0xff) << 8) | ((word >> 8) & 0xff);
}

/** Scratch space for 32-bit conversions; decoding runs for every point of every poll. */
const SCRATCH = Buffer.alloc(4);

/** Decodes a point from the registers starting at `at` (its address within the block read). */
export function decodeRegisters(p: ResolvedPoint, words: readonly number[], at = 0): PointValue {
  const little = p.byteOrder === 'little';
  const w0 = little ? swapBytes(words[at]!) : words[at]!;
  if (p.type === 'bit') return ((w0 >> p.bit) & 1) === 1;
  if (p.type === 'bool') return w0 !== 0;
  let raw: number;
  if (p.count === 1) {
    raw = p.type === 'int16' ? (w0 << 16) >> 16 : w0;
  } else {
    const w1 = little ? swapBytes(words[at + 1]!) : words[at + 1]!;
    SCRATCH.writeUInt16BE(p.wordOrder === 'big' ? w0 : w1, 0);
    SCRATCH.writeUInt16BE(p.wordOrder === 'big' ? w1 : w0, 2);
    raw = p.type === 'int32' ? SCRATCH.readInt32BE(0) : p.type === 'uint32' ? SCRATCH.readUInt32BE(0) : SCRATCH.readFloatBE(0);
    // A float32 has about 7 significant digits; printing more only shows conversion noise.
    if (p.type === 'float32' && Number.isFinite(raw)) raw = Number(raw.toPrecision(7));
  }
  if (p.labels !== undefined) return p.labels.get(raw) ?? `unknown_${raw}`;
  return engineering(p, raw);
}

function engineering(p: ResolvedPoint, raw: number): number {
  if (!Number.isFinite(raw)) return raw;
  const v = raw * p.scale + p.offset;
  // 0.1 * 3 is 0.30000000000000004; round to what the scale can express.
  return p.scale === 1 && Number.isInteger(p.offset) ? v : Number(v.toPrecision(12));
}

export class EncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncodeError';
  }
}

/** Encodes an engineering value into the registers of a register point (not for bit points). */
export function encodeRegisters(p: ResolvedPoint, value: PointValue): number[] {
  let raw: number;
  if (p.raws !== undefined) {
    const r = p.raws.get(String(value));
    if (r === undefined) throw new EncodeError(`${p.name}: ${String(value)} is not one of ${[...p.raws.keys()].join(', ')}`);
    raw = r;
  } else if (p.type === 'bool') {
    raw = value === true ? 1 : 0;
  } else {
    if (typeof value !== 'number') throw new EncodeError(`${p.name}: needs a number`);
    raw = (value - p.offset) / p.scale;
    if (p.type !== 'float32') raw = Math.round(raw);
    const range = RAW_RANGE[p.type];
    if (range !== undefined && (raw < range[0] || raw > range[1])) {
      throw new EncodeError(`${p.name}: ${value} does not fit a ${p.type} register (raw ${raw})`);
    }
  }
  const buf = Buffer.alloc(4);
  let words: number[];
  if (p.count === 1) {
    if (p.type === 'int16') buf.writeInt16BE(raw, 0);
    else buf.writeUInt16BE(raw & 0xffff, 0);
    words = [buf.readUInt16BE(0)];
  } else {
    if (p.type === 'int32') buf.writeInt32BE(raw, 0);
    else if (p.type === 'uint32') buf.writeUInt32BE(raw, 0);
    else buf.writeFloatBE(raw, 0);
    const hi = buf.readUInt16BE(0);
    const lo = buf.readUInt16BE(2);
    words = p.wordOrder === 'big' ? [hi, lo] : [lo, hi];
  }
  return p.byteOrder === 'little' ? words.map(swapBytes) : words;
}

/** FC22 masks that set or clear one bit of a register, honouring the byte order. */
export function bitMasks(p: ResolvedPoint, value: boolean): { and: number; or: number } {
  const bit = 1 << p.bit;
  const and = ~bit & 0xffff;
  const or = value ? bit : 0;
  return p.byteOrder === 'little' ? { and: swapBytes(and), or: swapBytes(or) } : { and, or };
}

/** Sets or clears one bit of a register value, honouring the byte order. */
export function encodeBit(p: ResolvedPoint, current: number, value: boolean): number {
  const logical = p.byteOrder === 'little' ? swapBytes(current) : current;
  const next = value ? logical | (1 << p.bit) : logical & ~(1 << p.bit) & 0xffff;
  return p.byteOrder === 'little' ? swapBytes(next) : next;
}

/**
 * Why a decoded value cannot be used, or undefined when it can: a float that is not a number
 * (NaN, infinite) or, with `range_check`, a value outside the declared physical range.
 */
export function unusableValue(p: ResolvedPoint, value: PointValue): string | undefined {
  if (typeof value !== 'number') return undefined;
  if (!Number.isFinite(value)) return `${p.name}: the unit sent ${value}, not a number`;
  const r = p.range;
  if (r !== undefined && (value < r.min || value > r.max)) return `${p.name}: ${value} is outside its range ${r.min} to ${r.max}`;
  return undefined;
}

/** True when the change from `prev` to `next` is worth publishing under the point's deadband. */
export function beyondDeadband(p: ResolvedPoint, prev: PointValue | undefined, next: PointValue): boolean {
  if (prev === undefined || prev === null) return true;
  if (p.deadband > 0 && typeof prev === 'number' && typeof next === 'number') return Math.abs(next - prev) >= p.deadband;
  return prev !== next;
}
