/**
 * One tier's files: a directory of append-only segments, the newest one open for appending.
 *
 *   <dir>/00000042.open                  the segment being written
 *   <dir>/00000041_<tmin>_<tmax>.seg     closed: its time range is in its name, so retention,
 *                                        the size cap and queries pick files without reading them
 *
 *   <dir>/00000041_<tmin>_<tmax>.idx     where each device's blocks are in it, written once at close
 *
 * A segment is closed (renamed) when it spans `spanMs` or reaches `maxBytes`; whole closed
 * segments are deleted for retention and the size cap: nothing is ever rewritten. On open, a
 * segment left open by a crash is checked batch by batch and cut after the last whole batch.
 *
 * Every batch holds all devices, so a query for one device reads only that device's blocks:
 * their offsets are kept in memory for the open segment and in the `.idx` beside a closed one
 * (rebuilt by a scan when it is missing, e.g. after a crash during a rotation).
 */
import { closeSync, existsSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { crc32 } from './crc32.js';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { HEADER_BYTES, batchDirectory, readBatch, readDeviceBlock, timeAt, validBatchAt, type BatchKind, type DecodedBatch, type OnPoint } from './format.js';

/** Where a device's blocks are in one segment: absolute offset and length pairs, in file order. */
export type SegmentIndex = Map<string, number[]>;

export interface SegmentInfo {
  seq: number;
  file: string;
  /** Bytes of the segment itself. */
  bytes: number;
  /** Bytes of its `.idx` (closed segments). */
  idxBytes: number;
  /** The open segment's index, kept as batches are appended. */
  index?: SegmentIndex;
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
  /** Raw samples or aggregates: how a device block's records are read. */
  kind: BatchKind;
}

export interface Recovery {
  /** Bytes cut off the end of the open segment (a torn last batch). */
  truncatedBytes: number;
  /** closed_to of the newest batch of the tier, or null when the tier is empty. */
  closedToMs: number | null;
}

const OPEN_RE = /^(\d{8})\.open$/;
const SEG_RE = /^(\d{8})_(-?\d+)_(-?\d+)\.seg$/;
const IDX_MAGIC = 0x4957474d; // "MGWI"
/** Closed segments whose index stays in memory between queries. */
const INDEX_CACHE = 32;

export class TierFiles {
  private closed: SegmentInfo[] = [];
  private active: SegmentInfo | undefined;
  private handle: FileHandle | undefined;
  private activeOpenedAt = 0;
  private nextSeq = 1;
  private readonly indexCache = new Map<string, SegmentIndex>();

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
        const idx = idxFile(file);
        const idxBytes = existsSync(idx) ? statSync(idx).size : 0;
        this.closed.push({ seq: Number(seg[1]), file, bytes: statSync(file).size, idxBytes, tMin: Number(seg[2]), tMax: Number(seg[3]) });
      } else if (OPEN_RE.test(name)) {
        opens.push({ seq: Number(OPEN_RE.exec(name)![1]), file, bytes: 0, idxBytes: 0, tMin: Infinity, tMax: -Infinity, index: new Map() });
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
        const d = scanBatch(buf.subarray(o + HEADER_BYTES, o + len), seg, o);
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
      this.active = { seq, file: join(this.options.dir, `${String(seq).padStart(8, '0')}.open`), bytes: 0, idxBytes: 0, tMin: Infinity, tMax: -Infinity, index: new Map() };
      this.activeOpenedAt = now;
    }
    if (this.handle === undefined) this.handle = await open(this.active.file, 'a', 0o600);
    // One write call per batch: the file only ever grows at its end.
    const { bytesWritten } = await this.handle.write(batch, 0, batch.length);
    if (bytesWritten !== batch.length) throw new Error(`short write to ${this.active.file}: ${bytesWritten} of ${batch.length} bytes`);
    if (this.options.fsync) await this.handle.datasync();
    addToIndex(this.active.index!, batch.subarray(HEADER_BYTES), this.active.bytes);
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
    const closed: SegmentInfo = { seq: seg.seq, file, bytes: seg.bytes, idxBytes: 0, tMin: seg.tMin, tMax: seg.tMax };
    if (seg.index !== undefined) {
      closed.idxBytes = writeIndex(idxFile(file), seg.index);
      this.cacheIndex(file, seg.index);
    }
    this.closed.push(closed);
  }

  /** Segments oldest first, the open one last. */
  segments(): SegmentInfo[] {
    return this.active !== undefined && this.active.bytes > 0 ? [...this.closed, this.active] : [...this.closed];
  }

  get bytes(): number {
    let n = this.active?.bytes ?? 0;
    for (const s of this.closed) n += s.bytes + s.idxBytes;
    return n;
  }

  get oldestMs(): number | null {
    const t = Math.min(...this.segments().map((s) => s.tMin));
    return Number.isFinite(t) ? t : null;
  }

  /** Deletes the oldest closed segment; returns it, or undefined when only the open one is left. */
  dropOldest(): SegmentInfo | undefined {
    const seg = this.closed.shift();
    if (seg !== undefined) {
      unlinkQuiet(seg.file);
      unlinkQuiet(idxFile(seg.file));
      this.indexCache.delete(seg.file);
    }
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
  read(device: string | null, fromMs: number, toMs: number, onPoint: OnPoint): void {
    for (const seg of this.segments()) {
      if (seg.tMax < fromMs || seg.tMin > toMs) continue;
      try {
        if (device === null) this.readAll(seg, onPoint);
        else this.readDevice(seg, device, onPoint);
      } catch (err) {
        // Deleted by retention between the listing and the read: it held nothing still wanted.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
    }
  }

  private readAll(seg: SegmentInfo, onPoint: OnPoint): void {
    const buf = readFileSync(seg.file);
    // The open segment may be growing while it is read: stop at the last whole batch.
    const end = Math.min(buf.length, seg.bytes);
    let o = 0;
    while (o + HEADER_BYTES <= end) {
      const len = HEADER_BYTES + buf.readUInt32LE(o + 4);
      if (o + len > end) break;
      readBatch(buf.subarray(o + HEADER_BYTES, o + len), () => true, onPoint);
      o += len;
    }
  }

  /** Reads only the device's blocks, one pread each, by the segment's index. */
  private readDevice(seg: SegmentInfo, device: string, onPoint: OnPoint): void {
    const pairs = this.indexOf(seg).get(device);
    if (pairs === undefined || pairs.length === 0) return;
    let largest = 0;
    for (let i = 1; i < pairs.length; i += 2) largest = Math.max(largest, pairs[i]!);
    const buf = Buffer.allocUnsafe(largest);
    const fd = openSync(seg.file, 'r');
    try {
      for (let i = 0; i < pairs.length; i += 2) {
        const off = pairs[i]!;
        const len = pairs[i + 1]!;
        if (off + len > seg.bytes) break;
        const n = readSync(fd, buf, 0, len, off);
        if (n !== len) throw new Error(`${seg.file}: short read at ${off}`);
        readDeviceBlock(buf.subarray(0, len), this.options.kind, device, onPoint);
      }
    } finally {
      closeSync(fd);
    }
  }

  private indexOf(seg: SegmentInfo): SegmentIndex {
    if (seg.index !== undefined) return seg.index;
    const cached = this.indexCache.get(seg.file);
    if (cached !== undefined) return cached;
    let index = readIndex(idxFile(seg.file));
    if (index === undefined) {
      // No index (a crash between the rename and its write): one scan, and it is written now.
      index = new Map();
      const buf = readFileSync(seg.file);
      let o = 0;
      for (;;) {
        const len = validBatchAt(buf, o);
        if (len === 0) break;
        addToIndex(index, buf.subarray(o + HEADER_BYTES, o + len), o);
        o += len;
      }
      seg.idxBytes = writeIndex(idxFile(seg.file), index);
    }
    this.cacheIndex(seg.file, index);
    return index;
  }

  private cacheIndex(file: string, index: SegmentIndex): void {
    this.indexCache.delete(file);
    this.indexCache.set(file, index);
    while (this.indexCache.size > INDEX_CACHE) this.indexCache.delete(this.indexCache.keys().next().value!);
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

/** Reads a batch to widen the segment's time range and index its device blocks. */
function scanBatch(body: Buffer, seg: SegmentInfo, at: number): DecodedBatch {
  const kind = body[0] === 1 ? 'raw' : 'agg';
  if (seg.index !== undefined) addToIndex(seg.index, body, at);
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

function idxFile(segFile: string): string {
  return segFile.replace(/\.seg$/, '.idx');
}

/** Adds the device blocks of a batch whose header starts at `at` in its segment. */
function addToIndex(index: SegmentIndex, body: Buffer, at: number): void {
  for (const b of batchDirectory(body).blocks) {
    let pairs = index.get(b.device);
    if (pairs === undefined) index.set(b.device, (pairs = []));
    pairs.push(at + HEADER_BYTES + b.start, b.length);
  }
}

/** u32 magic | u32 devices | per device: u8 name length, name, u32 pairs, (u32 offset, u32 length)... | u32 crc32 */
function writeIndex(file: string, index: SegmentIndex): number {
  let size = 8 + 4;
  for (const [device, pairs] of index) size += 1 + Buffer.byteLength(device) + 4 + pairs.length * 4;
  const buf = Buffer.allocUnsafe(size);
  buf.writeUInt32LE(IDX_MAGIC, 0);
  buf.writeUInt32LE(index.size, 4);
  let o = 8;
  for (const [device, pairs] of index) {
    const n = buf.write(device, o + 1, 'utf8');
    buf[o] = n;
    o += 1 + n;
    buf.writeUInt32LE(pairs.length / 2, o);
    o += 4;
    for (const x of pairs) {
      buf.writeUInt32LE(x, o);
      o += 4;
    }
  }
  buf.writeUInt32LE(crc32(buf.subarray(0, o)), o);
  // Written whole or not at all; a lost index is rebuilt from its segment.
  writeFileSync(`${file}.tmp`, buf, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
  return size;
}

function readIndex(file: string): SegmentIndex | undefined {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return undefined;
  }
  if (buf.length < 12 || buf.readUInt32LE(0) !== IDX_MAGIC || crc32(buf.subarray(0, buf.length - 4)) !== buf.readUInt32LE(buf.length - 4)) return undefined;
  const index: SegmentIndex = new Map();
  const devices = buf.readUInt32LE(4);
  let o = 8;
  for (let d = 0; d < devices; d++) {
    const n = buf[o]!;
    const device = buf.toString('utf8', o + 1, o + 1 + n);
    o += 1 + n;
    const count = buf.readUInt32LE(o);
    o += 4;
    const pairs = new Array<number>(count * 2);
    for (let i = 0; i < count * 2; i++, o += 4) pairs[i] = buf.readUInt32LE(o);
    index.set(device, pairs);
  }
  return index;
}

function unlinkQuiet(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

