/**
 * `mgw modbus read|write|scan`: commissioning a bus without the daemon (stop it first on a
 * serial line: only one program can own the port).
 */
import type { Command } from 'commander';
import { CliError, EXIT } from '../exit.js';
import { dim, print, table } from '../output.js';
import type { GlobalOptions } from '../main.js';
import { describeRegister, parseRegister, parseTable, TABLE_NOUN, type RegisterRef } from './modbus-address.js';
import { layoutName, parseOrder, parseType, parseValue, widthOf, type Layout, type ValueType } from './modbus-codec.js';
import { describeLink, ModbusLink, type LinkOptions } from './modbus-link.js';
import { addLinkOptions, intOption, parseLink, parseUnit, type RawLinkFlags } from './modbus-options.js';
import { checkBlock, readBlock, writeBlock, type BlockRequest, type Row } from './modbus-io.js';
import { ProgressBar, scanRow, scanUnits, type ScanHit } from './modbus-scan.js';

interface BlockFlags extends RawLinkFlags {
  unit: string;
  table?: string;
  address: string;
  type?: string;
  byteOrder: string;
  wordOrder: string;
}

export function registerModbusCommands(program: Command, globals: () => GlobalOptions): void {
  const modbus = program
    .command('modbus')
    .description('talk to Modbus units directly (no daemon needed): read, write, scan, info')
    .addHelpText(
      'after',
      `
Register numbers: 0-based addresses (0, 17, 0x11) or the data-sheet numbering where the first
digit names the table: 40001 = holding register at 0-based address 0, 30001 = input register,
10001 = discrete input, 00001 = coil (6-digit 400001 also works). Output shows both.

Stop the gateway first when it uses the same serial port: only one program can own a line.

Exit status: 0 ok, 64 bad arguments, 69 port or host not reachable, 75 no answer from the
unit (after --tries), 76 the unit answered with a Modbus exception, 77 no permission on the port.`,
    );

  const read = modbus
    .command('read')
    .description('read registers or bits and show hex and decoded values side by side')
    .option('-u, --unit <id>', 'unit id (slave address) 1-247', '1');
  addBlockOptions(addLinkOptions(read, { timeoutMs: 300, tries: 3 }))
    .option('-c, --count <n>', 'number of values to read (of --type)', '1')
    .option('-w, --watch <ms>', 'read again every <ms> milliseconds until Ctrl-C')
    .option('--samples <n>', 'with --watch: stop after n reads')
    .action(async (f: BlockFlags & { count: string; watch?: string; samples?: string }) => {
      const g = globals();
      const link = parseLink(f);
      const block = parseBlock(f, link, intOption('--count', f.count, 1, 2000));
      checkBlock(block);
      const watchMs = f.watch === undefined ? undefined : intOption('--watch', f.watch, 10, 3_600_000, 'ms');
      const samples = f.samples === undefined ? undefined : intOption('--samples', f.samples, 1, 1_000_000);
      const conn = new ModbusLink(link);
      await conn.start();
      try {
        if (watchMs === undefined) {
          const rows = await readBlock(conn, block);
          print(g.json ? JSON.stringify(readJson(block, link, rows)) : `${header(block, link)}\n${rowsTable(block, rows)}`);
          return;
        }
        await watchLoop(conn, block, link, g.json, watchMs, samples);
      } finally {
        await conn.stop();
      }
    });

  const write = modbus
    .command('write')
    .description('write values to holding registers or coils, then read them back')
    .argument('<values...>', 'values of --type, e.g. 1500, 21.5, 0x00FF, true; put -- before negative values: -- -3')
    .option('-u, --unit <id>', 'unit id (slave address) 1-247', '1');
  addBlockOptions(addLinkOptions(write, { timeoutMs: 300, tries: 3 }))
    .option('--multiple', 'use "write multiple" (function 15/16) even for one value; some devices only implement those', false)
    .option('--no-verify', 'do not read the values back after writing')
    .action(async (values: string[], f: BlockFlags & { multiple: boolean; verify: boolean }) => {
      const g = globals();
      const link = parseLink(f);
      const block = parseBlock(f, link, values.length);
      if (block.ref.table === 'input' || block.ref.table === 'discrete') {
        throw new CliError(`${describeRegister(block.ref)} is read-only: Modbus writes only holding registers (4xxxx) and coils (0xxxx)`, EXIT.usage);
      }
      checkBlock(block);
      const parsed = values.map((v) => parseValue(v, block.type));
      const conn = new ModbusLink(link);
      await conn.start();
      try {
        const fc = await writeBlock(conn, { ...block, values: parsed, multiple: f.multiple });
        const back = f.verify ? await readBlock(conn, block) : undefined;
        const mismatch = back?.some((r, i) => !sameValue(r.value, parsed[i]!, block.type)) ?? false;
        if (g.json) {
          print(JSON.stringify({ ...readJson(block, link, back ?? []), written: parsed, function_code: fc, verified: back !== undefined && !mismatch }));
        } else {
          print(`wrote ${parsed.join(', ')} (${block.type}${widthOf(block.type) > 1 ? ` ${layoutName(block.layout)}` : ''}) to ${describeRegister(block.ref)} on unit ${block.unit} at ${describeLink(link)} with function ${fc}`);
          if (back) print(`read back:\n${rowsTable(block, back)}`);
        }
        if (mismatch) process.stderr.write(`mgw: warning: the unit kept other values than written (clamped, scaled, or a write-only register?)\n`);
      } finally {
        await conn.stop();
      }
    });

  const info = modbus
    .command('info')
    .description('read the device identification of a unit (FC43/14): vendor, product code, revision')
    .option('-u, --unit <id>', 'unit id (slave address) 1-247', '1');
  addLinkOptions(info, { timeoutMs: 300, tries: 3 }).action(async (f: RawLinkFlags & { unit: string }) => {
    const g = globals();
    const link = parseLink(f);
    const unit = parseUnit(f.unit, link);
    const conn = new ModbusLink(link);
    await conn.start();
    try {
      const objects = await conn.request(unit, 'a device identification request (FC43/14)', (c, signal) => c.readDeviceIdentification(unit, signal));
      const ident = { vendor: objects[0] ?? null, product_code: objects[1] ?? null, revision: objects[2] ?? null };
      if (g.json) print(JSON.stringify({ link: describeLink(link), unit, ...ident, objects }));
      else {
        print(`unit ${unit} on ${describeLink(link)}:`);
        print(table(['OBJECT', 'VALUE'], [['vendor', ident.vendor ?? '-'], ['product code', ident.product_code ?? '-'], ['revision', ident.revision ?? '-']]));
      }
    } finally {
      await conn.stop();
    }
  });

  const scan = modbus
    .command('scan')
    .description('find which unit ids answer on a line (one probe read per id)')
    .option('--from <id>', 'first unit id', '1')
    .option('--to <id>', 'last unit id', '247')
    .option('-a, --address <register>', 'probe register (40001, 30001, 0 ...)', '40001')
    .option('--table <table>', 'probe table for a 0-based --address: holding, input, coil, discrete');
  addLinkOptions(scan, { timeoutMs: 100, tries: 1 }).action(async (f: RawLinkFlags & { from: string; to: string; address: string; table?: string }) => {
    const g = globals();
    const link = parseLink(f);
    const maxUnit = link.host !== undefined ? 255 : 247;
    const from = intOption('--from', f.from, link.host !== undefined ? 0 : 1, maxUnit);
    const to = intOption('--to', f.to, from, maxUnit);
    const probe = parseRegister(f.address, f.table === undefined ? undefined : parseTable(f.table));
    const conn = new ModbusLink(link);
    await conn.start();
    const bar = process.stderr.isTTY && !g.json ? new ProgressBar(process.stderr) : undefined;
    const started = performance.now();
    // Ctrl-C ends a long scan early but still shows what it found.
    const interrupt = new AbortController();
    const onSignal = () => interrupt.abort();
    process.once('SIGINT', onSignal);
    try {
      const settings = `probing ${describeRegister(probe)}, timeout ${link.timeoutMs} ms x ${link.tries}`;
      // Each unit is printed the moment it answers: a full scan of a slow line takes minutes.
      let first = true;
      const onHit = (h: ScanHit) => {
        bar?.done();
        if (first) print(scanRow('UNIT', 'ANSWER', 'TIME'));
        first = false;
        print(scanRow(String(h.unit), h.answer, `${h.response_ms} ms`));
      };
      if (!g.json) print(`scanning units ${from}-${to} on ${describeLink(link)}, ${settings}`);
      const { hits, interruptedAt } = await scanUnits({
        link: conn,
        from,
        to,
        probe,
        tries: link.tries,
        signal: interrupt.signal,
        ...(bar ? { onProgress: (d: number, t: number, u: number, n: number) => bar.update(d, t, u, n) } : {}),
        ...(g.json ? {} : { onHit }),
      });
      bar?.done();
      const last = interruptedAt === undefined ? to : interruptedAt - 1;
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      if (g.json) {
        print(JSON.stringify({ link: describeLink(link), from, to: last, probe: { table: probe.table, address: probe.address }, units: hits, seconds: Number(seconds), interrupted: interruptedAt !== undefined }));
      } else if (hits.length === 0) {
        print(`no unit answered (units ${from}-${last} in ${seconds} s): check wiring, termination, baud rate and parity (every unit on a line must match)`);
      } else {
        print(dim(`${hits.length} unit${hits.length === 1 ? '' : 's'} answered (units ${from}-${last} in ${seconds} s)`));
      }
      if (interruptedAt !== undefined) throw new CliError(`scan interrupted: units ${interruptedAt}-${to} were not probed`, EXIT_INTERRUPTED);
    } finally {
      process.off('SIGINT', onSignal);
      bar?.done();
      await conn.stop();
    }
  });
}

