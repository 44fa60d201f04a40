/**
 * One tier's files: a directory of append-only segments, the newest one open for appending.
 *
 *   <dir>/00000042.open                  the segment being written
 *   <dir>/00000041_<tmin>_<tmax>.seg     closed: its time range is in its name, so retention,
 *                                        the size cap and queries pick files without reading them
 *
 *   <dir>/00000041_<tmin>_<tmax>.idx     where each device's blocks are in it, and where each batch is with
 *                                        its time range, written once at close
 *   <dir>/00000042.ckpt                  the open segment's state (length, time range, batches, index)
 *                                        as of a recent append: a restart reads only what follows it
 *
 * A segment is closed (renamed) when it spans `spanMs` or reaches `maxBytes`; whole closed
 * segments are deleted for retention and the size cap: nothing is ever rewritten. On open, a
 * segment left open by a crash is checked batch by batch and cut after the last whole batch:
 * from its checkpoint on when that is sound, from its start when not, a few MiB at a time.
 *
 * Every batch holds all devices, so a query for one device reads only that device's blocks:
 * their offsets are kept in memory for the open segment and in the `.idx` beside a closed one
 * (rebuilt by a scan when it is missing, e.g. after a crash during a rotation). In memory they
 * are u32 pairs in a typed array per device (see `Pairs`), as compact as in the files.
 */
