/**
 * Time buckets of min / max / sum / last / count over good samples, with the worst quality seen:
 * the per-minute and per-hour tiers, and the re-bucketing of a query (`max_points`).
 * Buckets merge (a minute into its hour, two records of one bucket into one), so any tier can be
 * summarised again without the raw samples.
 */
import { worseQuality, type Aggregate, type RawSample } from './format.js';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

export const bucketStart = (t: number, sizeMs: number): number => Math.floor(t / sizeMs) * sizeMs;

export function emptyBucket(t: number): Aggregate {
  return { t, min: Infinity, max: -Infinity, sum: 0, last: Number.NaN, count: 0, q: 0 };
}

/** Adds one raw sample; stale and bad samples only mark the bucket's quality. */
export function addSample(b: Aggregate, s: RawSample): void {
  b.q = worseQuality(b.q, s.q);
  if (s.q !== 0) return;
  if (s.v < b.min) b.min = s.v;
  if (s.v > b.max) b.max = s.v;
  b.sum += s.v;
  b.last = s.v;
  b.count++;
}

/** Merges `a` (later or same bucket's records) into `b`. */
export function mergeBucket(b: Aggregate, a: Aggregate): void {
  b.q = worseQuality(b.q, a.q);
  if (a.count === 0) return;
  if (a.min < b.min) b.min = a.min;
  if (a.max > b.max) b.max = a.max;
  b.sum += a.sum;
  b.last = a.last;
  b.count += a.count;
}

/**
 * Open buckets of one size for every device and point: samples go in, buckets whose end is at
 * or before a time come out, oldest first.
 *
 * A point's open buckets are a short array in time order, not a Map: it holds one bucket nearly
 * always (two across a boundary until the next close). With 2,000 points a Map each made a tier
 * ~0.8 MiB of heap; this is ~0.5 (heap snapshots, 100 devices x 20 points).
 */
export class BucketSet {
  private readonly open = new Map<string, Map<string, Aggregate[]>>();

  constructor(readonly sizeMs: number) {}

  private bucket(device: string, point: string, t: number): Aggregate {
    let d = this.open.get(device);
    if (d === undefined) this.open.set(device, (d = new Map()));
    const start = bucketStart(t, this.sizeMs);
    const list = d.get(point);
    if (list === undefined) {
      // A literal of one: an array grown by a first push or splice reserves 17 slots.
      const b = emptyBucket(start);
      d.set(point, [b]);
      return b;
    }
    // From the newest: samples arrive in time order, so the match is nearly always the last.
    let i = list.length - 1;
    while (i >= 0 && list[i]!.t > start) i--;
    if (i >= 0 && list[i]!.t === start) return list[i]!;
    const b = emptyBucket(start);
    list.splice(i + 1, 0, b);
    return b;
  }

  addSample(device: string, point: string, s: RawSample): void {
    addSample(this.bucket(device, point, s.t), s);
  }

  addAggregate(device: string, point: string, a: Aggregate): void {
    mergeBucket(this.bucket(device, point, a.t), a);
  }

  /** Removes and returns the buckets that end at or before `toMs`, each point's oldest first. */
  closeBefore(toMs: number): Map<string, Map<string, Aggregate[]>> {
    const out = new Map<string, Map<string, Aggregate[]>>();
    for (const [device, points] of this.open) {
      for (const [point, list] of points) {
        // In time order: the closed ones are a prefix.
        let n = 0;
        while (n < list.length && list[n]!.t + this.sizeMs <= toMs) n++;
        if (n === 0) continue;
        let d = out.get(device);
        if (d === undefined) out.set(device, (d = new Map()));
        d.set(point, list.splice(0, n));
        if (list.length === 0) points.delete(point);
      }
      if (points.size === 0) this.open.delete(device);
    }
    return out;
  }

  /** The open (partial) buckets of one point, for queries that reach the present. */
  peek(device: string, point: string): Aggregate[] {
    const list = this.open.get(device)?.get(point);
    return list === undefined ? [] : list.map((b) => ({ ...b }));
  }
}
