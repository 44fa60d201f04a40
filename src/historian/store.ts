/**
 * The history store: raw samples, per-minute and per-hour buckets, each tier a directory of
 * append-only segment files under `<state_dir>/history/`.
 *
 * Samples wait in memory and are written as one batch per tier every flush (a few seconds, or
 * sooner when many wait): sequential appends, one datasync each, nothing rewritten. A power cut
 * loses at most the batch being written. Minute and hour buckets are written when they end; the
 * ones still open at a crash are rebuilt on start from the finer tier, from the `closed_to` of
 * the tier's last batch (everything before it is on disk already).
 *
 * Retention deletes whole segments; the size cap then deletes the oldest segments, raw first
 * (the minute and hour tiers still summarise what it held), then minute, then hour.
 */
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { HEADER_BYTES, aggAt, encodeBatch, rawAt, readBatch, type Aggregate, type BatchRecords, type RawSample } from './format.js';
import { PointSlots, RawLog } from './raw-log.js';
import { BucketSet, HOUR_MS, MINUTE_MS, bucketStart } from './buckets.js';
import { TierFiles, type SegmentInfo } from './segments.js';
import { isoTime } from '../core/time.js';

export const TIERS = ['raw', '1m', '1h'] as const;
export type Tier = (typeof TIERS)[number];
export const TIER_BUCKET_MS: Record<Tier, number> = { raw: 0, '1m': MINUTE_MS, '1h': HOUR_MS };
/** How long a segment stays open: a retention step deletes at most this much at once. */
const SEGMENT_SPAN_MS: Record<Tier, number> = { raw: HOUR_MS, '1m': 24 * HOUR_MS, '1h': 30 * 24 * HOUR_MS };

export interface StoreOptions {
  dir: string;
  retentionMs: Record<Tier, number>;
  /** Total bytes of all tiers; wins over every retention. */
  maxBytes: number;
  /** datasync after every batch (a power cut then loses at most the batch being written). */
  fsync: boolean;
  now: () => number;
  log: Logger;
  /** Bytes appended to an open segment between two checkpoints of it (default 4 MiB). */
  checkpointBytes?: number;
}

export interface StoreCounters {
  samples_written: number;
  aggregates_written: number;
  bytes_written: number;
  batches_written: number;
  batch_failures: number;
  samples_dropped: number;
  segments_dropped_retention: number;
  segments_dropped_size_cap: number;
  bytes_dropped_size_cap: number;
  last_batch_ms: number;
  max_batch_ms: number;
  batch_ms_sum: number;
  truncated_bytes_at_start: number;
  /** Bytes of segments read at start to check the open ones (what their checkpoints cover is not read). */
  recovered_scan_bytes: number;
  /** Tiers whose open segment was checked from its checkpoint on at start. */
  recovered_from_checkpoint: number;
  /** Bytes read at start to rebuild the minute and hour buckets still open. */
  rebuild_read_bytes: number;
}

export interface PointRecords {
  raw: RawSample[];
  agg: Aggregate[];
}

export class HistoryStore {
  readonly counters: StoreCounters = {
    samples_written: 0,
    aggregates_written: 0,
    bytes_written: 0,
    batches_written: 0,
    batch_failures: 0,
    samples_dropped: 0,
    segments_dropped_retention: 0,
    segments_dropped_size_cap: 0,
    bytes_dropped_size_cap: 0,
    last_batch_ms: 0,
    max_batch_ms: 0,
    batch_ms_sum: 0,
    truncated_bytes_at_start: 0,
    recovered_scan_bytes: 0,
    recovered_from_checkpoint: 0,
    rebuild_read_bytes: 0,
  };
  private readonly files: Record<Tier, TierFiles>;
  private readonly minutes = new BucketSet(MINUTE_MS);
  private readonly hours = new BucketSet(HOUR_MS);
  private readonly slots = new PointSlots();
  /** Raw samples waiting: emptied as soon as a batch is encoded, so one log serves every batch. */
  private readonly pending = new RawLog(this.slots);
  /** The raw batch being written, encoded: still answered from memory until it is on disk. */
  private inflight: Buffer | undefined;
  private flushing: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private minuteClosedTo = -Infinity;
  private hourClosedTo = -Infinity;
  /** Bytes written per flush with its time, for the bytes-per-minute figure. */
  private readonly recentWrites: { t: number; bytes: number }[] = [];
  lastError: string | undefined;

