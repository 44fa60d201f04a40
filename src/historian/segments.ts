/**
 * One tier's files: a directory of append-only segments, the newest one open for appending.
 *
 *   <dir>/00000042.open                  the segment being written
 *   <dir>/00000041_<tmin>_<tmax>.seg     closed: its time range is in its name, so retention,
 *                                        the size cap and queries pick files without reading them
 *
 * A segment is closed (renamed) when it spans `spanMs` or reaches `maxBytes`; whole closed
 * segments are deleted for retention and the size cap: nothing is ever rewritten. On open, a
 * segment left open by a crash is checked batch by batch and cut after the last whole batch.
 */
import { closeSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { HEADER_BYTES, readBatch, timeAt, validBatchAt, type DecodedBatch } from './format.js';

export interface SegmentInfo {
  seq: number;
  file: string;
  bytes: number;
  /** Earliest and latest record time in the segment (ms); Infinity/-Infinity while empty. */
  tMin: number;
  tMax: number;
}

export interface TierFilesOptions {
  dir: string;
  /** Close the open segment once its first batch is this old (ms of the store's clock). */
  spanMs: number;
  maxBytes: number;
  fsync: boolean;
}

export interface Recovery {
  /** Bytes cut off the end of the open segment (a torn last batch). */
  truncatedBytes: number;
  /** closed_to of the newest batch of the tier, or null when the tier is empty. */
  closedToMs: number | null;
}

const OPEN_RE = /^(\d{8})\.open$/;
const SEG_RE = /^(\d{8})_(-?\d+)_(-?\d+)\.seg$/;

export class TierFiles {
  private closed: SegmentInfo[] = [];
  private active: SegmentInfo | undefined;
  private handle: FileHandle | undefined;
  private activeOpenedAt = 0;
  private nextSeq = 1;

  constructor(private readonly options: TierFilesOptions) {}

  /** Lists the tier's files and repairs the open segment; synchronous, at start. */
  recover(now: number): Recovery {
    mkdirSync(this.options.dir, { recursive: true });
    let truncatedBytes = 0;
    let closedToMs: number | null = null;
    const opens: SegmentInfo[] = [];
    for (const name of readdirSync(this.options.dir)) {
      const seg = SEG_RE.exec(name);
      const file = join(this.options.dir, name);
      if (seg) {
        this.closed.push({ seq: Number(seg[1]), file, bytes: statSync(file).size, tMin: Number(seg[2]), tMax: Number(seg[3]) });
      } else if (OPEN_RE.test(name)) {
        opens.push({ seq: Number(OPEN_RE.exec(name)![1]), file, bytes: 0, tMin: Infinity, tMax: -Infinity });
      }
    }
    this.closed.sort((a, b) => a.seq - b.seq);
    opens.sort((a, b) => a.seq - b.seq);
    for (const seg of opens) {
      const buf = readFileSync(seg.file);
      let o = 0;
      for (;;) {
        const len = validBatchAt(buf, o);
        if (len === 0) break;
        const d = scanBatch(buf.subarray(o + HEADER_BYTES, o + len), seg);
        if (d.kind === 'agg') closedToMs = d.closedToMs;
        o += len;
      }
      if (o < buf.length) {
        truncatedBytes += buf.length - o;
        const fd = openSync(seg.file, 'r+');
        ftruncateSync(fd, o);
        fdatasyncSync(fd);
        closeSync(fd);
      }
      seg.bytes = o;
    }
    // Only the newest open segment stays open; an older one (a crash during a rotation) is closed.
    const last = opens.pop();
    for (const seg of opens) this.closeFile(seg);
    this.closed.sort((a, b) => a.seq - b.seq);
    if (closedToMs === null) closedToMs = this.lastClosedTo();
    const maxSeq = Math.max(0, ...this.closed.map((s) => s.seq), last?.seq ?? 0);
    this.nextSeq = maxSeq + 1;
    if (last !== undefined) {
      this.active = last;
      this.activeOpenedAt = Number.isFinite(last.tMin) ? Math.min(last.tMin, now) : now;
    }
    return { truncatedBytes, closedToMs };
  }

  /** Appends one encoded batch to the open segment (opening one if needed) and makes it durable. */
  async append(batch: Buffer, tMin: number, tMax: number, now: number): Promise<void> {
    if (this.active !== undefined && (now - this.activeOpenedAt >= this.options.spanMs || this.active.bytes + batch.length > this.options.maxBytes) && this.active.bytes > 0) {
      await this.rotate();
    }
    if (this.active === undefined) {
      const seq = this.nextSeq++;
      this.active = { seq, file: join(this.options.dir, `${String(seq).padStart(8, '0')}.open`), bytes: 0, tMin: Infinity, tMax: -Infinity };
      this.activeOpenedAt = now;
    }
    if (this.handle === undefined) this.handle = await open(this.active.file, 'a', 0o600);
    // One write call per batch: the file only ever grows at its end.
    const { bytesWritten } = await this.handle.write(batch, 0, batch.length);
    if (bytesWritten !== batch.length) throw new Error(`short write to ${this.active.file}: ${bytesWritten} of ${batch.length} bytes`);
    if (this.options.fsync) await this.handle.datasync();
    this.active.bytes += batch.length;
    if (tMin < this.active.tMin) this.active.tMin = tMin;
    if (tMax > this.active.tMax) this.active.tMax = tMax;
  }

  /** Closes the open segment (renamed with its time range); the next append opens a new one. */
  async rotate(): Promise<void> {
    await this.detach()?.close();
  }

  /** Closes the open segment's name and state at once (synchronously); returns its handle to close. */
  private detach(): FileHandle | undefined {
    if (this.active === undefined) return undefined;
    const handle = this.handle;
    this.handle = undefined;
    const seg = this.active;
    this.active = undefined;
    this.closeFile(seg);
    return handle;
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }

  private closeFile(seg: SegmentInfo): void {
    if (seg.bytes === 0 || !Number.isFinite(seg.tMin)) {
      unlinkQuiet(seg.file);
      return;
    }
    const name = `${String(seg.seq).padStart(8, '0')}_${Math.floor(seg.tMin)}_${Math.ceil(seg.tMax)}.seg`;
    const file = join(this.options.dir, name);
    renameSync(seg.file, file);
    this.closed.push({ ...seg, file });
  }

  /** Segments oldest first, the open one last. */
  segments(): SegmentInfo[] {
    return this.active !== undefined && this.active.bytes > 0 ? [...this.closed, this.active] : [...this.closed];
  }

  get bytes(): number {
    let n = this.active?.bytes ?? 0;
    for (const s of this.closed) n += s.bytes;
    return n;
  }

  get oldestMs(): number | null {
    const t = Math.min(...this.segments().map((s) => s.tMin));
    return Number.isFinite(t) ? t : null;
  }

  /** Deletes the oldest closed segment; returns it, or undefined when only the open one is left. */
  dropOldest(): SegmentInfo | undefined {
    const seg = this.closed.shift();
    if (seg !== undefined) unlinkQuiet(seg.file);
    return seg;
  }

  /** Deletes closed segments whose newest record is older than `beforeMs`. */
  dropBefore(beforeMs: number): SegmentInfo[] {
    const gone: SegmentInfo[] = [];
    while (this.closed.length > 0 && this.closed[0]!.tMax < beforeMs) gone.push(this.dropOldest()!);
    return gone;
  }

  /**
   * Reads every record of `device` (every device when null) in segments overlapping
   * [fromMs, toMs]; the caller filters by time.
   */
  read(device: string | null, fromMs: number, toMs: number, onPoint: Parameters<typeof readBatch>[2]): void {
    for (const seg of this.segments()) {
      if (seg.tMax < fromMs || seg.tMin > toMs) continue;
      let buf: Buffer;
      try {
        buf = readFileSync(seg.file);
      } catch (err) {
        // Deleted by retention between the listing and the read: it held nothing still wanted.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      // The open segment may be growing while it is read: stop at the last whole batch.
      const end = Math.min(buf.length, seg.bytes);
      let o = 0;
      while (o + HEADER_BYTES <= end) {
        const len = HEADER_BYTES + buf.readUInt32LE(o + 4);
        if (o + len > end) break;
        readBatch(buf.subarray(o + HEADER_BYTES, o + len), device === null ? () => true : (d) => d === device, onPoint);
        o += len;
      }
    }
  }

  /** closed_to of the newest batch in the closed segments (used when no segment is open). */
  private lastClosedTo(): number | null {
    for (let i = this.closed.length - 1; i >= 0; i--) {
      const buf = readFileSync(this.closed[i]!.file);
      let o = 0;
      let last: number | null = null;
      for (;;) {
        const len = validBatchAt(buf, o);
        if (len === 0) break;
        const d = readBatch(buf.subarray(o + HEADER_BYTES, o + len), () => false, () => {});
        if (d.kind === 'agg') last = d.closedToMs;
        o += len;
      }
      if (last !== null) return last;
    }
    return null;
  }
}

/** Reads a batch to widen the segment's time range. */
function scanBatch(body: Buffer, seg: SegmentInfo): DecodedBatch {
  const kind = body[0] === 1 ? 'raw' : 'agg';
  return readBatch(
    body,
    () => true,
    (_d, _p, count, buf, base) => {
      for (let i = 0; i < count; i++) {
        const t = timeAt(buf, base, i, kind);
        if (t < seg.tMin) seg.tMin = t;
        if (t > seg.tMax) seg.tMax = t;
      }
    },
  );
}

function unlinkQuiet(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

