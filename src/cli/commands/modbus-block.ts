/**
 * What `mgw modbus read` and `write` share: the block options (--address, --table, --type, the
 * orders, --length), and how a block is shown (header line, table, JSON).
 */
import type { Command } from 'commander';
import { CliError, EXIT } from '../exit.js';
import { table } from '../output.js';
import { describeRegister, parseRegister, parseTable, TABLE_NOUN } from './modbus-address.js';
import { layoutName, parseOrder, parseType, widthOf, type Layout, type Value, type ValueType } from './modbus-codec.js';
import type { BlockRequest, Row } from './modbus-io.js';
import { intOption, parseUnit, type RawLinkFlags, type Target } from './modbus-options.js';

export interface BlockFlags extends RawLinkFlags {
  unit: string;
  table?: string;
  address: string;
  type?: string;
  byteOrder: string;
  wordOrder: string;
  length?: string;
}

export function addBlockOptions(cmd: Command): Command {
  return cmd
    .option('-a, --address <register>', 'first register: 0-based (0, 0x10) or 40001-style', '0')
    .option('--table <table>', 'holding, input, coil or discrete (implied by 40001-style numbers; default holding)')
    .option('-T, --type <type>', 'int16, uint16, int32, uint32, float32, int64, uint64, float64, bcd16, bcd32, string or bool (default uint16; bool for coils)')
    .option('--length <chars>', 'with --type string: characters per string (two to a register), as a point\'s length:')
    .option('--byte-order <order>', 'bytes inside each register: big (standard) or little (swapped)', 'big')
    .option('--word-order <order>', 'registers of a 32- or 64-bit value: big (high word first, standard) or little', 'big');
}

export function parseBlock(f: BlockFlags, target: Target, count: number): BlockRequest {
  const unit = parseUnit(f.unit, target);
  const ref = parseRegister(f.address, f.table === undefined ? undefined : parseTable(f.table));
  const bits = ref.table === 'coil' || ref.table === 'discrete';
  const type: ValueType = f.type === undefined ? (bits ? 'bool' : 'uint16') : parseType(f.type);
  if (type === 'string' && f.length === undefined) throw new CliError('--type string needs --length <chars>: how many characters each string has (two to a register)', EXIT.usage);
  if (type !== 'string' && f.length !== undefined) throw new CliError(`--length is for --type string, not ${type}`, EXIT.usage);
  const layout: Layout = {
    byteOrder: parseOrder('--byte-order', f.byteOrder),
    wordOrder: parseOrder('--word-order', f.wordOrder),
    ...(f.length === undefined ? {} : { length: intOption('--length', f.length, 1, 240, 'characters') }),
  };
  return { unit, ref, type, count, layout };
}

/** "2 x int32 ABCD", "1 x string of 10 chars", with the byte swap of a one-register type. */
export function typeText(b: Pick<BlockRequest, 'type' | 'layout'>): string {
  if (b.type === 'string') return `string of ${b.layout.length} chars${b.layout.byteOrder === 'little' ? ' byte-swapped' : ''}`;
  if (widthOf(b.type, b.layout) > 1) return `${b.type} ${layoutName(b.layout)}`;
  return b.type !== 'bool' && b.layout.byteOrder === 'little' ? `${b.type} byte-swapped` : b.type;
}

export function header(b: BlockRequest, label: string): string {
  return `unit ${b.unit} on ${label}: ${b.count} x ${typeText(b)} from ${describeRegister(b.ref)}`;
}

export function rowsTable(b: BlockRequest, rows: Row[]): string {
  const noun = TABLE_NOUN[b.ref.table].toUpperCase().replace(' ', '_');
  return table([noun, 'ADDRESS', 'HEX', 'VALUE'], rows.map((r) => [r.register, String(r.address), r.hex, b.type === 'string' ? JSON.stringify(r.value) : String(r.value)]));
}

export function readJson(b: BlockRequest, label: string, rows: Row[]) {
  return {
    link: label,
    unit: b.unit,
    table: b.ref.table,
    type: b.type,
    byte_order: b.layout.byteOrder,
    word_order: b.layout.wordOrder,
    ...(b.type === 'string' ? { length: b.layout.length } : {}),
    values: rows.map((r) => ({ address: r.address, register: r.register, raw: r.raw, hex: r.hex, value: r.value })),
  };
}

export function sameValue(a: Value, b: Value, type: ValueType): boolean {
  if ((type === 'float32' || type === 'float64') && typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) <= Math.abs(b) * 1e-6;
  if (type === 'bool') return Boolean(a) === Boolean(b);
  return a === b;
}