import { closeSync, existsSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { crc32 } from './crc32.js';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { writeFileAtomic } from '../platform/atomic.js';
import { HEADER_BYTES, MAGIC, batchDirectory, batchHeader, readBatch, readDeviceBlock, timeAt, type BatchKind, type DecodedBatch, type OnPoint } from './format.js';

/**
 * Where a device's blocks are in one segment: absolute offset and length pairs, in file order,
 * in the first `n` u32 of `a`. Not a number[]: there a small integer takes 8 bytes (no pointer
 * compression on this Node) plus growth slack, and an open raw segment's index (100 devices, a
 * batch every 5 s: 720 pairs each an hour) took 0.54 MiB of heap after a short run, growing
 * towards 1.5 MiB an hour; here a pair takes 8 bytes, with the slack of doubling only while open.
 */
export interface Pairs {
  a: Uint32Array;
  n: number;
}

export type SegmentIndex = Map<string, Pairs>;

/** The open segment's batches in file order: where each starts and the time range of its records. */
export interface BatchTable {
  at: number[];
  tMin: number[];
  tMax: number[];
}

export interface SegmentInfo {
  seq: number;
  file: string;
  /** Bytes of the segment itself. */
  bytes: number;
  /** Bytes of its `.idx` (closed segments). */
  idxBytes: number;
  /** The open segment's index, kept as batches are appended. */
  index?: SegmentIndex;
  /** The open segment's batches, kept as they are appended. */
  batches?: BatchTable;
  /** closed_to of the open segment's newest aggregate batch; NaN when it has none. */
  closedToMs?: number;
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
  /** Bytes appended to the open segment between two checkpoints (at least; see `checkpointDue`). */
  checkpointBytes?: number;
  log?: Logger;
}

export interface Recovery {
  /** Bytes cut off the end of the open segment (a torn last batch). */
  truncatedBytes: number;
  /** closed_to of the newest batch of the tier, or null when the tier is empty. */
  closedToMs: number | null;
  /**
   * Bytes of segments read: of an open one only what follows its checkpoint when that was sound;
   * of closed ones only the newest for its closed_to, and only in an aggregate tier with none open.
   */
  scannedBytes: number;
  /** Open segments whose check started from their checkpoint. */
  checkpointsUsed: number;
}

const OPEN_RE = /^(\d{8})\.open$/;
const SEG_RE = /^(\d{8})_(-?\d+)_(-?\d+)\.seg$/;
const CKPT_RE = /^(\d{8})\.ckpt$/;
const IDX_MAGIC = 0x4957474d; // "MGWI"
const CKPT_MAGIC = 0x4b57474d; // "MGWK"
const CKPT_VERSION = 1;
/** Bytes read at a time when a segment is walked batch by batch. */
const CHUNK_BYTES = 4 * 1024 * 1024;
/**
 * A checkpoint is written once this much was appended since the last one: a restart then reads
 * at most about this much of the open segment (16 checkpoints in a full 64 MiB raw segment).
 */
const CHECKPOINT_BYTES = 4 * 1024 * 1024;
/**
 * ...and once the appended bytes are at least this many times the checkpoint itself, so the
 * checkpoints of a segment whose index is large for its size add at most 1/8 to the writes.
 */
const CHECKPOINT_RATIO = 8;
/** Closed segments whose index stays in memory between queries. */
const INDEX_CACHE = 32;

export class TierFiles {
  private closed: SegmentInfo[] = [];
  private active: SegmentInfo | undefined;
  private handle: FileHandle | undefined;
  private activeOpenedAt = 0;
  private nextSeq = 1;
  private readonly indexCache = new Map<string, SegmentIndex>();
  /** Length of the open segment its checkpoint covers (0: none), and the checkpoint's own size. */
  private checkpointedBytes = 0;
  private checkpointFileBytes = 0;
  /** Bytes read by `read` of whole segments or batches (every device): what a start reads after `recover`. */
  bytesReadAll = 0;

  constructor(private readonly options: TierFilesOptions) {}

  /** Lists the tier's files and repairs the open segment; synchronous, at start. */
  recover(now: number): Recovery {
    mkdirSync(this.options.dir, { recursive: true });
    let truncatedBytes = 0;
    let closedToMs: number | null = null;
    let scannedBytes = 0;
    let checkpointsUsed = 0;
    const opens: SegmentInfo[] = [];
    const checkpoints: string[] = [];
    for (const name of readdirSync(this.options.dir)) {
      const seg = SEG_RE.exec(name);
      const file = join(this.options.dir, name);
      if (seg) {
        const idx = idxFile(file);
        const idxBytes = existsSync(idx) ? statSync(idx).size : 0;
        this.closed.push({ seq: Number(seg[1]), file, bytes: statSync(file).size, idxBytes, tMin: Number(seg[2]), tMax: Number(seg[3]) });
      } else if (OPEN_RE.test(name)) {
        opens.push({ seq: Number(OPEN_RE.exec(name)![1]), file, bytes: 0, idxBytes: 0, tMin: Infinity, tMax: -Infinity, index: new Map(), batches: emptyTable(), closedToMs: Number.NaN });
      } else if (CKPT_RE.test(name)) {
        checkpoints.push(name);
      }
    }
    this.closed.sort((a, b) => a.seq - b.seq);
    opens.sort((a, b) => a.seq - b.seq);
    const newest = opens.at(-1);
    for (const seg of opens) {
      const size = statSync(seg.file).size;
      // Only the newest open segment has a checkpoint worth reading; an older one is closed below.
      const from = seg === newest ? this.applyCheckpoint(seg, size) : 0;
      if (from > 0) checkpointsUsed++;
      const fd = openSync(seg.file, 'r');
      let end: number;
      try {
        const walk = scanBatches(fd, from, size, true, (body, at) => scanBatch(body, seg, at));
        end = walk.end;
        scannedBytes += walk.bytesRead;
      } finally {
        closeSync(fd);
      }
      if (end < size) {
        truncatedBytes += size - end;
        const wfd = openSync(seg.file, 'r+');
        try {
          ftruncateSync(wfd, end);
          fdatasyncSync(wfd);
        } finally {
          closeSync(wfd);
        }
      }
      seg.bytes = end;
      if (!Number.isNaN(seg.closedToMs)) closedToMs = seg.closedToMs!;
    }
    // Only the newest open segment stays open; an older one (a crash during a rotation) is closed.
    const last = opens.pop();
    for (const seg of opens) this.closeFile(seg);
    // Checkpoints of segments closed since (a crash between a rotation and the checkpoint's removal).
    for (const name of checkpoints) if (last === undefined || name !== ckptName(last.seq)) unlinkQuiet(join(this.options.dir, name));
    this.closed.sort((a, b) => a.seq - b.seq);
    if (closedToMs === null) {
      const found = this.lastClosedTo();
      closedToMs = found.closedToMs;
      scannedBytes += found.bytesRead;
    }
    const maxSeq = Math.max(0, ...this.closed.map((s) => s.seq), last?.seq ?? 0);
    this.nextSeq = maxSeq + 1;
    if (last !== undefined) {
      this.active = last;
      this.activeOpenedAt = Number.isFinite(last.tMin) ? Math.min(last.tMin, now) : now;
    }
    return { truncatedBytes, closedToMs, scannedBytes, checkpointsUsed };
  }

  /**
   * Starts `seg` from its checkpoint when that is sound; returns the length it covers (0: none,
   * the whole segment is scanned). A checkpoint that is not sound is logged and deleted.
   */
  private applyCheckpoint(seg: SegmentInfo, size: number): number {
    const file = ckptFile(this.options.dir, seg.seq);
    let buf: Buffer;
    try {
      buf = readFileSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.options.log?.warn({ err, checkpoint: file }, 'history: checkpoint of the open segment cannot be read; the whole segment is scanned');
      return 0;
    }
    let problem: string;
    let ck: Checkpoint | undefined;
    try {
      ck = decodeCheckpoint(buf);
      problem = checkCheckpoint(ck, seg.seq, size, seg.file);
    } catch (err) {
      problem = (err as Error).message;
    }
    if (ck === undefined || problem !== '') {
      this.options.log?.warn({ checkpoint: file, segment: seg.file, problem }, 'history: checkpoint of the open segment ignored; the whole segment is scanned');
      unlinkQuiet(file);
      return 0;
    }
    seg.index = ck.index;
    seg.batches = ck.batches;
    seg.tMin = ck.tMin;
    seg.tMax = ck.tMax;
    seg.closedToMs = ck.closedToMs;
    this.checkpointedBytes = ck.bytes;
    this.checkpointFileBytes = buf.length;
    return ck.bytes;
  }

  /** Appends one encoded batch to the open segment (opening one if needed) and makes it durable. */
  async append(batch: Buffer, tMin: number, tMax: number, now: number): Promise<void> {
    if (this.active !== undefined && (now - this.activeOpenedAt >= this.options.spanMs || this.active.bytes + batch.length > this.options.maxBytes) && this.active.bytes > 0) {
      await this.rotate();
    }
    if (this.active === undefined) {
      const seq = this.nextSeq++;
      this.active = {
        seq,
        file: join(this.options.dir, `${String(seq).padStart(8, '0')}.open`),
        bytes: 0,
        idxBytes: 0,
        tMin: Infinity,
        tMax: -Infinity,
        index: new Map(),
        batches: emptyTable(),
        closedToMs: Number.NaN,
      };
      this.activeOpenedAt = now;
    }
    if (this.handle === undefined) this.handle = await open(this.active.file, 'a', 0o600);
    // One write call per batch: the file only ever grows at its end.
    const { bytesWritten } = await this.handle.write(batch, 0, batch.length);
    if (bytesWritten !== batch.length) throw new Error(`short write to ${this.active.file}: ${bytesWritten} of ${batch.length} bytes`);
    if (this.options.fsync) await this.handle.datasync();
    const body = batch.subarray(HEADER_BYTES);
    addToIndex(this.active.index!, body, this.active.bytes);
    const table = this.active.batches!;
    table.at.push(this.active.bytes);
    table.tMin.push(tMin);
    table.tMax.push(tMax);
    const header = batchHeader(body);
    if (header.kind === 'agg') this.active.closedToMs = header.closedToMs;
    this.active.bytes += batch.length;
    if (tMin < this.active.tMin) this.active.tMin = tMin;
    if (tMax > this.active.tMax) this.active.tMax = tMax;
    if (this.checkpointDue()) await this.checkpoint();
  }

  private checkpointDue(): boolean {
    if (this.active === undefined) return false;
    const since = this.active.bytes - this.checkpointedBytes;
    return since >= Math.max(this.options.checkpointBytes ?? CHECKPOINT_BYTES, CHECKPOINT_RATIO * this.checkpointFileBytes);
  }

  /**
   * Writes the open segment's checkpoint (atomically, next to it). The segment's bytes are made
   * durable first, so a checkpoint never vouches for bytes a power cut could still take back.
   * A failure is logged: the next start then scans more, nothing is lost.
   */
  private async checkpoint(): Promise<void> {
    const seg = this.active;
    if (seg === undefined || seg.bytes === 0) return;
    const bytes = seg.bytes;
    const file = ckptFile(this.options.dir, seg.seq);
    let buf: Buffer;
    try {
      // Encoded before any await: the state of exactly `bytes`.
      buf = encodeCheckpoint(seg);
      if (!this.options.fsync) {
        if (this.handle !== undefined) await this.handle.datasync();
        else {
          const h = await open(seg.file, 'r');
          try {
            await h.datasync();
          } finally {
            await h.close();
          }
        }
      }
      await writeFileAtomic(file, buf);
    } catch (err) {
      this.options.log?.warn({ err, checkpoint: file }, 'history: checkpoint of the open segment not written; the next start scans more of it');
      // Tried again after as many bytes more, not after every batch.
      if (this.active === seg) this.checkpointedBytes = bytes;
      return;
    }
    if (this.active !== seg) {
      // Rotated while it was written: the closed segment has its .idx.
      unlinkQuiet(file);
      return;
    }
    this.checkpointedBytes = bytes;
    this.checkpointFileBytes = buf.length;
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
    this.checkpointedBytes = 0;
    this.checkpointFileBytes = 0;
    this.closeFile(seg);
    return handle;
  }

  /** Closes the files; the open segment stays open for the next start, with its checkpoint up to date. */
  async close(): Promise<void> {
    if (this.active !== undefined && this.active.bytes > this.checkpointedBytes) await this.checkpoint();
    await this.handle?.close();
    this.handle = undefined;
  }

  private closeFile(seg: SegmentInfo): void {
    const ckpt = ckptFile(this.options.dir, seg.seq);
    if (seg.bytes === 0 || !Number.isFinite(seg.tMin)) {
      unlinkQuiet(seg.file);
      unlinkQuiet(ckpt);
      return;
    }
    const name = `${String(seg.seq).padStart(8, '0')}_${Math.floor(seg.tMin)}_${Math.ceil(seg.tMax)}.seg`;
    const file = join(this.options.dir, name);
    renameSync(seg.file, file);
    const closed: SegmentInfo = { seq: seg.seq, file, bytes: seg.bytes, idxBytes: 0, tMin: seg.tMin, tMax: seg.tMax };
    if (seg.index !== undefined) {
      closed.idxBytes = writeIndex(idxFile(file), seg.index, seg.batches);
      this.cacheIndex(file, trimIndex(seg.index));
    }
    // The .idx replaces it; one left by a crash before this line is deleted by the next recover.
    unlinkQuiet(ckpt);
    this.closed.push(closed);
  }

  /** Segments oldest first, the open one last. */
  segments(): SegmentInfo[] {
    return this.active !== undefined && this.active.bytes > 0 ? [...this.closed, this.active] : [...this.closed];
  }

  get bytes(): number {
    let n = (this.active?.bytes ?? 0) + this.checkpointFileBytes;
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
   * [fromMs, toMs]; the caller filters by time. For every device, the open segment is read only
   * in the batches whose time range overlaps.
   */
  read(device: string | null, fromMs: number, toMs: number, onPoint: OnPoint): void {
    for (const seg of this.segments()) {
      if (seg.tMax < fromMs || seg.tMin > toMs) continue;
      try {
        if (device === null) this.readAll(seg, fromMs, toMs, onPoint);
        else this.readDevice(seg, device, onPoint);
      } catch (err) {
        // Deleted by retention between the listing and the read: it held nothing still wanted.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
    }
  }

  private readAll(seg: SegmentInfo, fromMs: number, toMs: number, onPoint: OnPoint): void {
    const fd = openSync(seg.file, 'r');
    try {
      const table = seg.batches ?? this.closedBatchTable(seg);
      if (table === undefined) {
        // A closed segment whose .idx has no batch table: walked whole, a few MiB at a time.
        this.bytesReadAll += scanBatches(fd, 0, seg.bytes, false, (body) => void readBatch(body, () => true, onPoint)).bytesRead;
        return;
      }
      // Only the batches whose time range overlaps. The open segment may be growing while it is
      // read: its table ends at the last whole batch.
      let buf = Buffer.allocUnsafe(0);
      const n = table.at.length;
      for (let i = 0; i < n; i++) {
        if (table.tMax[i]! < fromMs || table.tMin[i]! > toMs) continue;
        const at = table.at[i]!;
        const len = (i + 1 < n ? table.at[i + 1]! : seg.bytes) - at;
        if (buf.length < len) buf = Buffer.allocUnsafe(Math.max(len, 64 * 1024));
        const got = readFull(fd, buf, len, at);
        this.bytesReadAll += got;
        // Shorter than its table says (cut behind the store's back): what is there is read.
        if (got !== len) break;
        readBatch(buf.subarray(HEADER_BYTES, len), () => true, onPoint);
      }
    } finally {
      closeSync(fd);
    }
  }

  /** The batch table in a closed segment's .idx, when it has a sound one (not kept: read at start only). */
  private closedBatchTable(seg: SegmentInfo): BatchTable | undefined {
    const table = readIndexFile(idxFile(seg.file))?.batches;
    return table !== undefined && tableFits(table, seg.bytes) ? table : undefined;
  }

  /** Reads only the device's blocks, one pread each, by the segment's index. */
  private readDevice(seg: SegmentInfo, device: string, onPoint: OnPoint): void {
    const pairs = this.indexOf(seg).get(device);
    if (pairs === undefined || pairs.n === 0) return;
    const { a, n: end } = pairs;
    let largest = 0;
    for (let i = 1; i < end; i += 2) largest = Math.max(largest, a[i]!);
    const buf = Buffer.allocUnsafe(largest);
    const fd = openSync(seg.file, 'r');
    try {
      for (let i = 0; i < end; i += 2) {
        const off = a[i]!;
        const len = a[i + 1]!;
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
      const built: SegmentIndex = new Map();
      const fd = openSync(seg.file, 'r');
      try {
        scanBatches(fd, 0, seg.bytes, true, (body, at) => addToIndex(built, body, at));
      } finally {
        closeSync(fd);
      }
      seg.idxBytes = writeIndex(idxFile(seg.file), built);
      index = trimIndex(built);
    }
    this.cacheIndex(seg.file, index);
    return index;
  }

  private cacheIndex(file: string, index: SegmentIndex): void {
    this.indexCache.delete(file);
    this.indexCache.set(file, index);
    while (this.indexCache.size > INDEX_CACHE) this.indexCache.delete(this.indexCache.keys().next().value!);
  }

  /** closed_to of the newest batch in the closed segments (used when no segment is open); raw tiers have none. */
  private lastClosedTo(): { closedToMs: number | null; bytesRead: number } {
    let bytesRead = 0;
    if (this.options.kind !== 'agg') return { closedToMs: null, bytesRead };
    for (let i = this.closed.length - 1; i >= 0; i--) {
      const seg = this.closed[i]!;
      let last: number | null = null;
      const fd = openSync(seg.file, 'r');
      try {
        bytesRead += scanBatches(fd, 0, seg.bytes, true, (body) => {
          const d = batchDirectory(body);
          if (d.kind === 'agg') last = d.closedToMs;
        }).bytesRead;
      } finally {
        closeSync(fd);
      }
      if (last !== null) return { closedToMs: last, bytesRead };
    }
    return { closedToMs: null, bytesRead };
  }
}

/** Reads a batch to widen the segment's time range, index its device blocks and add it to the batch table. */
function scanBatch(body: Buffer, seg: SegmentInfo, at: number): DecodedBatch {
  const { kind } = batchHeader(body);
  if (seg.index !== undefined) addToIndex(seg.index, body, at);
  let lo = Infinity;
  let hi = -Infinity;
  const d = readBatch(
    body,
    () => true,
    (_d, _p, count, buf, base) => {
      for (let i = 0; i < count; i++) {
        const t = timeAt(buf, base, i, kind);
        if (t < lo) lo = t;
        if (t > hi) hi = t;
      }
    },
  );
  if (lo < seg.tMin) seg.tMin = lo;
  if (hi > seg.tMax) seg.tMax = hi;
  if (seg.batches !== undefined) {
    seg.batches.at.push(at);
    seg.batches.tMin.push(lo);
    seg.batches.tMax.push(hi);
  }
  if (d.kind === 'agg') seg.closedToMs = d.closedToMs;
  return d;
}

const emptyTable = (): BatchTable => ({ at: [], tMin: [], tMax: [] });

/**
 * Walks the batches of a file from `start` (a batch boundary) to `end`, reading CHUNK_BYTES at
 * a time (more only for a batch that is larger), never the whole file at once. With `check`, a
 * batch needs its magic and CRC: the walk ends before the first that is torn or not a batch.
 * Returns where the last whole batch ends and the bytes read.
 */
function scanBatches(fd: number, start: number, end: number, check: boolean, onBatch: (body: Buffer, at: number) => void): { end: number; bytesRead: number } {
  let buf = Buffer.allocUnsafe(Math.max(0, Math.min(CHUNK_BYTES, end - start)));
  let bufAt = start;
  let bufLen = 0;
  let bytesRead = 0;
  /** Makes [at, at + need) be in `buf`; false when the file ends first. */
  const fill = (at: number, need: number): boolean => {
    if (at >= bufAt && at + need <= bufAt + bufLen) return true;
    if (at + need > end) return false;
    const want = Math.min(Math.max(CHUNK_BYTES, need), end - at);
    if (buf.length < want) buf = Buffer.allocUnsafe(want);
    const n = readFull(fd, buf, want, at);
    bytesRead += n;
    bufAt = at;
    bufLen = n;
    return n >= need;
  };
  let o = start;
  while (fill(o, HEADER_BYTES)) {
    let p = o - bufAt;
    if (check && buf.readUInt32LE(p) !== MAGIC) break;
    const len = HEADER_BYTES + buf.readUInt32LE(p + 4);
    if (!fill(o, len)) break;
    p = o - bufAt;
    const body = buf.subarray(p + HEADER_BYTES, p + len);
    if (check && crc32(body) !== buf.readUInt32LE(p + 8)) break;
    onBatch(body, o);
    o += len;
  }
  return { end: o, bytesRead };
}

/** Reads `len` bytes at `position` into the start of `buf`; returns how many there were. */
function readFull(fd: number, buf: Buffer, len: number, position: number): number {
  let n = 0;
  while (n < len) {
    const r = readSync(fd, buf, n, len - n, position + n);
    if (r === 0) break;
    n += r;
  }
  return n;
}

function idxFile(segFile: string): string {
  return segFile.replace(/\.seg$/, '.idx');
}

const ckptName = (seq: number): string => `${String(seq).padStart(8, '0')}.ckpt`;
const ckptFile = (dir: string, seq: number): string => join(dir, ckptName(seq));

/** Adds the device blocks of a batch whose header starts at `at` in its segment. */
function addToIndex(index: SegmentIndex, body: Buffer, at: number): void {
  for (const b of batchDirectory(body).blocks) {
    let pairs = index.get(b.device);
    if (pairs === undefined) index.set(b.device, (pairs = { a: new Uint32Array(PAIRS_START), n: 0 }));
    pushPair(pairs, at + HEADER_BYTES + b.start, b.length);
  }
}

/** u32 a device's pairs start with: 8 pairs, 64 bytes, the most V8 keeps on its heap without a separate buffer. */
const PAIRS_START = 16;

/** Appends a pair, doubling the array when it is full: few copies while an hour of batches comes in. */
function pushPair(p: Pairs, offset: number, length: number): void {
  if (p.n + 2 > p.a.length) {
    const a = new Uint32Array(Math.max(PAIRS_START, p.a.length * 2));
    a.set(p.a.subarray(0, p.n));
    p.a = a;
  }
  p.a[p.n] = offset;
  p.a[p.n + 1] = length;
  p.n += 2;
}

/** Drops the growth slack of an index that is complete (its segment closed): it stays cached as is. */
function trimIndex(index: SegmentIndex): SegmentIndex {
  for (const p of index.values()) if (p.a.length > p.n) p.a = p.a.slice(0, p.n);
  return index;
}

/** Bytes of an index's entries: u32 devices | per device: u8 name length, name, u32 pairs, (u32 offset, u32 length)... */
function indexEntriesSize(index: SegmentIndex): number {
  let size = 4;
  for (const [device, pairs] of index) size += 1 + Buffer.byteLength(device) + 4 + pairs.n * 4;
  return size;
}

function writeIndexEntries(buf: Buffer, at: number, index: SegmentIndex): number {
  buf.writeUInt32LE(index.size, at);
  let o = at + 4;
  for (const [device, pairs] of index) {
    const n = buf.write(device, o + 1, 'utf8');
    buf[o] = n;
    o += 1 + n;
    buf.writeUInt32LE(pairs.n / 2, o);
    o += 4;
    for (let i = 0; i < pairs.n; i++, o += 4) buf.writeUInt32LE(pairs.a[i]!, o);
  }
  return o;
}

/** Reads the entries written by writeIndexEntries; throws (RangeError) when they overrun `end`. */
function readIndexEntries(buf: Buffer, at: number, end: number): { index: SegmentIndex; end: number } {
  const view = buf.subarray(0, end);
  const index: SegmentIndex = new Map();
  const devices = view.readUInt32LE(at);
  let o = at + 4;
  for (let d = 0; d < devices; d++) {
    const n = view.readUInt8(o);
    if (o + 1 + n > end) throw new RangeError('index entry overruns the file');
    const device = view.toString('utf8', o + 1, o + 1 + n);
    o += 1 + n;
    const count = view.readUInt32LE(o);
    o += 4;
    if (o + count * 8 > end) throw new RangeError('index entry overruns the file');
    // Exactly its pairs: a closed segment's index never grows; an open one's grows on its next append.
    const a = new Uint32Array(count * 2);
    for (let i = 0; i < count * 2; i++, o += 4) a[i] = view.readUInt32LE(o);
    index.set(device, { a, n: count * 2 });
  }
  return { index, end: o };
}

const BATCH_ENTRY = 4 + 8 + 8;
const batchTableSize = (table: BatchTable): number => 4 + table.at.length * BATCH_ENTRY;

/** u32 batches | per batch: u32 offset, f64 tmin, f64 tmax */
function writeBatchTable(buf: Buffer, at: number, table: BatchTable): number {
  const n = table.at.length;
  buf.writeUInt32LE(n, at);
  let o = at + 4;
  for (let i = 0; i < n; i++, o += BATCH_ENTRY) {
    buf.writeUInt32LE(table.at[i]!, o);
    buf.writeDoubleLE(table.tMin[i]!, o + 4);
    buf.writeDoubleLE(table.tMax[i]!, o + 12);
  }
  return o;
}

function readBatchTable(buf: Buffer, at: number, end: number): { table: BatchTable; end: number } {
  const n = buf.subarray(0, end).readUInt32LE(at);
  if (at + 4 + n * BATCH_ENTRY > end) throw new RangeError('batch table overruns the file');
  const table = emptyTable();
  let o = at + 4;
  for (let i = 0; i < n; i++, o += BATCH_ENTRY) {
    table.at.push(buf.readUInt32LE(o));
    table.tMin.push(buf.readDoubleLE(o + 4));
    table.tMax.push(buf.readDoubleLE(o + 12));
  }
  return { table, end: o };
}

/** Whether a batch table can describe a segment of `bytes`: starts at 0, in order, inside it. */
function tableFits(table: BatchTable, bytes: number): boolean {
  const { at } = table;
  if (at.length === 0 || at[0] !== 0) return false;
  for (let i = 1; i < at.length; i++) if (at[i]! <= at[i - 1]!) return false;
  return at.at(-1)! + HEADER_BYTES <= bytes;
}

/**
 * u32 magic | u32 devices | per device: u8 name length, name, u32 pairs, (u32 offset, u32 length)...
 * | batch table (optional: an index written before it has none, an older reader stops before it) | u32 crc32
 */
function writeIndex(file: string, index: SegmentIndex, batches?: BatchTable): number {
  const size = 4 + indexEntriesSize(index) + (batches !== undefined ? batchTableSize(batches) : 0) + 4;
  const buf = Buffer.allocUnsafe(size);
  buf.writeUInt32LE(IDX_MAGIC, 0);
  let o = writeIndexEntries(buf, 4, index);
  if (batches !== undefined) o = writeBatchTable(buf, o, batches);
  buf.writeUInt32LE(crc32(buf.subarray(0, o)), o);
  // Written whole or not at all; a lost index is rebuilt from its segment.
  writeFileSync(`${file}.tmp`, buf, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
  return size;
}

function readIndex(file: string): SegmentIndex | undefined {
  return readIndexFile(file)?.index;
}

function readIndexFile(file: string): { index: SegmentIndex; batches: BatchTable | undefined } | undefined {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return undefined;
  }
  if (buf.length < 12 || buf.readUInt32LE(0) !== IDX_MAGIC || crc32(buf.subarray(0, buf.length - 4)) !== buf.readUInt32LE(buf.length - 4)) return undefined;
  try {
    const entries = readIndexEntries(buf, 4, buf.length - 4);
    const batches = entries.end < buf.length - 4 ? readBatchTable(buf, entries.end, buf.length - 4).table : undefined;
    return { index: entries.index, batches };
  } catch {
    return undefined;
  }
}

/** The open segment's state as of a length of it, as a checkpoint holds it. */
interface Checkpoint {
  seq: number;
  bytes: number;
  tMin: number;
  tMax: number;
  closedToMs: number;
  batches: BatchTable;
  index: SegmentIndex;
}

const CKPT_HEADER = 4 + 4 + 4 + 4 + 8 + 8 + 8;

/**
 * u32 magic "MGWK" | u32 version | u32 seq | u32 bytes covered | f64 tmin | f64 tmax | f64 closed_to (NaN: none)
 * | u32 batches | per batch: u32 offset, f64 tmin, f64 tmax | index entries as in a .idx | u32 crc32
 */
function encodeCheckpoint(seg: SegmentInfo): Buffer {
  const table = seg.batches ?? emptyTable();
  const index: SegmentIndex = seg.index ?? new Map();
  const buf = Buffer.allocUnsafe(CKPT_HEADER + batchTableSize(table) + indexEntriesSize(index) + 4);
  buf.writeUInt32LE(CKPT_MAGIC, 0);
  buf.writeUInt32LE(CKPT_VERSION, 4);
  buf.writeUInt32LE(seg.seq, 8);
  buf.writeUInt32LE(seg.bytes, 12);
  buf.writeDoubleLE(seg.tMin, 16);
  buf.writeDoubleLE(seg.tMax, 24);
  buf.writeDoubleLE(seg.closedToMs ?? Number.NaN, 32);
  const o = writeIndexEntries(buf, writeBatchTable(buf, CKPT_HEADER, table), index);
  buf.writeUInt32LE(crc32(buf.subarray(0, o)), o);
  return buf;
}

/** Decodes a checkpoint; throws with what is wrong when its bytes are not one. */
function decodeCheckpoint(buf: Buffer): Checkpoint {
  if (buf.length < CKPT_HEADER + 4) throw new Error(`${buf.length} bytes, shorter than a checkpoint`);
  if (buf.readUInt32LE(0) !== CKPT_MAGIC) throw new Error('not a checkpoint (magic)');
  if (crc32(buf.subarray(0, buf.length - 4)) !== buf.readUInt32LE(buf.length - 4)) throw new Error('checksum mismatch (torn or corrupt)');
  const version = buf.readUInt32LE(4);
  if (version !== CKPT_VERSION) throw new Error(`unknown checkpoint version ${version}`);
  const end = buf.length - 4;
  const { table: batches, end: o } = readBatchTable(buf, CKPT_HEADER, end);
  const entries = readIndexEntries(buf, o, end);
  if (entries.end !== end) throw new Error(`${end - entries.end} stray bytes after the index`);
  return { seq: buf.readUInt32LE(8), bytes: buf.readUInt32LE(12), tMin: buf.readDoubleLE(16), tMax: buf.readDoubleLE(24), closedToMs: buf.readDoubleLE(32), batches, index: entries.index };
}

/**
 * Whether a checkpoint fits the open segment `seq` of `size` bytes: '' when it does, else what is
 * wrong. Besides its own shape, the last batch it covers must be whole and valid in the file
 * where it says, so a checkpoint can only describe these very bytes.
 */
function checkCheckpoint(ck: Checkpoint, seq: number, size: number, file: string): string {
  if (ck.seq !== seq) return `written for segment ${ck.seq}, not ${seq}`;
  if (ck.bytes > size) return `covers ${ck.bytes} bytes, the segment has ${size}`;
  const { at, tMin, tMax } = ck.batches;
  if (!tableFits(ck.batches, ck.bytes)) return 'batch table does not fit the length it covers';
  for (let i = 0; i < at.length; i++) if (tMin[i]! < ck.tMin || tMax[i]! > ck.tMax) return 'batch time range outside the segment time range';
  for (const { a, n } of ck.index.values()) {
    for (let i = 0; i < n; i += 2) if (a[i]! + a[i + 1]! > ck.bytes) return 'index points past the length it covers';
  }
  const lastAt = at.at(-1)!;
  const len = ck.bytes - lastAt;
  const buf = Buffer.allocUnsafe(len);
  const fd = openSync(file, 'r');
  try {
    if (readFull(fd, buf, len, lastAt) !== len) return 'segment shorter than the checkpoint says';
  } finally {
    closeSync(fd);
  }
  if (buf.readUInt32LE(0) !== MAGIC || HEADER_BYTES + buf.readUInt32LE(4) !== len || crc32(buf.subarray(HEADER_BYTES)) !== buf.readUInt32LE(8)) {
    return 'its last batch is not in the segment where it says';
  }
  return '';
}

function unlinkQuiet(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
