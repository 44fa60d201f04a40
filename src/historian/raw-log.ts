/**
 * Raw samples waiting for their batch, as columns: one row per sample (point slot, time, value,
 * quality) in typed arrays that are reused from batch to batch.
 *
 * Why not objects: with 2,000 points a 5 s batch holds ~10,000 samples. As `{ t, v, q }` objects
 * in per-device, per-point maps that was ~1 MiB of heap, rebuilt every batch and old enough by
 * its flush to be promoted, so the old generation grew by a batch of garbage between collections.
 * As columns it is 21 bytes a sample outside the heap, and the same arrays serve the next batch.
 */
import { RAW_RECORD_BYTES, encodeBlocks, writeRawRecord, type PointBlock, type RawSample } from './format.js';

/** A number per (device, point), shared by the batches of one store. Points are never removed: they are few and stable. */
export class PointSlots {
  private readonly byDevice = new Map<string, { slots: number[]; points: Map<string, number> }>();
  /** Devices in the order first seen, each with its slots in the order its points were. */
  readonly devices: { id: string; slots: number[] }[] = [];
  /** Slot -> point name. */
  readonly point: string[] = [];

  slot(device: string, point: string): number {
    let d = this.byDevice.get(device);
    if (d === undefined) {
      d = { slots: [], points: new Map() };
      this.byDevice.set(device, d);
      this.devices.push({ id: device, slots: d.slots });
    }
    let s = d.points.get(point);
    if (s === undefined) {
      s = this.point.length;
      d.points.set(point, s);
      d.slots.push(s);
      this.point.push(point);
    }
    return s;
  }

  /** The slot of a point already seen, or undefined. */
  find(device: string, point: string): number | undefined {
    return this.byDevice.get(device)?.points.get(point);
  }

  get size(): number {
    return this.point.length;
  }
}

const INITIAL_ROWS = 1024;

export class RawLog {
  private slot = new Uint32Array(INITIAL_ROWS);
  private t = new Float64Array(INITIAL_ROWS);
  private v = new Float64Array(INITIAL_ROWS);
  private q = new Uint8Array(INITIAL_ROWS);
  private rows = 0;

  constructor(private readonly slots: PointSlots) {}

  get length(): number {
    return this.rows;
  }

  add(device: string, point: string, t: number, v: number, q: number): void {
    if (this.rows === this.t.length) this.resize(this.rows * 2);
    const i = this.rows++;
    this.slot[i] = this.slots.slot(device, point);
    this.t[i] = t;
    this.v[i] = v;
    this.q[i] = q;
  }

  /**
   * Empties the log for the next batch. Its arrays stay, unless they are more than four times
   * what this batch needed (a burst): then they shrink back.
   */
  clear(): void {
    const want = Math.max(INITIAL_ROWS, this.rows * 2);
    if (this.t.length > want * 2) this.resize(want);
    this.rows = 0;
  }

  /** The earliest and latest sample time ([Infinity, -Infinity] when empty). */
  span(): [number, number] {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < this.rows; i++) {
      const t = this.t[i]!;
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
    return [lo, hi];
  }

  /** The samples of some points of one device, in the order they were added. */
  samples(device: string, points: readonly string[], each: (point: string, s: RawSample) => void): void {
    const wanted = new Set<number>();
    for (const p of points) {
      const s = this.slots.find(device, p);
      if (s !== undefined) wanted.add(s);
    }
    if (wanted.size === 0) return;
    for (let i = 0; i < this.rows; i++) {
      const s = this.slot[i]!;
      if (wanted.has(s)) each(this.slots.point[s]!, { t: this.t[i]!, v: this.v[i]!, q: this.q[i]! });
    }
  }

  /** The log as one raw batch: devices in the order first seen, each point's samples in the order added. */
  encode(): Buffer {
    const count = new Uint32Array(this.slots.size);
    for (let i = 0; i < this.rows; i++) count[this.slot[i]!]!++;
    // Each slot's rows, contiguous and in order: a counting sort by slot.
    const start = new Uint32Array(this.slots.size + 1);
    for (let s = 0; s < count.length; s++) start[s + 1] = start[s]! + count[s]!;
    const next = start.slice(0, count.length);
    const order = new Uint32Array(this.rows);
    for (let i = 0; i < this.rows; i++) order[next[this.slot[i]!]!++] = i;
    const devices: [string, PointBlock[]][] = [];
    for (const d of this.slots.devices) {
      const blocks: PointBlock[] = [];
      for (const s of d.slots) {
        if (count[s] === 0) continue;
        const from = start[s]!;
        blocks.push({
          name: this.slots.point[s]!,
          count: count[s]!,
          write: (buf, o) => {
            for (let k = 0; k < count[s]!; k++, o += RAW_RECORD_BYTES) {
              const i = order[from + k]!;
              writeRawRecord(buf, o, this.t[i]!, this.v[i]!, this.q[i]!);
            }
          },
        });
      }
      if (blocks.length > 0) devices.push([d.id, blocks]);
    }
    return encodeBlocks('raw', 0, devices);
  }

  private resize(rows: number): void {
    const grow = <A extends Uint32Array | Float64Array | Uint8Array>(a: A, make: (n: number) => A): A => {
      const b = make(rows);
      b.set(a.subarray(0, Math.min(this.rows, rows)));
      return b;
    };
    this.slot = grow(this.slot, (n) => new Uint32Array(n));
    this.t = grow(this.t, (n) => new Float64Array(n));
    this.v = grow(this.v, (n) => new Float64Array(n));
    this.q = grow(this.q, (n) => new Uint8Array(n));
  }
}
