/**
 * Register words <-> typed values for `mgw modbus`. Byte order is the order of the two bytes
 * inside each 16-bit register; word order is the order of the registers in a 32-bit value.
 * Modbus itself is big-endian in both (ABCD); many devices swap words (CDAB), a few swap bytes.
 */
import { CliError, EXIT } from '../exit.js';

export type ValueType = 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'bool';
export type Order = 'big' | 'little';

export const VALUE_TYPES: readonly ValueType[] = ['int16', 'uint16', 'int32', 'uint32', 'float32', 'bool'];

export interface Layout {
  byteOrder: Order;
  wordOrder: Order;
}

/** Registers per value. */
export function widthOf(type: ValueType): number {
  return type === 'int32' || type === 'uint32' || type === 'float32' ? 2 : 1;
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

/** The value's bytes in natural (big-endian) order, from the registers as they came off the wire. */
function toBytes(words: number[], l: Layout): Buffer {
  const ordered = l.wordOrder === 'big' ? words : [...words].reverse();
  const buf = Buffer.alloc(ordered.length * 2);
  ordered.forEach((w, i) => {
    const v = l.byteOrder === 'big' ? w : ((w & 0xff) << 8) | (w >> 8);
    buf.writeUInt16BE(v & 0xffff, i * 2);
  });
  return buf;
}

function fromBytes(buf: Buffer, l: Layout): number[] {
  const words: number[] = [];
  for (let i = 0; i < buf.length; i += 2) {
    const w = buf.readUInt16BE(i);
    words.push(l.byteOrder === 'big' ? w : ((w & 0xff) << 8) | (w >> 8));
  }
  return l.wordOrder === 'big' ? words : words.reverse();
}

export function decodeValue(words: number[], type: ValueType, l: Layout): number | boolean {
  const b = toBytes(words, l);
  switch (type) {
    case 'int16':
      return b.readInt16BE(0);
    case 'uint16':
      return b.readUInt16BE(0);
    case 'int32':
      return b.readInt32BE(0);
    case 'uint32':
      return b.readUInt32BE(0);
    case 'float32':
      return Number(b.readFloatBE(0).toPrecision(7));
    case 'bool':
      return b.readUInt16BE(0) !== 0;
  }
}

const RANGE: Record<Exclude<ValueType, 'float32' | 'bool'>, [number, number]> = {
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};

/** Parses one value given on the command line for `type`; throws a usage error saying why. */
export function parseValue(text: string, type: ValueType): number | boolean {
  if (type === 'bool') {
    const t = text.toLowerCase();
    if (['1', 'true', 'on'].includes(t)) return true;
    if (['0', 'false', 'off'].includes(t)) return false;
    throw new CliError(`value ${JSON.stringify(text)}: a bool is 1/0, true/false or on/off`, EXIT.usage);
  }
  const n = /^[-+]?0x[0-9a-f]+$/i.test(text) ? Number.parseInt(text, 16) : Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new CliError(`value ${JSON.stringify(text)}: not a number`, EXIT.usage);
  if (type === 'float32') return n;
  if (!Number.isInteger(n)) throw new CliError(`value ${JSON.stringify(text)}: ${type} takes whole numbers`, EXIT.usage);
  const [lo, hi] = RANGE[type];
  if (n < lo || n > hi) throw new CliError(`value ${text}: out of range for ${type} (${lo}..${hi})`, EXIT.usage);
  return n;
}

export function encodeValue(value: number | boolean, type: ValueType, l: Layout): number[] {
  const b = Buffer.alloc(widthOf(type) * 2);
  const n = typeof value === 'boolean' ? (value ? 1 : 0) : value;
  switch (type) {
    case 'int16':
      b.writeInt16BE(n);
      break;
    case 'uint16':
    case 'bool':
      b.writeUInt16BE(n);
      break;
    case 'int32':
      b.writeInt32BE(n);
      break;
    case 'uint32':
      b.writeUInt32BE(n);
      break;
    case 'float32':
      b.writeFloatBE(n);
      break;
  }
  return fromBytes(b, l);
}

export function hexWord(w: number): string {
  return `0x${w.toString(16).toUpperCase().padStart(4, '0')}`;
}
