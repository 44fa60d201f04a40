/**
 * Reads and writes of one block of registers or bits, as typed values with their raw words.
 * Shared by `mgw modbus read`, `write` (its read-back) and `scan` (its probe).
 */
import { CliError, EXIT } from '../exit.js';
import { describeRegister, modiconNumber, type RegisterRef } from './modbus-address.js';
import { decodeValue, hexWord, widthOf, type Layout, type Value, type ValueType } from './modbus-codec.js';
import { encodeWrite, type CommissioningLink, type WriteFunction, type WriteOutcome } from './modbus-link.js';

export interface Row {
  /** 0-based address of the value's first register or bit. */
  address: number;
  /** The same in Modicon numbering (40001 ...). */
  register: string;
  raw: number[];
  hex: string;
  value: Value;
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
  const words = isBits(b.ref) ? b.count : b.count * widthOf(b.type, b.layout);
  const max = isBits(b.ref) ? 2000 : 125;
  if (b.count < 1 || words > max) {
    throw new CliError(`--count ${b.count}: one request moves at most ${max} ${isBits(b.ref) ? 'bits' : 'registers'}${isBits(b.ref) ? '' : ` (${Math.floor(max / widthOf(b.type, b.layout))} ${b.type} values)`}`, EXIT.usage);
  }
  if (b.ref.address + words - 1 > 65535) throw new CliError(`${describeRegister(b.ref)} + ${words}: runs past the last address 65535`, EXIT.usage);
}

export function describeBlock(b: BlockRequest): string {
  const words = isBits(b.ref) ? b.count : b.count * widthOf(b.type, b.layout);
  return `a read of ${words} ${isBits(b.ref) ? 'bit' : 'register'}${words === 1 ? '' : 's'} from ${describeRegister(b.ref)}`;
}

export async function readBlock(link: CommissioningLink, b: BlockRequest, tries?: number): Promise<Row[]> {
  const { address, table } = b.ref;
  const what = describeBlock(b);
  if (isBits(b.ref)) {
    const res = (await link.read(b.unit, table, address, b.count, what, tries)) as boolean[];
    return res.slice(0, b.count).map((bit, i) => ({
      address: address + i,
      register: modiconNumber(table, address + i),
      raw: [bit ? 1 : 0],
      hex: bit ? '1' : '0',
      value: Boolean(bit),
    }));
  }
  const width = widthOf(b.type, b.layout);
  const res = (await link.read(b.unit, table, address, b.count * width, what, tries)) as number[];
  if (res.length < b.count * width) {
    throw new CliError(`unit ${b.unit} on ${link.label} answered ${res.length} registers to ${what}`, EXIT.protocol);
  }
  return registerRows(b, res);
}

/** Typed rows from the registers of a block (a read, or FC23's read-back). */
export function registerRows(b: BlockRequest, words: number[]): Row[] {
  const { address, table } = b.ref;
  const width = widthOf(b.type, b.layout);
  const rows: Row[] = [];
  for (let i = 0; i < b.count; i++) {
    const raw = words.slice(i * width, (i + 1) * width);
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
  values: Value[];
  function: WriteFunction;
}

/** Writes the values; returns the function code used (and FC23's read-back). */
export async function writeBlock(link: CommissioningLink, w: WriteRequest): Promise<WriteOutcome> {
  const { address, table } = w.ref;
  if (table === 'input' || table === 'discrete') {
    throw new CliError(`${describeRegister(w.ref)} is read-only: Modbus can only write holding registers (4xxxx) and coils (0xxxx)`, EXIT.usage);
  }
  if (w.function === 'read_write' && table !== 'holding') {
    throw new CliError('--read-back-fc23: function 23 writes and reads holding registers only, not coils', EXIT.usage);
  }
  // Refuse what does not fit before anything goes out.
  if (table === 'holding') encodeWrite(w);
  return link.write({ unit: w.unit, table, address, type: w.type, layout: w.layout, values: w.values, function: w.function, what: `a write to ${describeRegister(w.ref)}` });
}
