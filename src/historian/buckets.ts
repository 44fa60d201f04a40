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

/** Doubles per bucket row: t, min, max, sum, last, count, q (Aggregate's fields, in that order). */
const FIELDS = 7;
/** Rows per point: one open bucket nearly always, two across a boundary until the next close. */
const ROWS = 2;
/** A slot: its rows, then when it last opened (see `opened`). */
const STRIDE = FIELDS * ROWS + 1;
const OPENED = FIELDS * ROWS;
const EMPTY = emptyBucket(Number.NaN);

/** One device: the slots of its points, and when it last opened. */
interface Device {
  readonly name: string;
  readonly points: Map<string, number>;
  /** Points with an open bucket. */
  open: number;
  opened: number;
}

/**
 * Open buckets of one size for every device and point: samples go in, buckets whose end is at
 * or before a time come out, oldest first.
 *
 * Columnar, because a tier holds a bucket or two for every point of the gateway. Each point has a
 * slot of two rows in one Float64Array (t, min, max, sum, last, count, q; t = NaN marks a free
 * row), the older bucket first. A third bucket of one point (samples far out of order, or no
 * close for a while) waits in `overflow`, after the rows in time order; so does a bucket whose
 * start is NaN, which a row cannot hold. Slots are never freed: a gateway's points rarely go.
 *
 * With 100 devices x 20 points, a Map entry, array and Aggregate per point (its fields boxed as
 * heap numbers) made the tiers 0.78 (minutes) and 0.51 MiB (hours) in a heap snapshot of the
 * gateway; a bench of that size measured 0.51 with one bucket open per point, 1.09 with two.
 * This layout measures 0.35 MiB there however many are open: 0.24 the rows (outside the JS heap,
 * but counted by snapshots) and 0.09 the name Maps.
 *
 * `closeBefore` lists devices and points in the order they opened since their last close, as
 * when each had a Map entry only while open: an aggregate batch is written as before.
 */
export class BucketSet {
  private readonly devices = new Map<string, Device>();
  private rows = new Float64Array(0);
  private slots = 0;
  /** Orders openings (devices and slots): a double, exact for longer than the gateway runs. */
  private openings = 0;
  /** Buckets after a slot's rows, in time order; nearly always empty. */
  private readonly overflow = new Map<number, Aggregate[]>();
  /** The bucket being changed: addSample and mergeBucket stay the one definition of a merge. */
  private readonly scratch = emptyBucket(0);

  constructor(readonly sizeMs: number) {}

  addSample(device: string, point: string, s: RawSample): void {
    this.change(device, point, s.t, (b) => addSample(b, s));
  }

  addAggregate(device: string, point: string, a: Aggregate): void {
    this.change(device, point, a.t, (b) => mergeBucket(b, a));
  }

  /** Applies `apply` to the point's bucket holding `t`: in its row, or through the list when it has none. */
  private change(device: string, point: string, t: number, apply: (b: Aggregate) => void): void {
    const d = this.device(device);
    const slot = this.slot(d, point);
    const o = this.row(d, slot, bucketStart(t, this.sizeMs));
    if (o < 0) return this.viaList(d, slot, t, apply);
    apply(this.load(o));
    this.store(o, this.scratch);
  }

  /** Removes and returns the buckets that end at or before `toMs`, each point's oldest first. */
  closeBefore(toMs: number): Map<string, Map<string, Aggregate[]>> {
    const closed: { d: Device; point: string; opened: number; list: Aggregate[] }[] = [];
    for (const d of this.devices.values()) {
      for (const [point, slot] of d.points) {
        const n = this.closedCount(slot, toMs);
        if (n === 0) continue;
        const list = this.read(slot);
        closed.push({ d, point, opened: this.rows[slot * STRIDE + OPENED]!, list: list.splice(0, n) });
        this.write(slot, list);
        if (list.length === 0) d.open--;
      }
    }
    closed.sort((a, b) => a.d.opened - b.d.opened || a.opened - b.opened);
    const out = new Map<string, Map<string, Aggregate[]>>();
    for (const { d, point, list } of closed) {
      let points = out.get(d.name);
      if (points === undefined) out.set(d.name, (points = new Map()));
      points.set(point, list);
    }
    return out;
  }

  /** The open (partial) buckets of one point, for queries that reach the present. */
  peek(device: string, point: string): Aggregate[] {
    const slot = this.devices.get(device)?.points.get(point);
    return slot === undefined ? [] : this.read(slot);
  }

  private device(name: string): Device {
    let d = this.devices.get(name);
    if (d === undefined) this.devices.set(name, (d = { name, points: new Map(), open: 0, opened: 0 }));
    return d;
  }

  private slot(d: Device, point: string): number {
    let slot = d.points.get(point);
    if (slot !== undefined) return slot;
    slot = this.slots++;
    if (slot * STRIDE === this.rows.length) this.grow();
    d.points.set(point, slot);
    return slot;
  }

