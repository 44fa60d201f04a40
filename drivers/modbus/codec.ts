/**
 * Point decoding and encoding: raw registers or bits <-> engineering values.
 *
 * value = raw * scale + offset. Byte order swaps the two bytes inside each register; word
 * order says which register holds the high part of a value over several registers (big: the
 * first, the Modbus convention; little: the last, "word swapped" as many PLCs and meters do).
 * A `bit`, an int8/uint8 byte or a `bits:` field is part of one register (a field).
 */
import type { PointMeta, PointValue } from '../../src/core/points.js';
import type { ModbusPointConfig, ModbusPointType, Table } from './config.js';
import { bytesToWords, fromAscii, fromBcd, swapBytes, toAscii, toBcd, wordsToBytes, type Trim } from './words.js';

export interface ResolvedPoint {
  name: string;
  table: Table;
  address: number;
  type: ModbusPointType;
  bit: number;
  /** The bits of the (byte-order corrected) register a bit, byte or bits: point occupies. */
  field: { lo: number; width: number } | undefined;
  byteOrder: 'big' | 'little';
  wordOrder: 'big' | 'little';
  /** For type string: characters, and how they are trimmed. */
  length: number;
  trim: Trim;
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

/** Beyond 2^53 a JavaScript number cannot hold every integer: 64-bit writes stay inside. */
const SAFE = Number.MAX_SAFE_INTEGER;

const RAW_RANGE: Partial<Record<ModbusPointType, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  int64: [-SAFE, SAFE],
  uint64: [0, SAFE],
  bcd16: [0, 9999],
  bcd32: [0, 99_999_999],
};

const SOURCE_TYPES = ['bool', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'bit'] as const;

function isSourceType(type: ModbusPointType): type is (typeof SOURCE_TYPES)[number] {
  return (SOURCE_TYPES as readonly string[]).includes(type);
}

export function isBitTable(table: Table): boolean {
  return table === 'coil' || table === 'discrete';
}

/** The type a point has when the config does not say: bool for bit tables, uint16 for registers. */
export function pointType(p: Pick<ModbusPointConfig, 'table' | 'type'>): ModbusPointType {
  return p.type ?? (isBitTable(p.table) ? 'bool' : 'uint16');
}

/** Registers a point of this type occupies (`length`: a string's characters). */
export function registerCount(type: ModbusPointType, length = 0): number {
  switch (type) {
    case 'int32':
    case 'uint32':
    case 'float32':
    case 'bcd32':
      return 2;
    case 'int64':
    case 'uint64':
    case 'float64':
      return 4;
    case 'string':
      return Math.max(1, Math.ceil(length / 2));
    default:
      return 1;
  }
}

/**
 * Digits a scaled register value is known to: those of its scale and offset (x0.1 gives one,
 * x0.01 two, x0.25 two). A float register (or a string) has no fixed resolution: none is claimed.
 */
export function resolutionDecimals(type: ModbusPointType, scale: number, offset: number): number | undefined {
  if (type === 'float32' || type === 'float64' || type === 'string') return undefined;
  return Math.max(fractionDigits(scale), fractionDigits(offset));
}

function fractionDigits(n: number): number {
  const text = String(Number(n.toPrecision(12)));
  const exp = /e-(\d+)$/.exec(text);
  if (exp !== null) return Math.min(12, Number(exp[1]) + (text.split('e')[0]!.split('.')[1]?.length ?? 0));
  return Math.min(12, text.split('.')[1]?.length ?? 0);
}

/** `bits: 4-7` as low bit and width. */
export function parseBits(bits: string): { lo: number; width: number } {
  const [a, b] = bits.split('-').map(Number) as [number, number];
  return { lo: Math.min(a, b), width: Math.abs(b - a) + 1 };
}

