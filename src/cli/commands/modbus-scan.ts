/**
 * `mgw modbus scan`: which unit ids answer on a line. Each id gets one probe read; any answer,
 * even a Modbus exception, proves a unit is there (exceptions 10/11 from a TCP gateway do not:
 * they mean the gateway got no answer).
 */
import type { Command } from 'commander';
import { CliError } from '../exit.js';
import { dim, print } from '../output.js';
import type { GlobalOptions } from '../options.js';
import { describeRegister, parseRegister, parseTable, type RegisterRef } from './modbus-address.js';
import { connect } from './modbus-connect.js';
import { ModbusExceptionError, NoAnswerError, type CommissioningLink } from './modbus-link.js';
import { readBlock } from './modbus-io.js';
import { addLinkOptions, intOption, parseTarget, type RawLinkFlags } from './modbus-options.js';

/** The shell's status for a command ended by Ctrl-C (128 + SIGINT). */
const EXIT_INTERRUPTED = 130;

export function registerModbusScan(modbus: Command, globals: () => GlobalOptions): void {
  const scan = modbus
    .command('scan')
    .description('find which unit ids answer on a line (one probe read per id)')
    .option('--from <id>', 'first unit id', '1')
    .option('--to <id>', 'last unit id', '247')
    .option('-a, --address <register>', 'probe register (40001, 30001, 0 ...)', '40001')
    .option('--table <table>', 'probe table for a 0-based --address: holding, input, coil, discrete');
  addLinkOptions(scan, { timeoutMs: 100, tries: 1 }).action(async (f: RawLinkFlags & { from: string; to: string; address: string; table?: string }) => {
    const g = globals();
    const target = parseTarget(f);
    const wide = target.host !== undefined || target.bus !== undefined;
    const maxUnit = wide ? 255 : 247;
    const from = intOption('--from', f.from, wide ? 0 : 1, maxUnit);
    const to = intOption('--to', f.to, from, maxUnit);
    const probe = parseRegister(f.address, f.table === undefined ? undefined : parseTable(f.table));
    const conn = await connect(target, g);
    const bar = process.stderr.isTTY && !g.json ? new ProgressBar(process.stderr) : undefined;
    const started = performance.now();
    // Ctrl-C ends a long scan early but still shows what it found.
    const interrupt = new AbortController();
    const onSignal = () => interrupt.abort();
    process.once('SIGINT', onSignal);
    try {
      const settings = `probing ${describeRegister(probe)}, timeout ${target.timeoutMs} ms x ${target.tries}`;
      // Each unit is printed the moment it answers: a full scan of a slow line takes minutes.
      let first = true;
      const onHit = (h: ScanHit) => {
        bar?.done();
        if (first) print(scanRow('UNIT', 'ANSWER', 'TIME'));
        first = false;
        print(scanRow(String(h.unit), h.answer, `${h.response_ms} ms`));
      };
      if (!g.json) print(`scanning units ${from}-${to} on ${conn.label}, ${settings}`);
      const { hits, interruptedAt } = await scanUnits({
        link: conn,
        from,
        to,
        probe,
        tries: target.tries,
        signal: interrupt.signal,
        ...(bar ? { onProgress: (d: number, t: number, u: number, n: number) => bar.update(d, t, u, n) } : {}),
        ...(g.json ? {} : { onHit }),
      });
      bar?.done();
      const last = interruptedAt === undefined ? to : interruptedAt - 1;
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      if (g.json) {
        print(JSON.stringify({ link: conn.label, from, to: last, probe: { table: probe.table, address: probe.address }, units: hits, seconds: Number(seconds), interrupted: interruptedAt !== undefined }));
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

export interface ScanHit {
  unit: number;
  /** Round-trip of the probe that answered, in ms. */
  response_ms: number;
  /** "0x0064" for a register, or "exception 2 (...)". */
  answer: string;
}

export interface ScanOptions {
  link: CommissioningLink;
  from: number;
  to: number;
  probe: RegisterRef;
  tries: number;
  onProgress?: (done: number, total: number, unit: number, found: number) => void;
  /** A unit answered: called at once, so a long scan shows each unit as it is found. */
  onHit?: (hit: ScanHit) => void;
  /** Aborted (Ctrl-C): stop before the next unit and return what was found so far. */
  signal?: AbortSignal;
}

export interface ScanResult {
  hits: ScanHit[];
  /** The first unit not probed when the scan was interrupted. */
  interruptedAt?: number;
}

export async function scanUnits(o: ScanOptions): Promise<ScanResult> {
  const hits: ScanHit[] = [];
  const found = (hit: ScanHit) => {
    hits.push(hit);
    o.onHit?.(hit);
  };
  const total = o.to - o.from + 1;
  for (let unit = o.from; unit <= o.to; unit++) {
    if (o.signal?.aborted) return { hits, interruptedAt: unit };
    o.onProgress?.(unit - o.from, total, unit, hits.length);
    const t0 = performance.now();
    try {
      const type = o.probe.table === 'coil' || o.probe.table === 'discrete' ? 'bool' : 'uint16';
      const rows = await readBlock(o.link, { unit, ref: o.probe, type, count: 1, layout: { byteOrder: 'big', wordOrder: 'big' } }, o.tries);
      found({ unit, response_ms: Math.round(performance.now() - t0), answer: rows[0]!.hex });
    } catch (err) {
      if (err instanceof NoAnswerError) continue;
      if (err instanceof ModbusExceptionError) {
        if (err.meansNoAnswer) continue;
        found({ unit, response_ms: Math.round(performance.now() - t0), answer: `exception ${err.exceptionCode}` });
        continue;
      }
      throw err;
    }
  }
  o.onProgress?.(total, total, o.to, hits.length);
  return { hits };
}

/** A one-line progress bar for stderr on a TTY: bar, count, current unit, hits, time left. */
export class ProgressBar {
  private readonly started = performance.now();
  private last = 0;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  update(done: number, total: number, unit: number, found: number): void {
    const now = performance.now();
    if (done < total && now - this.last < 50) return; // repainting faster than the eye helps nobody
    this.last = now;
    const width = 24;
    const filled = Math.round((done / total) * width);
    const elapsed = now - this.started;
    const left = done === 0 ? '?' : formatDuration(((total - done) * elapsed) / done);
    const line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}  unit ${unit}  found ${found}  ~${left} left`;
    this.stream.write(`\r\x1b[2K${line}`);
  }

  /** Clears the bar's line (before other output, or at the end); the next update draws it again. */
  done(): void {
    this.stream.write('\r\x1b[2K');
    this.last = 0;
  }
}

/** One row of the scan table, in fixed columns: rows are printed as units are found, before all are known. */
export function scanRow(unit: string, answer: string, time: string): string {
  return `${unit.padEnd(4)}  ${answer.padEnd(12)}  ${time}`.trimEnd();
}

function formatDuration(ms: number): string {
  const s = Math.ceil(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}