  /**
   * By an eighth: points arrive once, mostly at start, so the copies cost little and at most an
   * eighth of the array is spare (doubling could leave half of it).
   */
  private grow(): void {
    const rows = new Float64Array((this.slots + (this.slots >> 3) + 16) * STRIDE);
    rows.set(this.rows);
    rows.fill(Number.NaN, this.rows.length);
    this.rows = rows;
  }

  /**
   * The offset of the row of the bucket starting at `start`, opened if need be; -1 when it is
   * not in a row (the slot has overflow, both rows hold other buckets, or `start` is NaN).
   */
  private row(d: Device, slot: number, start: number): number {
    if (Number.isNaN(start) || (this.overflow.size > 0 && this.overflow.has(slot))) return -1;
    const r = this.rows;
    const o = slot * STRIDE;
    const t0 = r[o]!;
    const t1 = r[o + FIELDS]!;
    // Samples arrive in time order: the newer row first.
    if (t1 === start) return o + FIELDS;
    if (t0 === start) return o;
    if (Number.isNaN(t0)) {
      this.opened(d, slot);
      return this.clear(o, start);
    }
    if (!Number.isNaN(t1)) return -1;
    if (start > t0) return this.clear(o + FIELDS, start);
    // A late sample of an earlier bucket: the open one moves up.
    r.copyWithin(o + FIELDS, o, o + FIELDS);
    return this.clear(o, start);
  }

  /** Rare: the point's buckets as a list, changed as when each point had one, and put back. */
  private viaList(d: Device, slot: number, t: number, change: (b: Aggregate) => void): void {
    const list = this.read(slot);
    if (list.length === 0) this.opened(d, slot);
    const start = bucketStart(t, this.sizeMs);
    let i = list.length - 1;
    while (i >= 0 && list[i]!.t > start) i--;
    let b = i >= 0 && list[i]!.t === start ? list[i]! : undefined;
    if (b === undefined) list.splice(i + 1, 0, (b = emptyBucket(start)));
    change(b);
    this.write(slot, list);
  }

  /** A slot goes from no open bucket to one, and maybe its device: the order of `closeBefore`. */
  private opened(d: Device, slot: number): void {
    if (d.open++ === 0) d.opened = ++this.openings;
    this.rows[slot * STRIDE + OPENED] = ++this.openings;
  }

  /** How many of a slot's buckets, oldest first, end at or before `toMs`. */
  private closedCount(slot: number, toMs: number): number {
    const r = this.rows;
    const o = slot * STRIDE;
    let n = 0;
    // A free row's NaN stops this too; only then, or past both rows, can overflow follow.
    while (n < ROWS && r[o + n * FIELDS]! + this.sizeMs <= toMs) n++;
    if (n < ROWS && !Number.isNaN(r[o + n * FIELDS]!)) return n;
    const more = this.overflow.get(slot);
    if (more === undefined) return n;
    let i = 0;
    while (i < more.length && more[i]!.t + this.sizeMs <= toMs) i++;
    return n + i;
  }

  /** Copies of a slot's open buckets, oldest first. */
  private read(slot: number): Aggregate[] {
    const list: Aggregate[] = [];
    const o = slot * STRIDE;
    for (let i = 0; i < ROWS && !Number.isNaN(this.rows[o + i * FIELDS]!); i++) list.push({ ...this.load(o + i * FIELDS) });
    for (const b of this.overflow.get(slot) ?? []) list.push({ ...b });
    return list;
  }

  /** Puts a slot's buckets (oldest first) back: the rows take what they can, in order. */
  private write(slot: number, list: Aggregate[]): void {
    const o = slot * STRIDE;
    let i = 0;
    for (; i < ROWS && i < list.length && !Number.isNaN(list[i]!.t); i++) this.store(o + i * FIELDS, list[i]!);
    for (let j = i; j < ROWS; j++) this.rows[o + j * FIELDS] = Number.NaN;
    if (i < list.length) this.overflow.set(slot, list.slice(i));
    else this.overflow.delete(slot);
  }

  /** Opens the bucket starting at `t` in the row at `o`. */
  private clear(o: number, t: number): number {
    this.store(o, EMPTY);
    this.rows[o] = t;
    return o;
  }

  private load(o: number): Aggregate {
    const r = this.rows;
    const b = this.scratch;
    b.t = r[o]!;
    b.min = r[o + 1]!;
    b.max = r[o + 2]!;
    b.sum = r[o + 3]!;
    b.last = r[o + 4]!;
    b.count = r[o + 5]!;
    b.q = r[o + 6]!;
    return b;
  }

  private store(o: number, b: Aggregate): void {
    const r = this.rows;
    r[o] = b.t;
    r[o + 1] = b.min;
    r[o + 2] = b.max;
    r[o + 3] = b.sum;
    r[o + 4] = b.last;
    r[o + 5] = b.count;
    r[o + 6] = b.q;
  }
}