  constructor(private readonly options: StoreOptions) {
    const segMax = Math.max(64 * 1024, Math.min(64 * 1024 * 1024, Math.floor(options.maxBytes / 16)));
    const tier = (t: Tier) =>
      new TierFiles({
        dir: join(options.dir, t),
        spanMs: SEGMENT_SPAN_MS[t],
        maxBytes: segMax,
        fsync: options.fsync,
        kind: t === 'raw' ? 'raw' : 'agg',
        checkpointBytes: options.checkpointBytes,
        log: options.log,
      });
    this.files = { raw: tier('raw'), '1m': tier('1m'), '1h': tier('1h') };
  }

  /** Opens the tiers (repairing a torn last batch) and rebuilds the open buckets. Synchronous. */
  open(): void {
    this.lock();
    const now = this.options.now();
    const raw = this.files.raw.recover(now);
    const minute = this.files['1m'].recover(now);
    const hour = this.files['1h'].recover(now);
    this.counters.truncated_bytes_at_start = raw.truncatedBytes + minute.truncatedBytes + hour.truncatedBytes;
    this.counters.recovered_scan_bytes = raw.scannedBytes + minute.scannedBytes + hour.scannedBytes;
    this.counters.recovered_from_checkpoint = raw.checkpointsUsed + minute.checkpointsUsed + hour.checkpointsUsed;
    const readBefore = this.files.raw.bytesReadAll + this.files['1m'].bytesReadAll;
    this.minuteClosedTo = minute.closedToMs ?? -Infinity;
    this.hourClosedTo = hour.closedToMs ?? -Infinity;
    this.files.raw.read(null, this.minuteClosedTo, Infinity, (device, point, count, body, base) => {
      for (let i = 0; i < count; i++) {
        const s = rawAt(body, base, i);
        if (s.t >= this.minuteClosedTo) this.minutes.addSample(device, point, s);
      }
    });
    this.files['1m'].read(null, this.hourClosedTo, Infinity, (device, point, count, body, base) => {
      for (let i = 0; i < count; i++) {
        const a = aggAt(body, base, i);
        if (a.t >= this.hourClosedTo) this.hours.addAggregate(device, point, a);
      }
    });
    this.counters.rebuild_read_bytes = this.files.raw.bytesReadAll + this.files['1m'].bytesReadAll - readBefore;
    if (this.counters.truncated_bytes_at_start > 0) {
      this.options.log.warn({ bytes: this.counters.truncated_bytes_at_start }, 'history: cut a torn last batch (power cut or kill during a write)');
    }
  }

  get pendingSamples(): number {
    return this.pending.length;
  }

  add(device: string, point: string, t: number, v: number, q: number): void {
    this.pending.add(device, point, t, v, q);
    this.minutes.addSample(device, point, { t, v, q });
  }

  /** Writes what waits; calls during a flush share the one flush queued after it. */
  flush(): Promise<void> {
    if (this.flushing === undefined) {
      this.flushing = this.writeOnce().finally(() => {
        this.flushing = undefined;
      });
      return this.flushing;
    }
    this.queued ??= this.flushing.then(() => {
      this.queued = undefined;
      return this.flush();
    });
    return this.queued;
  }

