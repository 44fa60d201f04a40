/**
 * A short, bounded history of every numeric point, for the trends of the HMI.
 *
 * One ring per point holds at most `capacity` samples (time, value), at most one per
 * `resolutionMs`: a point that changes faster keeps only the latest value of each slot, so
 * memory is bounded per point (16 bytes per sample, buffers grown with use) whatever the poll rate. Samples older than
 * the window are skipped on read and overwritten as the ring turns.
 *
 * It is fed from registry diffs and imports nothing from the server or the drivers.
 */
import type { DiffConsumer } from './consumer.js';
import type { DeviceDiff } from './registry.js';

export interface HistoryOptions {
  /** How far back the history reaches, seconds (>= 1). */
  windowS: number;
  /** Finest spacing of kept samples, milliseconds (>= 1): one sample per slot, the latest wins. */
  resolutionMs: number;
}

export interface HistorySamples {
  /** Sample times, seconds since the epoch (as every timestamp of the API). */
  t: number[];
  v: number[];
}

/** Samples a point's buffers start with before they grow (doubling) towards the capacity. */
const INITIAL_SAMPLES = 16;

/**
 * One point's samples in one buffer, time and value side by side (sample i at 2i and 2i + 1):
 * one typed array per point rather than two halves the per-point overhead (each typed array
 * costs its object, its ArrayBuffer and a native backing store before any sample). With 2,000
 * points the trends took 1.41 MiB of heap at start with two, 1.04 with one (heap snapshots).
 */
class PointRing {
  private buf: Float64Array;
  private next = 0;
  private count = 0;

  /**
   * The buffer starts small and, once full, goes straight to `capacity` samples: a point that
   * rarely changes (a setpoint, a fault code) holds a few samples, not a whole window's worth.
   * Not by doubling: with every busy point growing at the same pace, each size left behind was
   * a hole the next size could not reuse (2,000 points filled by doubling: ~10 MiB more RSS than
   * filled in one step, for 9.2 MB of samples).
   */
  constructor(private readonly capacity: number) {
    this.buf = new Float64Array(2 * Math.min(capacity, INITIAL_SAMPLES));
  }

  /** Samples the buffer holds room for. */
  get allocated(): number {
    return this.buf.length / 2;
  }

  add(tMs: number, value: number, resolutionMs: number): void {
    const cap = this.allocated;
    if (this.count > 0) {
      const last = 2 * ((this.next - 1 + cap) % cap);
      // Same slot as the last sample: replace it, so a fast point cannot push out the window.
      if (Math.floor(this.buf[last]! / resolutionMs) === Math.floor(tMs / resolutionMs)) {
        this.buf[last] = tMs;
        this.buf[last + 1] = value;
        return;
      }
      // A clock step backwards would break the order the reader relies on: start over.
      if (tMs < this.buf[last]!) {
        this.count = 0;
        this.next = 0;
      }
    }
    if (this.count === this.allocated && this.allocated < this.capacity) this.grow();
    this.buf[2 * this.next] = tMs;
    this.buf[2 * this.next + 1] = value;
    this.next = (this.next + 1) % this.allocated;
    if (this.count < this.allocated) this.count++;
  }

  /** Until the buffer reaches capacity the ring never wraps, so samples sit in 0..count-1. */
  private grow(): void {
    const buf = new Float64Array(2 * this.capacity);
    buf.set(this.buf);
    this.buf = buf;
    this.next = this.count;
  }

  read(fromMs: number): HistorySamples {
    const cap = this.allocated;
    const out: HistorySamples = { t: [], v: [] };
    for (let k = this.count; k >= 1; k--) {
      const i = 2 * ((this.next - k + cap) % cap);
      const t = this.buf[i]!;
      if (t < fromMs) continue;
      out.t.push(t / 1000);
      out.v.push(this.buf[i + 1]!);
    }
    return out;
  }
}

export class History implements DiffConsumer {
  readonly name = 'history';
  readonly windowS: number;
  readonly resolutionMs: number;
  /** Samples kept per point: the window divided into slots, plus the current one. */
  readonly capacity: number;
  private readonly points = new Map<string, Map<string, PointRing>>();
  private readonly now: () => number;

  constructor(options: HistoryOptions & { now?: () => number }) {
    if (!(options.windowS >= 1)) throw new RangeError(`history window must be >= 1 s, got ${options.windowS}`);
    if (!(options.resolutionMs >= 1)) throw new RangeError(`history resolution must be >= 1 ms, got ${options.resolutionMs}`);
    this.windowS = options.windowS;
    this.resolutionMs = options.resolutionMs;
    this.capacity = Math.ceil((options.windowS * 1000) / options.resolutionMs) + 1;
    this.now = options.now ?? Date.now;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  onDiff(diff: DeviceDiff): void {
    this.record(diff);
  }

  /** Keeps every finite numeric value of the diff. */
  record(diff: DeviceDiff): void {
    const tMs = diff.timestamp * 1000;
    for (const [name, value] of Object.entries(diff.new_state)) {
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      this.ring(diff.device_id, name).add(tMs, value, this.resolutionMs);
    }
  }

  /**
   * The samples of one point newer than `sinceS` (seconds since the epoch) and inside the
   * window, oldest first. Empty when the point has no samples yet.
   */
  read(deviceId: string, point: string, sinceS?: number): HistorySamples {
    const windowStart = this.now() - this.windowS * 1000;
    const from = sinceS === undefined ? windowStart : Math.max(windowStart, sinceS * 1000);
    const ring = this.points.get(deviceId)?.get(point);
    return ring === undefined ? { t: [], v: [] } : ring.read(from);
  }

  /** Forgets a device (removed on reload). */
  forget(deviceId: string): void {
    this.points.delete(deviceId);
  }

  /** Bytes held by sample buffers: 16 per allocated slot (buffers grow with use up to capacity). */
  get bytes(): number {
    let slots = 0;
    for (const m of this.points.values()) for (const ring of m.values()) slots += ring.allocated;
    return slots * 16;
  }

  private ring(deviceId: string, point: string): PointRing {
    let device = this.points.get(deviceId);
    if (device === undefined) {
      device = new Map();
      this.points.set(deviceId, device);
    }
    let ring = device.get(point);
    if (ring === undefined) {
      ring = new PointRing(this.capacity);
      device.set(point, ring);
    }
    return ring;
  }
}