/** The field of its register a point occupies, or undefined when it takes whole registers. */
export function pointField(p: Pick<ModbusPointConfig, 'type' | 'bit' | 'bits' | 'byte'>, type: ModbusPointType): { lo: number; width: number } | undefined {
  if (type === 'bit') return { lo: p.bit ?? 0, width: 1 };
  if (type === 'int8' || type === 'uint8') return { lo: p.byte === 'low' ? 0 : 8, width: 8 };
  if (p.bits !== undefined) return parseBits(p.bits);
  return undefined;
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
  const text = type === 'string';
  const field = pointField(p, type);
  const range = p.bits !== undefined && field !== undefined ? ([0, 2 ** field.width - 1] as [number, number]) : RAW_RANGE[type];
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
    type: boolean ? 'boolean' : text ? 'string' : labels !== undefined ? 'enum' : exactInt ? 'integer' : 'number',
    access: p.access,
    unit: p.unit,
    ...(boolean || text || labels !== undefined ? {} : { min, max }),
    enum: labels === undefined ? undefined : [...labels.values()],
    enum_codes: labels === undefined ? undefined : [...labels.keys()],
    // Northbound names these as their own datatypes; the wider ones are typed by their range.
    source_type: p.scale === 1 && p.offset === 0 && isSourceType(type) ? type : undefined,
    description: p.description,
    ...(p.confirm === undefined ? {} : { confirm: p.confirm }),
    decimals: boolean || text || labels !== undefined ? undefined : (p.decimals ?? resolutionDecimals(type, p.scale, p.offset)),
  };
  return {
    name,
    table: p.table,
    address: p.address,
    type,
    bit: p.bit ?? 0,
    field,
    // A byte of a register is named by `byte:`; swapping bytes as well would only confuse.
    byteOrder: type === 'int8' || type === 'uint8' ? 'big' : p.byte_order,
    wordOrder: p.word_order,
    length: p.length ?? 0,
    trim: p.trim ?? 'right',
    scale: p.scale,
    offset: p.offset,
    access: p.access,
    writeFunction: p.write_function ?? defaults.write_function ?? 6,
    bitWrite: p.bit_write ?? defaults.bit_write ?? 'mask',
    deadband: p.deadband,
    range: p.range_check ? { min: p.min ?? -Infinity, max: p.max ?? Infinity } : undefined,
    count: boolean ? 1 : registerCount(type, p.length),
    labels,
    raws,
    meta,
  };
}

/** The raw number a point's registers hold (before scale, offset and labels); NaN for bad BCD. */
function rawNumber(p: ResolvedPoint, words: readonly number[], at: number): number {
  if (p.field !== undefined) {
    const w = p.byteOrder === 'little' ? swapBytes(words[at]!) : words[at]!;
    const v = (w >> p.field.lo) & ((1 << p.field.width) - 1);
    return p.type === 'int8' ? (v << 24) >> 24 : v;
  }
  const buf = wordsToBytes(words, at, p.count, p.byteOrder, p.wordOrder);
  switch (p.type) {
    case 'int16':
      return buf.readInt16BE(0);
    case 'int32':
      return buf.readInt32BE(0);
    case 'uint32':
      return buf.readUInt32BE(0);
    case 'float32': {
      // A float32 has about 7 significant digits; printing more only shows conversion noise.
      const f = buf.readFloatBE(0);
      return Number.isFinite(f) ? Number(f.toPrecision(7)) : f;
    }
    case 'int64':
      return Number(buf.readBigInt64BE(0));
    case 'uint64':
      return Number(buf.readBigUInt64BE(0));
    case 'float64':
      return buf.readDoubleBE(0);
    case 'bcd16':
    case 'bcd32':
      return fromBcd(buf);
    default:
      return buf.readUInt16BE(0);
  }
}

