/**
 * Register numbers as technicians write them. A data sheet says "40001" (Modicon convention:
 * table digit + 1-based number), a protocol trace says "0" (the 0-based PDU address). Both are
 * accepted; the output always says which one was understood, because an off-by-one here reads
 * the wrong register without any error.
 */
import { CliError, EXIT } from '../exit.js';

export type Table = 'holding' | 'input' | 'coil' | 'discrete';

export const TABLES: readonly Table[] = ['holding', 'input', 'coil', 'discrete'];

/** Modicon table digit: 0xxxx coils, 1xxxx discrete inputs, 3xxxx input registers, 4xxxx holding registers. */
const TABLE_DIGIT: Record<string, Table> = { '0': 'coil', '1': 'discrete', '3': 'input', '4': 'holding' };
const DIGIT_OF: Record<Table, string> = { coil: '0', discrete: '1', input: '3', holding: '4' };

export const TABLE_NOUN: Record<Table, string> = {
  holding: 'holding register',
  input: 'input register',
  coil: 'coil',
  discrete: 'discrete input',
};

export interface RegisterRef {
  table: Table;
  /** 0-based PDU address, 0..65535. */
  address: number;
  /** How the user wrote it, for the explanation line. */
  convention: 'zero-based' | 'modicon';
}

/**
 * Parses `--address` against an optional `--table`.
 * - `0`..`9999` or `0x0000`..`0xFFFF`: 0-based address in the given table (default holding).
 * - 5 digits `40001`..`49999` (also `0xxxx`, `1xxxx`, `3xxxx`) or 6 digits `400001`..`465536`:
 *   Modicon numbering; the first digit names the table, the rest is 1-based.
 * To reach a 0-based address of 10000 or more, write it in hex (`0x2710`).
 */
export function parseRegister(text: string, table?: Table): RegisterRef {
  const raw = text.trim();
  const bad = (why: string) => new CliError(`--address ${JSON.stringify(text)}: ${why}`, EXIT.usage);
  if (/^0x[0-9a-f]{1,4}$/i.test(raw)) {
    return { table: table ?? 'holding', address: Number.parseInt(raw.slice(2), 16), convention: 'zero-based' };
  }
  if (!/^\d+$/.test(raw)) throw bad('expected a register number such as 0, 0x10, 40001 or 400001');
  if (raw.length <= 4) return { table: table ?? 'holding', address: Number(raw), convention: 'zero-based' };
  if (raw.length === 5 || raw.length === 6) {
    const named = TABLE_DIGIT[raw[0]!];
    const oneBased = Number(raw.slice(1));
    if (named === undefined) {
      throw bad(`a ${raw.length}-digit number must start with 4 (holding), 3 (input), 1 (discrete) or 0 (coil); for a 0-based address of 10000 or more write it in hex, e.g. 0x${Number(raw).toString(16).toUpperCase()}`);
    }
    if (oneBased < 1 || oneBased > (raw.length === 5 ? 9999 : 65536)) throw bad(`${TABLE_NOUN[named]} numbers run from ${DIGIT_OF[named]}${raw.length === 5 ? '0001' : '00001'} to ${DIGIT_OF[named]}${raw.length === 5 ? '9999' : '65536'}`);
    if (table !== undefined && table !== named) {
      throw bad(`${raw} is a ${TABLE_NOUN[named]} number (leading ${raw[0]}) but --table is ${table}; drop --table or write the 0-based address`);
    }
    return { table: named, address: oneBased - 1, convention: 'modicon' };
  }
  throw bad('register numbers have at most 6 digits (e.g. 465536); use hex for raw addresses');
}

/** "holding register 40001 (0-based address 0)": both numberings, every time. */
export function describeRegister(ref: RegisterRef, offset = 0): string {
  const address = ref.address + offset;
  return `${TABLE_NOUN[ref.table]} ${modiconNumber(ref.table, address)} (0-based address ${address})`;
}

export function modiconNumber(table: Table, address: number): string {
  const n = address + 1;
  return n <= 9999 ? `${DIGIT_OF[table]}${String(n).padStart(4, '0')}` : `${DIGIT_OF[table]}${String(n).padStart(5, '0')}`;
}

export function parseTable(text: string): Table {
  const t = text.toLowerCase().replace(/s$/, '');
  const alias: Record<string, Table> = { holding: 'holding', hr: 'holding', input: 'input', ir: 'input', coil: 'coil', co: 'coil', discrete: 'discrete', di: 'discrete' };
  const table = alias[t];
  if (!table) throw new CliError(`--table ${JSON.stringify(text)}: expected one of holding, input, coil, discrete`, EXIT.usage);
  return table;
}