  private async writeOnce(): Promise<void> {
    const now = this.options.now();
    const started = performance.now();
    let bytes = 0;
    const count = this.pending.length;
    try {
      if (count > 0) {
        const [tMin, tMax] = this.pending.span();
        const buf = this.takeBatch();
        this.inflight = buf;
        await this.files.raw.append(buf, tMin, tMax, now);
        bytes += buf.length;
        this.counters.samples_written += count;
      }
      bytes += await this.closeBuckets(now);
      if (bytes > 0) {
        const ms = performance.now() - started;
        this.counters.batches_written++;
        this.counters.bytes_written += bytes;
        this.counters.last_batch_ms = ms;
        this.counters.batch_ms_sum += ms;
        if (ms > this.counters.max_batch_ms) this.counters.max_batch_ms = ms;
        this.recentWrites.push({ t: now, bytes });
      }
      this.lastError = undefined;
    } catch (err) {
      this.counters.batch_failures++;
      this.counters.samples_dropped += count;
      this.lastError = (err as Error).message;
      this.options.log.error({ err, samples: count }, 'history: a batch could not be written; its samples are lost');
    } finally {
      this.inflight = undefined;
    }
    try {
      this.applyRetention(now);
      this.applySizeCap();
    } catch (err) {
      // A segment that cannot be deleted now is tried again after the next batch.
      this.lastError = (err as Error).message;
      this.options.log.error({ err }, 'history: could not delete an old segment');
    }
  }

  /** The waiting samples as one batch; the log is empty after it, whether encoding worked or not. */
  private takeBatch(): Buffer {
    try {
      return this.pending.encode();
    } finally {
      this.pending.clear();
    }
  }

  /** Writes the minute and hour buckets that ended; returns the bytes written. */
  private async closeBuckets(now: number): Promise<number> {
    let bytes = 0;
    const minuteTo = bucketStart(now, MINUTE_MS);
    if (minuteTo > this.minuteClosedTo) {
      const closed = this.minutes.closeBefore(minuteTo);
      bytes += await this.writeAggregates('1m', closed, minuteTo, now);
      this.minuteClosedTo = minuteTo;
      for (const [device, points] of closed) for (const [point, list] of points) for (const a of list) this.hours.addAggregate(device, point, a);
    }
    const hourTo = bucketStart(now, HOUR_MS);
    if (hourTo > this.hourClosedTo) {
      const closed = this.hours.closeBefore(hourTo);
      bytes += await this.writeAggregates('1h', closed, hourTo, now);
      this.hourClosedTo = hourTo;
    }
    return bytes;
  }

  private async writeAggregates(tier: '1m' | '1h', closed: BatchRecords<Aggregate>, closedTo: number, now: number): Promise<number> {
    // An empty batch only carries closed_to: it widens no time range.
    const [tMin, tMax] = span(closed);
    const buf = encodeBatch('agg', closedTo, closed);
    await this.files[tier].append(buf, tMin, tMax, now);
    for (const points of closed.values()) for (const list of points.values()) this.counters.aggregates_written += list.length;
    return buf.length;
  }

  private applyRetention(now: number): void {
    for (const tier of TIERS) {
      for (const seg of this.files[tier].dropBefore(now - this.options.retentionMs[tier])) {
        this.counters.segments_dropped_retention++;
        this.options.log.info({ tier, segment: seg.file, bytes: seg.bytes, newest: isoTime(seg.tMax) }, 'history: segment past retention deleted');
      }
    }
  }

  /** Oldest first, finest tier first: the coarser tiers still summarise what a raw segment held. */
  private applySizeCap(): void {
    while (this.bytes > this.options.maxBytes) {
      let seg: SegmentInfo | undefined;
      let tier: Tier | undefined;
      for (const t of TIERS) {
        seg = this.files[t].dropOldest();
        if (seg !== undefined) {
          tier = t;
          break;
        }
      }
      if (seg === undefined) {
        // Only open segments are left and together they exceed the cap: close the raw one so it can go.
        if (this.files.raw.segments().length === 0) return;
        void this.files.raw.rotate();
        continue;
      }
      this.counters.segments_dropped_size_cap++;
      this.counters.bytes_dropped_size_cap += seg.bytes;
      this.options.log.warn(
        { tier, segment: seg.file, bytes: seg.bytes, oldest: isoTime(seg.tMin), max_bytes: this.options.maxBytes },
        'history: size cap reached, oldest segment deleted',
      );
    }
  }

  get bytes(): number {
    return this.files.raw.bytes + this.files['1m'].bytes + this.files['1h'].bytes;
  }

  tierBytes(tier: Tier): number {
    return this.files[tier].bytes;
  }

  /** The oldest record time of a tier (ms), or null when it holds nothing on disk. */
  oldest(tier: Tier): number | null {
    return this.files[tier].oldestMs;
  }