/** The shell's status for a command ended by Ctrl-C (128 + SIGINT). */
const EXIT_INTERRUPTED = 130;

function addBlockOptions(cmd: Command): Command {
  return cmd
    .option('-a, --address <register>', 'first register: 0-based (0, 0x10) or 40001-style', '0')
    .option('--table <table>', 'holding, input, coil or discrete (implied by 40001-style numbers; default holding)')
    .option('-T, --type <type>', 'int16, uint16, int32, uint32, float32, int64, uint64, float64, bcd16, bcd32 or bool (default uint16; bool for coils)')
    .option('--byte-order <order>', 'bytes inside each register: big (standard) or little (swapped)', 'big')
    .option('--word-order <order>', 'registers of a 32- or 64-bit value: big (high word first, standard) or little', 'big');
}

function parseBlock(f: BlockFlags, link: LinkOptions, count: number): BlockRequest {
  const unit = parseUnit(f.unit, link);
  const ref = parseRegister(f.address, f.table === undefined ? undefined : parseTable(f.table));
  const bits = ref.table === 'coil' || ref.table === 'discrete';
  const type: ValueType = f.type === undefined ? (bits ? 'bool' : 'uint16') : parseType(f.type);
  const layout: Layout = { byteOrder: parseOrder('--byte-order', f.byteOrder), wordOrder: parseOrder('--word-order', f.wordOrder) };
  return { unit, ref, type, count, layout };
}

