/**
 * Register words <-> typed values for `mgw modbus`. Byte order is the order of the two bytes
 * inside each 16-bit register; word order is the order of the registers in a 32- or 64-bit value.
 * Modbus itself is big-endian in both (ABCD); many devices swap words (CDAB), a few swap bytes.
 */
import { decodeRegisters, encodeRegisters, registerCount, resolvePoint } from '../../../drivers/modbus/codec.js';
import { CliError, EXIT } from '../exit.js';

export type ValueType = 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'int64' | 'uint64' | 'float64' | 'bcd16' | 'bcd32' | 'string' | 'bool';
export type Order = 'big' | 'little';

export const VALUE_TYPES: readonly ValueType[] = ['int16', 'uint16', 'int32', 'uint32', 'float32', 'int64', 'uint64', 'float64', 'bcd16', 'bcd32', 'string', 'bool'];

export interface Layout {
  byteOrder: Order;
  wordOrder: Order;
  /** For type string: characters per value (two to a register), as a point's `length:`. */
  length?: number | undefined;
}

/** A value as read or written: a number, a bit, or the text of a string register block. */
export type Value = number | boolean | string;

/** Registers per value. */
export function widthOf(type: ValueType, l?: Layout): number {
  return type === 'bool' ? 1 : registerCount(type, l?.length ?? 0);
}

export function parseType(text: string): ValueType {
  const t = text.toLowerCase() as ValueType;
  if (!VALUE_TYPES.includes(t)) throw new CliError(`--type ${JSON.stringify(text)}: expected one of ${VALUE_TYPES.join(', ')}`, EXIT.usage);
  return t;
}

export function parseOrder(option: string, text: string): Order {
  const t = text.toLowerCase();
  if (t === 'big' || t === 'msb' || t === 'be') return 'big';
  if (t === 'little' || t === 'lsb' || t === 'le' || t === 'swap' || t === 'swapped') return 'little';
  throw new CliError(`${option} ${JSON.stringify(text)}: expected big (Modbus standard, most significant first) or little (swapped)`, EXIT.usage);
}

/** ABCD / CDAB / BADC / DCBA: the name data sheets use. */
export function layoutName(l: Layout): string {
  if (l.wordOrder === 'big') return l.byteOrder === 'big' ? 'ABCD' : 'BADC';
  return l.byteOrder === 'big' ? 'CDAB' : 'DCBA';
}

/**
 * The daemon's own point codec, so what `mgw modbus read` shows is what the gateway will publish
 * for a point configured with the same table, type and orders.
 */
function point(type: ValueType, l: Layout) {
  const text = type === 'string' ? { length: l.length ?? 2, trim: 'right' as const } : {};
  return resolvePoint('value', { table: 'holding', address: 0, type, byte_order: l.byteOrder, word_order: l.wordOrder, scale: 1, offset: 0, access: 'rw', deadband: 0, ...text });
}

export function decodeValue(words: number[], type: ValueType, l: Layout): Value {
  return decodeRegisters(point(type, l), words) as Value;
}

const RANGE: Record<Exclude<ValueType, 'float32' | 'float64' | 'bool' | 'string'>, [number, number]> = {
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  int64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
  bcd16: [0, 9999],
  bcd32: [0, 99_999_999],
};

/** Parses one value given on the command line for `type`; throws a usage error saying why. */
export function parseValue(text: string, type: ValueType, l?: Layout): Value {
  if (type === 'string') {
    const max = l?.length ?? 0;
    if (!/^[\x20-\x7e]*$/.test(text)) throw new CliError(`value ${JSON.stringify(text)}: a string register holds printable ASCII only`, EXIT.usage);
    if (text.length > max) throw new CliError(`value ${JSON.stringify(text)}: ${text.length} characters, more than --length ${max}`, EXIT.usage);
    return text;
  }
  if (type === 'bool') {
    const t = text.toLowerCase();
    if (['1', 'true', 'on'].includes(t)) return true;
    if (['0', 'false', 'off'].includes(t)) return false;
    throw new CliError(`value ${JSON.stringify(text)}: a bool is 1/0, true/false or on/off`, EXIT.usage);
  }
  const n = /^[-+]?0x[0-9a-f]+$/i.test(text) ? Number.parseInt(text, 16) : Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new CliError(`value ${JSON.stringify(text)}: not a number`, EXIT.usage);
  if (type === 'float32' || type === 'float64') return n;
  if (!Number.isInteger(n)) throw new CliError(`value ${JSON.stringify(text)}: ${type} takes whole numbers`, EXIT.usage);
  const [lo, hi] = RANGE[type];
  if (n < lo || n > hi) throw new CliError(`value ${text}: out of range for ${type} (${lo}..${hi})`, EXIT.usage);
  return n;
}

export function encodeValue(value: Value, type: ValueType, l: Layout): number[] {
  return encodeRegisters(point(type, l), value);
}

export function hexWord(w: number): string {
  return `0x${w.toString(16).toUpperCase().padStart(4, '0')}`;
}