  /** Bytes written in the last minute of the store's clock: the flash budget. */
  bytesLastMinute(): number {
    const since = this.options.now() - MINUTE_MS;
    while (this.recentWrites.length > 0 && this.recentWrites[0]!.t < since) this.recentWrites.shift();
    return this.recentWrites.reduce((n, w) => n + w.bytes, 0);
  }

  /**
   * Every record of the points of one device in [fromMs, toMs] of a tier, oldest first: on
   * disk, in flight, waiting, and (for 1m and 1h) the buckets still open.
   */
  read(tier: Tier, device: string, points: readonly string[], fromMs: number, toMs: number): Map<string, PointRecords> {
    const out = new Map<string, PointRecords>(points.map((p) => [p, { raw: [], agg: [] }]));
    const lo = tier === 'raw' ? fromMs : bucketStart(fromMs, TIER_BUCKET_MS[tier]);
    const take = (point: string, r: RawSample | Aggregate, isRaw: boolean) => {
      if (r.t < lo || r.t > toMs) return;
      const rec = out.get(point);
      if (rec === undefined) return;
      if (isRaw) rec.raw.push(r as RawSample);
      else rec.agg.push(r as Aggregate);
    };
    const isRaw = tier === 'raw';
    this.files[tier].read(device, lo, toMs, (_d, point, count, body, base) => {
      const rec = out.get(point);
      if (rec === undefined) return;
      if (isRaw) {
        for (let i = 0; i < count; i++) {
          const r = rawAt(body, base, i);
          if (r.t >= lo && r.t <= toMs) rec.raw.push(r);
        }
      } else {
        for (let i = 0; i < count; i++) {
          const a = aggAt(body, base, i);
          if (a.t >= lo && a.t <= toMs) rec.agg.push(a);
        }
      }
    });
    if (isRaw) {
      if (this.inflight !== undefined) {
        readBatch(this.inflight.subarray(HEADER_BYTES), (d) => d === device, (_d, point, count, body, base) => {
          for (let i = 0; i < count; i++) take(point, rawAt(body, base, i), true);
        });
      }
      this.pending.samples(device, points, (p, s) => take(p, s, true));
    } else {
      for (const p of points) {
        if (tier === '1h') {
          // The hour still open: its closed minutes plus the minute still open.
          for (const a of this.hours.peek(device, p)) take(p, a, false);
          for (const a of this.minutes.peek(device, p)) take(p, { ...a, t: bucketStart(a.t, HOUR_MS) }, false);
        } else {
          for (const a of this.minutes.peek(device, p)) take(p, a, false);
        }
      }
    }
    // Batches are appended in time order: sort only when a late sample broke it.
    for (const rec of out.values()) {
      if (!ordered(rec.raw)) rec.raw.sort((a, b) => a.t - b.t);
      if (!ordered(rec.agg)) rec.agg.sort((a, b) => a.t - b.t);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.flush();
    for (const t of TIERS) await this.files[t].close();
    try {
      unlinkSync(join(this.options.dir, 'LOCK'));
    } catch {
      // already gone: nothing to release
    }
  }

  /**
   * One writer per directory: two gateways sharing a state_dir would interleave their batches.
   * A LOCK file left by a process that no longer runs (a crash, kill -9) is taken over.
   */
  private lock(): void {
    mkdirSync(this.options.dir, { recursive: true });
    const file = join(this.options.dir, 'LOCK');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const pid = Number(readFileSync(file, 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new Error(`history directory ${this.options.dir} is in use by process ${pid} (another gateway with the same state_dir)`);
      }
      unlinkSync(file);
    }
  }
}

function ordered(list: { t: number }[]): boolean {
  for (let i = 1; i < list.length; i++) if (list[i]!.t < list[i - 1]!.t) return false;
  return true;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function span(batch: BatchRecords<{ t: number }>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const points of batch.values()) {
    for (const list of points.values()) {
      for (const r of list) {
        if (r.t < lo) lo = r.t;
        if (r.t > hi) hi = r.t;
      }
    }
  }
  return [lo, hi];
}