function header(b: BlockRequest, link: LinkOptions): string {
  const order = widthOf(b.type) > 1 ? ` ${layoutName(b.layout)}` : b.type !== 'bool' && b.layout.byteOrder === 'little' ? ' byte-swapped' : '';
  return `unit ${b.unit} on ${describeLink(link)}: ${b.count} x ${b.type}${order} from ${describeRegister(b.ref)}`;
}

function rowsTable(b: BlockRequest, rows: Row[]): string {
  const noun = TABLE_NOUN[b.ref.table].toUpperCase().replace(' ', '_');
  return table([noun, 'ADDRESS', 'HEX', 'VALUE'], rows.map((r) => [r.register, String(r.address), r.hex, String(r.value)]));
}

function readJson(b: BlockRequest, link: LinkOptions, rows: Row[]) {
  return {
    link: describeLink(link),
    unit: b.unit,
    table: b.ref.table,
    type: b.type,
    byte_order: b.layout.byteOrder,
    word_order: b.layout.wordOrder,
    values: rows.map((r) => ({ address: r.address, register: r.register, raw: r.raw, hex: r.hex, value: r.value })),
  };
}

function sameValue(a: number | boolean, b: number | boolean, type: ValueType): boolean {
  if ((type === 'float32' || type === 'float64') && typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) <= Math.abs(b) * 1e-6;
  if (type === 'bool') return Boolean(a) === Boolean(b);
  return a === b;
}

/**
 * `--watch`: a TTY gets the table redrawn in place; a pipe gets one block per sample with a time
 * stamp (or one JSON object per line with --json). A missed answer is reported and the loop goes on.
 */
async function watchLoop(conn: ModbusLink, b: BlockRequest, link: LinkOptions, json: boolean, everyMs: number, samples: number | undefined): Promise<void> {
  const tty = Boolean(process.stdout.isTTY) && !json;
  let stop = false;
  let wake: (() => void) | undefined;
  const onSignal = () => {
    stop = true;
    wake?.();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let drawn = 0;
  let failed = 0;
  let lastError: CliError | undefined;
  let taken = 0;
  try {
    if (!json) print(header(b, link));
    for (let n = 0; !stop && (samples === undefined || n < samples); n++) {
      taken = n + 1;
      const t0 = Date.now();
      const at = new Date(t0).toISOString();
      try {
        const rows = await readBlock(conn, b);
        if (json) print(JSON.stringify({ at, ...readJson(b, link, rows) }));
        else {
          const text = `${at}\n${rowsTable(b, rows)}`;
          if (tty && drawn > 0) process.stdout.write(`\x1b[${drawn}A\x1b[J`);
          print(text);
          drawn = tty ? text.split('\n').length : 0;
        }
        lastError = undefined;
      } catch (err) {
        if (!(err instanceof CliError) || err.exitCode === EXIT.unavailable || err.exitCode === EXIT.software) throw err;
        if (json) print(JSON.stringify({ at, error: err.message, exit_code: err.exitCode }));
        else process.stderr.write(`${at} mgw: ${err.message}\n`);
        drawn = 0;
        failed++;
        lastError = err;
      }
      if (samples !== undefined && n + 1 >= samples) break;
      const wait = Math.max(0, everyMs - (Date.now() - t0));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  // A script that asked for n samples learns from the status whether the last one worked.
  if (!stop && lastError !== undefined) {
    throw new CliError(`${failed} of ${taken} reads failed; the last one: ${lastError.message}`, lastError.exitCode);
  }
}
