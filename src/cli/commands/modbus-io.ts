/**
 * Reads and writes of one block of registers or bits, as typed values with their raw words.
 * Shared by `mgw modbus read`, `write` (its read-back) and `scan` (its probe).
 */
import { CliError, EXIT } from '../exit.js';
import { describeRegister, modiconNumber, type RegisterRef } from './modbus-address.js';
import { decodeValue, encodeValue, hexWord, widthOf, type Layout, type ValueType } from './modbus-codec.js';
import type { ModbusLink } from './modbus-link.js';

export interface Row {
  /** 0-based address of the value's first register or bit. */
  address: number;
  /** The same in Modicon numbering (40001 ...). */
  register: string;
  raw: number[];
  hex: string;
  value: number | boolean;
}

export interface BlockRequest {
  unit: number;
  ref: RegisterRef;
  type: ValueType;
  /** Number of values (not registers). */
  count: number;
  layout: Layout;
}

const isBits = (r: RegisterRef) => r.table === 'coil' || r.table === 'discrete';

/** Checks the request fits the protocol (125 registers / 2000 bits per read, 16-bit addresses). */
export function checkBlock(b: BlockRequest): void {
  if (isBits(b.ref) && b.type !== 'bool') {
    throw new CliError(`--type ${b.type}: ${b.ref.table === 'coil' ? 'coils' : 'discrete inputs'} are single bits; use --type bool (the default for this table)`, EXIT.usage);
  }
  const words = isBits(b.ref) ? b.count : b.count * widthOf(b.type);
  const max = isBits(b.ref) ? 2000 : 125;
  if (b.count < 1 || words > max) {
    throw new CliError(`--count ${b.count}: one request moves at most ${max} ${isBits(b.ref) ? 'bits' : 'registers'}${isBits(b.ref) ? '' : ` (${Math.floor(max / widthOf(b.type))} ${b.type} values)`}`, EXIT.usage);
  }
  if (b.ref.address + words - 1 > 65535) throw new CliError(`${describeRegister(b.ref)} + ${words}: runs past the last address 65535`, EXIT.usage);
}

export function describeBlock(b: BlockRequest): string {
  const words = isBits(b.ref) ? b.count : b.count * widthOf(b.type);
  return `a read of ${words} ${isBits(b.ref) ? 'bit' : 'register'}${words === 1 ? '' : 's'} from ${describeRegister(b.ref)}`;
}

export async function readBlock(link: ModbusLink, b: BlockRequest, tries?: number): Promise<Row[]> {
  const { address, table } = b.ref;
  const what = describeBlock(b);
  if (isBits(b.ref)) {
    const res = await link.request(b.unit, what, (c, signal) => c.readBits(b.unit, table === 'coil' ? 1 : 2, address, b.count, signal), tries);
    return res.slice(0, b.count).map((bit, i) => ({
      address: address + i,
      register: modiconNumber(table, address + i),
      raw: [bit ? 1 : 0],
      hex: bit ? '1' : '0',
      value: Boolean(bit),
    }));
  }
  const width = widthOf(b.type);
  const res = await link.request(b.unit, what, (c, signal) => c.readRegisters(b.unit, table === 'holding' ? 3 : 4, address, b.count * width, signal), tries);
  if (res.length < b.count * width) {
    throw new CliError(`unit ${b.unit} on ${link.label} answered ${res.length} registers to ${what}`, EXIT.protocol);
  }
  const rows: Row[] = [];
  for (let i = 0; i < b.count; i++) {
    const raw = res.slice(i * width, (i + 1) * width);
    rows.push({
      address: address + i * width,
      register: modiconNumber(table, address + i * width),
      raw,
      hex: raw.map(hexWord).join(' '),
      value: decodeValue(raw, b.type, b.layout),
    });
  }
  return rows;
}

export interface WriteRequest extends Omit<BlockRequest, 'count'> {
  values: (number | boolean)[];
  /** Use "write multiple" (FC 15/16) even for one value: some devices only implement those. */
  multiple: boolean;
}

/** Writes the values; returns the function code used. */
export async function writeBlock(link: ModbusLink, w: WriteRequest): Promise<number> {
  const { address, table } = w.ref;
  if (table === 'input' || table === 'discrete') {
    throw new CliError(`${describeRegister(w.ref)} is read-only: Modbus can only write holding registers (4xxxx) and coils (0xxxx)`, EXIT.usage);
  }
  const what = `a write to ${describeRegister(w.ref)}`;
  if (table === 'coil') {
    const bits = w.values.map((v) => Boolean(v));
    if (bits.length === 1 && !w.multiple) {
      await link.request(w.unit, what, (c, signal) => c.writeCoil(w.unit, address, bits[0]!, signal));
      return 5;
    }
    await link.request(w.unit, what, (c, signal) => c.writeCoils(w.unit, address, bits, signal));
    return 15;
  }
  const words = w.values.flatMap((v) => encodeValue(v, w.type, w.layout));
  if (words.length > 123) throw new CliError(`${w.values.length} values: one write moves at most 123 registers`, EXIT.usage);
  if (words.length === 1 && !w.multiple) {
    await link.request(w.unit, what, (c, signal) => c.writeRegister(w.unit, address, words[0]!, signal));
    return 6;
  }
  await link.request(w.unit, what, (c, signal) => c.writeRegisters(w.unit, address, words, signal));
  return 16;
}
