/**
 * `mgw modbus scan`: which unit ids answer on a line. Each id gets one probe read; any answer,
 * even a Modbus exception, proves a unit is there (exceptions 10/11 from a TCP gateway do not:
 * they mean the gateway got no answer).
 */
import type { RegisterRef } from './modbus-address.js';
import { ModbusExceptionError, NoAnswerError, type ModbusLink } from './modbus-link.js';
import { readBlock } from './modbus-io.js';

export interface ScanHit {
  unit: number;
  /** Round-trip of the probe that answered, in ms. */
  response_ms: number;
  /** "0x0064" for a register, or "exception 2 (...)". */
  answer: string;
}

export interface ScanOptions {
  link: ModbusLink;
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