/** Decodes a point from the registers starting at `at` (its address within the block read). */
export function decodeRegisters(p: ResolvedPoint, words: readonly number[], at = 0): PointValue {
  if (p.type === 'bit') return rawNumber(p, words, at) === 1;
  if (p.type === 'bool') return (p.byteOrder === 'little' ? swapBytes(words[at]!) : words[at]!) !== 0;
  if (p.type === 'string') return fromAscii(wordsToBytes(words, at, p.count, p.byteOrder, 'big'), p.length, p.trim);
  const raw = rawNumber(p, words, at);
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

/** The raw number an engineering value stands for; throws EncodeError when it does not fit. */
function rawOf(p: ResolvedPoint, value: PointValue): number {
  if (p.raws !== undefined) {
    const r = p.raws.get(String(value));
    if (r === undefined) throw new EncodeError(`${p.name}: ${String(value)} is not one of ${[...p.raws.keys()].join(', ')}`);
    return r;
  }
  if (p.type === 'bool' || p.type === 'bit') return value === true ? 1 : 0;
  if (typeof value !== 'number') throw new EncodeError(`${p.name}: needs a number`);
  let raw = (value - p.offset) / p.scale;
  if (p.type !== 'float32' && p.type !== 'float64') raw = Math.round(raw);
  const bitsField = p.type === 'uint16' && p.field !== undefined ? p.field.width : undefined;
  const range = bitsField !== undefined ? [0, 2 ** bitsField - 1] : RAW_RANGE[p.type];
  if (range !== undefined && (raw < range[0]! || raw > range[1]!)) {
    throw new EncodeError(`${p.name}: ${value} does not fit a ${bitsField !== undefined ? `${bitsField}-bit field` : `${p.type} register`} (raw ${raw})`);
  }
  return raw;
}

/** Encodes an engineering value into the registers of a point that takes whole registers. */
export function encodeRegisters(p: ResolvedPoint, value: PointValue): number[] {
  if (p.type === 'string') {
    if (typeof value !== 'string') throw new EncodeError(`${p.name}: needs a string`);
    const buf = toAscii(value, p.length, p.count);
    if (buf === undefined) throw new EncodeError(`${p.name}: needs printable ASCII of at most ${p.length} characters`);
    return bytesToWords(buf, p.byteOrder, 'big');
  }
  const raw = rawOf(p, value);
  const buf = Buffer.alloc(2 * p.count);
  switch (p.type) {
    case 'int16':
      buf.writeInt16BE(raw, 0);
      break;
    case 'int32':
      buf.writeInt32BE(raw, 0);
      break;
    case 'uint32':
      buf.writeUInt32BE(raw, 0);
      break;
    case 'float32':
      buf.writeFloatBE(raw, 0);
      break;
    case 'int64':
      buf.writeBigInt64BE(BigInt(raw), 0);
      break;
    case 'uint64':
      buf.writeBigUInt64BE(BigInt(raw), 0);
      break;
    case 'float64':
      buf.writeDoubleBE(raw, 0);
      break;
    case 'bcd16':
    case 'bcd32':
      toBcd(raw, 2 * p.count).copy(buf);
      break;
    default:
      buf.writeUInt16BE(raw & 0xffff, 0);
  }
  return bytesToWords(buf, p.byteOrder, p.wordOrder);
}

/**
 * FC22 masks that set a bit, byte or bits: field of a register to `value`, honouring the byte
 * order: the unit computes (current AND and) OR (or AND NOT and).
 */
export function fieldMasks(p: ResolvedPoint, value: PointValue): { and: number; or: number } {
  const f = p.field!;
  const mask = (((1 << f.width) - 1) << f.lo) & 0xffff;
  const and = ~mask & 0xffff;
  const or = ((rawOf(p, value) & ((1 << f.width) - 1)) << f.lo) & 0xffff;
  return p.byteOrder === 'little' ? { and: swapBytes(and), or: swapBytes(or) } : { and, or };
}

/** The register value `current` with the point's field set to `value` (read-modify-write). */
export function encodeField(p: ResolvedPoint, current: number, value: PointValue): number {
  const { and, or } = fieldMasks(p, value);
  return (current & and) | or;
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
