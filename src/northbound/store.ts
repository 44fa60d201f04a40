/**
 * Store-and-forward: what could not be published (broker unreachable, primary host offline) waits
 * here, in order, and survives a restart of the gateway.
 *
 * On disk: `<dir>/seg-<first record number>.jsonl` files of one JSON line per record
 * (`{"n":<number>,"r":<record>}`), appended only, and `<dir>/cursor` with the number of the last
 * record forwarded. Records appended in one tick go out in one write(2), so a record is in the
 * page cache (and survives a crash of the process) as soon as the tick ends; fdatasync runs at
 * most every `fsyncIntervalMs`, so a power cut loses at most that much while the SD card is not
 * written to for every change. A line torn by a power cut is cut off on the next start.
 *
 * Bounded by `maxBytes` of files: past it the oldest file is deleted whole and its records that
 * were not yet forwarded are counted as dropped and logged. A file whose records are all forwarded
 * is deleted. The records are mirrored in memory (up to `maxBytes`), so forwarding never reads.
 */
import { closeSync, fdatasync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, truncateSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';

export interface ForwardStoreOptions {
  dir: string;
  maxBytes: number;
  segmentBytes: number;
  fsyncIntervalMs: number;
  log: Logger;
}

interface Entry<T> {
  n: number;
  segment: Segment;
  bytes: number;
  record: T;
}

interface Segment {
  first: number;
  file: string;
  bytes: number;
  /** Records of this file not yet forwarded nor dropped. */
  pending: number;
  fd: number | undefined;
}

export interface StoreCounters {
  /** Records waiting now. */
  queued: number;
  queued_bytes: number;
  stored_total: number;
  forwarded_total: number;
  dropped_total: number;
  /** Lines found unreadable at start (torn or corrupt). */
  corrupt_total: number;
  write_errors_total: number;
}

const SEGMENT = /^seg-(\d{1,16})\.jsonl$/;

export class ForwardStore<T> {
  private segments: Segment[] = [];
  private entries: Entry<T>[] = [];
  private head = 0;
  private nextN = 1;
  private cursor = 0;
  private savedCursor = 0;
  private fileBytes = 0;
  private buffer: { segment: Segment; text: string }[] = [];
  private flushScheduled = false;
  private syncTimer: NodeJS.Timeout | undefined;
  private dirty = new Set<Segment>();
  private failing = false;
  readonly counters: StoreCounters = { queued: 0, queued_bytes: 0, stored_total: 0, forwarded_total: 0, dropped_total: 0, corrupt_total: 0, write_errors_total: 0 };

  constructor(private readonly options: ForwardStoreOptions) {}

  /** Loads what a previous run left; returns how many records wait. Throws when the directory cannot be used. */
  open(): number {
    const { dir } = this.options;
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    try {
      this.cursor = Number.parseInt(readFileSync(join(dir, 'cursor'), 'utf8').trim(), 10) || 0;
    } catch {
      this.cursor = 0;
    }
    this.savedCursor = this.cursor;
    const files = readdirSync(dir)
      .map((name) => ({ name, m: SEGMENT.exec(name) }))
      .filter((f) => f.m !== null)
      .map((f) => ({ name: f.name, first: Number(f.m![1]) }))
      .sort((a, b) => a.first - b.first);
    for (const f of files) this.load(join(dir, f.name), f.first);
    this.nextN = Math.max(this.nextN, this.cursor + 1);
    this.counters.queued = this.length;
    if (this.length > 0) this.options.log.info({ dir, records: this.length, corrupt: this.counters.corrupt_total }, 'store-and-forward: records from the previous run wait to be forwarded');
    return this.length;
  }

  private load(file: string, first: number): void {
    let text = readFileSync(file, 'utf8');
    const end = text.lastIndexOf('\n') + 1;
    if (end < text.length) {
      // A power cut in the middle of an append: the partial line is no record.
      this.counters.corrupt_total++;
      truncateSync(file, Buffer.byteLength(text.slice(0, end)));
      text = text.slice(0, end);
      this.options.log.warn({ file }, 'store-and-forward: cut a torn last line (power cut?)');
    }
    const segment: Segment = { first, file, bytes: Buffer.byteLength(text), pending: 0, fd: undefined };
    for (const line of text.split('\n')) {
      if (line === '') continue;
      let parsed: { n?: unknown; r?: unknown };
      try {
        parsed = JSON.parse(line) as { n?: unknown; r?: unknown };
      } catch {
        this.counters.corrupt_total++;
        continue;
      }
      if (typeof parsed.n !== 'number' || parsed.r === undefined) {
        this.counters.corrupt_total++;
        continue;
      }
      this.nextN = Math.max(this.nextN, parsed.n + 1);
      if (parsed.n <= this.cursor) continue;
      const bytes = Buffer.byteLength(line) + 1;
      this.entries.push({ n: parsed.n, segment, bytes, record: parsed.r as T });
      segment.pending++;
      this.counters.queued_bytes += bytes;
    }
    if (segment.pending === 0) {
      unlinkSync(file);
      return;
    }
    this.segments.push(segment);
    this.fileBytes += segment.bytes;
  }

  get length(): number {
    return this.entries.length - this.head;
  }

  /** The oldest `max` waiting records, oldest first. */
  peek(max: number): T[] {
    return this.batch(max).records;
  }

  /**
   * The oldest `max` waiting records and the number of the last of them. Pass `through` to
   * `forwarded` once they are out: records dropped meanwhile (the store full) are not counted
   * twice, and no record behind the batch is taken for sent.
   */
  batch(max: number): { records: T[]; through: number } {
    const records: T[] = [];
    let through = this.cursor;
    for (let i = this.head; i < this.entries.length && records.length < max; i++) {
      records.push(this.entries[i]!.record);
      through = this.entries[i]!.n;
    }
    return { records, through };
  }

  append(record: T): void {
    const n = this.nextN++;
    const text = `${JSON.stringify({ n, r: record })}\n`;
    const bytes = Buffer.byteLength(text);
    let seg = this.segments[this.segments.length - 1];
    if (seg === undefined || seg.bytes >= this.options.segmentBytes) seg = this.newSegment(n);
    seg.bytes += bytes;
    seg.pending++;
    this.fileBytes += bytes;
    this.entries.push({ n, segment: seg, bytes, record });
    this.counters.stored_total++;
    this.counters.queued_bytes += bytes;
    this.buffer.push({ segment: seg, text });
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flushWrites());
    }
    this.dropOverLimit();
    this.counters.queued = this.length;
  }

  /**
   * Puts `front` before every record waiting: records older than those (sent live, unconfirmed
   * when the connection dropped) while newer ones already wait. The files are append-only, so
   * the waiting records are written again after `front` and the cursor passes their old lines.
   * They count as stored once.
   */
  requeueFront(front: readonly T[]): void {
    if (front.length === 0) return;
    const behind: T[] = [];
    while (this.head < this.entries.length) {
      const e = this.entries[this.head]!;
      this.entries[this.head] = undefined as unknown as Entry<T>;
      this.head++;
      this.cursor = e.n;
      this.counters.queued_bytes -= e.bytes;
      e.segment.pending--;
      behind.push(e.record);
    }
    this.removeSpent();
    for (const r of front) this.append(r);
    for (const r of behind) this.append(r);
    this.counters.stored_total -= behind.length;
    if (behind.length === 0) return;
    // On disk now, the new lines first and then the cursor past the old ones: a crash in between
    // sends some twice (at least once, as always), never loses one.
    this.flushWrites();
    this.saveCursor();
  }

  /** Marks the waiting records up to number `through` (from `batch`) forwarded. */
  forwarded(through: number): void {
    while (this.head < this.entries.length && this.entries[this.head]!.n <= through) {
      const e = this.entries[this.head]!;
      this.entries[this.head] = undefined as unknown as Entry<T>;
      this.head++;
      this.cursor = e.n;
      this.counters.forwarded_total++;
      this.counters.queued_bytes -= e.bytes;
      e.segment.pending--;
    }
    this.compact();
    this.removeSpent();
    this.counters.queued = this.length;
    this.scheduleSync();
  }

  /** Writes, syncs and saves the cursor now (on stop). */
  close(): void {
    this.flushWrites();
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    for (const s of this.segments) {
      if (s.fd === undefined) continue;
      try {
        closeSync(s.fd);
      } catch {
        // closing is best effort: the data is written
      }
      s.fd = undefined;
    }
    this.saveCursor();
  }

  private newSegment(n: number): Segment {
    const seg: Segment = { first: n, file: join(this.options.dir, `seg-${String(n).padStart(12, '0')}.jsonl`), bytes: 0, pending: 0, fd: undefined };
    this.segments.push(seg);
    return seg;
  }

  private flushWrites(): void {
    this.flushScheduled = false;
    const buffer = this.buffer;
    this.buffer = [];
    let i = 0;
    while (i < buffer.length) {
      const seg = buffer[i]!.segment;
      let text = '';
      while (i < buffer.length && buffer[i]!.segment === seg) text += buffer[i++]!.text;
      if (!this.segments.includes(seg)) continue; // dropped before it was written
      try {
        seg.fd ??= openSync(seg.file, 'a', 0o640);
        writeSync(seg.fd, text);
        this.dirty.add(seg);
        if (this.failing) this.options.log.info({ file: seg.file }, 'store-and-forward: writing works again');
        this.failing = false;
      } catch (err) {
        this.counters.write_errors_total++;
        // The records stay in memory and are still forwarded; only a restart would lose them.
        if (!this.failing) this.options.log.error({ err, file: seg.file }, 'store-and-forward: cannot write the store; records are kept in memory only');
        this.failing = true;
      }
    }
    this.scheduleSync();
  }

  private scheduleSync(): void {
    if (this.syncTimer !== undefined) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      this.sync();
    }, this.options.fsyncIntervalMs);
    this.syncTimer.unref();
  }

  private sync(): void {
    for (const seg of this.dirty) {
      if (seg.fd !== undefined) fdatasync(seg.fd, () => undefined);
    }
    this.dirty.clear();
    this.saveCursor();
  }

  private saveCursor(): void {
    if (this.cursor === this.savedCursor) return;
    const file = join(this.options.dir, 'cursor');
    try {
      // Write then rename: a power cut leaves the old cursor or the new one, never half of one.
      writeFileSync(`${file}.tmp`, `${this.cursor}\n`, { mode: 0o640, flush: true });
      renameSync(`${file}.tmp`, file);
      this.savedCursor = this.cursor;
    } catch (err) {
      this.counters.write_errors_total++;
      this.options.log.error({ err, file }, 'store-and-forward: cannot save the cursor; forwarded records may be sent again after a restart');
    }
  }

  private dropOverLimit(): void {
    while (this.fileBytes > this.options.maxBytes && this.segments.length > 1) {
      const seg = this.segments[0]!;
      let dropped = 0;
      while (this.head < this.entries.length && this.entries[this.head]!.segment === seg) {
        const e = this.entries[this.head]!;
        this.counters.queued_bytes -= e.bytes;
        this.entries[this.head] = undefined as unknown as Entry<T>;
        this.head++;
        this.cursor = e.n;
        dropped++;
      }
      this.counters.dropped_total += dropped;
      this.deleteSegment(seg);
      this.options.log.warn({ dropped, dropped_total: this.counters.dropped_total, max_bytes: this.options.maxBytes }, 'store-and-forward: store full; dropped the oldest records');
    }
    this.compact();
  }

  private removeSpent(): void {
    // The newest file stays open for appends even when everything in it is forwarded.
    while (this.segments.length > 1 && this.segments[0]!.pending === 0) this.deleteSegment(this.segments[0]!);
    const last = this.segments[0];
    if (this.segments.length === 1 && last !== undefined && last.pending === 0 && last.bytes >= this.options.segmentBytes) this.deleteSegment(last);
  }

  private deleteSegment(seg: Segment): void {
    this.segments.splice(this.segments.indexOf(seg), 1);
    this.fileBytes -= seg.bytes;
    this.dirty.delete(seg);
    if (seg.fd !== undefined) {
      try {
        closeSync(seg.fd);
      } catch {
        // already closed
      }
    }
    seg.fd = undefined;
    try {
      unlinkSync(seg.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.options.log.error({ err, file: seg.file }, 'store-and-forward: cannot delete a spent file');
    }
  }

  private compact(): void {
    if (this.head > 4096 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** Bytes of store files on disk (for tests and metrics). */
  get diskBytes(): number {
    return this.fileBytes;
  }
}

/** Size of a directory's store files, for tests. */
export function storeFiles(dir: string): { name: string; bytes: number }[] {
  return readdirSync(dir)
    .filter((n) => SEGMENT.test(n))
    .map((name) => ({ name, bytes: statSync(join(dir, name)).size }));
}
