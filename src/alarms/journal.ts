/**
 * The alarm journal: every transition as one JSON line, appended to `alarms/journal.jsonl` in
 * the state directory. Append-only (O_APPEND), written in order in batches and fdatasync'd per
 * batch, so a power cut loses at most the batch in flight and never reorders. A line torn by a
 * power cut is ended on the next start (as the audit trail does) and skipped by readers.
 *
 * Bounded: when the current file would pass `maxBytes`, it is renamed to `journal.1.jsonl`
 * (older ones shift up to `journal.<files>.jsonl`, the oldest is dropped) and a new one begins.
 */
import { mkdirSync } from 'node:fs';
import { open, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { AlarmEvent } from '../protocol/alarms.js';

export interface JournalOptions {
  dir: string;
  maxBytes: number;
  /** Rotated files kept besides the current one. */
  files: number;
  log: Logger;
}

export interface JournalQuery {
  /** Seconds since the epoch, inclusive. */
  from?: number | undefined;
  to?: number | undefined;
  /** Only events with a seq below this (paging backwards). */
  before?: number | undefined;
  alarm?: string | undefined;
  device?: string | undefined;
  limit: number;
}

/** How much of the journal's end is read at start to find what the state file missed. */
const TAIL_BYTES = 65_536;

/** Journal lines as events; a torn or foreign line is skipped. */
function parseLines(text: string): AlarmEvent[] {
  const out: AlarmEvent[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      const e = JSON.parse(line) as AlarmEvent;
      if (typeof e.seq === 'number' && typeof e.alarm_id === 'string') out.push(e);
    } catch {
      // torn by a power cut: ended at the next start, skipped here
    }
  }
  return out;
}

export class AlarmJournal {
  private fh: FileHandle | undefined;
  private size = 0;
  private queue: string[] = [];
  private flushing: Promise<void> | undefined;
  private failed = false;
  written = 0;
  rotations = 0;
  writeErrors = 0;

  constructor(private readonly options: JournalOptions) {}

  get file(): string {
    return join(this.options.dir, 'journal.jsonl');
  }

  private rotated(n: number): string {
    return join(this.options.dir, `journal.${n}.jsonl`);
  }

  async start(): Promise<void> {
    try {
      mkdirSync(dirname(this.file), { recursive: true, mode: 0o750 });
      this.fh = await open(this.file, 'a+', 0o640);
      this.size = (await this.fh.stat()).size;
      await this.endTornLine(this.fh);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(`cannot open the alarm journal ${this.file}: ${code ?? String(err)} (set state_dir, or STATE_DIRECTORY, to a writable directory)`);
    }
  }

  private async endTornLine(fh: FileHandle): Promise<void> {
    if (this.size === 0) return;
    const last = Buffer.alloc(1);
    await fh.read(last, 0, 1, this.size - 1);
    if (last[0] === 0x0a) return;
    await fh.write('\n');
    await fh.sync();
    this.size += 1;
    this.options.log.warn({ file: this.file }, 'alarm journal: the last line was torn (power cut?); ended it so new events stay readable');
  }

  append(e: AlarmEvent): void {
    this.queue.push(`${JSON.stringify(e)}\n`);
    if (this.flushing === undefined) this.flushing = this.drain();
  }

  get ok(): boolean {
    return !this.failed;
  }

  async flush(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
  }

  async stop(): Promise<void> {
    await this.flush();
    await this.fh?.close();
    this.fh = undefined;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.join('');
        const count = this.queue.length;
        this.queue = [];
        try {
          const bytes = Buffer.byteLength(batch);
          if (this.size > 0 && this.size + bytes > this.options.maxBytes) await this.rotate();
          const fh = this.fh;
          if (fh === undefined) throw new Error('the journal is not open');
          await fh.write(batch);
          await fh.datasync();
          this.size += bytes;
          this.written += count;
          this.failed = false;
        } catch (err) {
          this.writeErrors++;
          if (!this.failed) this.options.log.error({ err, file: this.file }, 'alarm journal write failed');
          this.failed = true;
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async rotate(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
    await unlink(this.rotated(this.options.files)).catch(() => undefined);
    for (let n = this.options.files - 1; n >= 1; n--) await rename(this.rotated(n), this.rotated(n + 1)).catch(() => undefined);
    await rename(this.file, this.rotated(1));
    this.fh = await open(this.file, 'a+', 0o640);
    this.size = 0;
    this.rotations++;
    this.options.log.info({ file: this.file, kept: this.options.files }, 'alarm journal rotated');
  }

  /**
   * The events after `seq` in the current file, oldest first, for bringing the saved state up to
   * date at start. They are at its end (the state file follows the journal within milliseconds),
   * so only the tail is read, unless it does not reach back to `seq`.
   */
  async after(seq: number): Promise<AlarmEvent[]> {
    await this.flush();
    let text: string;
    try {
      const fh = await open(this.file, 'r');
      try {
        const { size } = await fh.stat();
        const start = Math.max(0, size - TAIL_BYTES);
        const buf = Buffer.alloc(size - start);
        await fh.read(buf, 0, buf.length, start);
        text = buf.toString('utf8');
        const parsed = parseLines(start === 0 ? text : text.slice(text.indexOf('\n') + 1));
        if (start === 0 || parsed.length === 0 || parsed[0]!.seq <= seq + 1) return parsed.filter((e) => e.seq > seq);
        text = await readFile(this.file, 'utf8');
      } finally {
        await fh.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return parseLines(text).filter((e) => e.seq > seq);
  }

  /** Events matching the query, newest first, at most `limit`; reads the rotated files as needed. */
  async read(q: JournalQuery): Promise<{ events: AlarmEvent[]; more: boolean }> {
    await this.flush();
    const events: AlarmEvent[] = [];
    const files = [this.file, ...Array.from({ length: this.options.files }, (_, i) => this.rotated(i + 1))];
    for (const f of files) {
      let text: string;
      try {
        if ((await stat(f)).size === 0) continue;
        text = await readFile(f, 'utf8');
      } catch {
        continue;
      }
      const lines = text.split('\n');
      for (let i = lines.length - 1; i >= 0; i--) {
        const line = lines[i]!;
        if (line === '') continue;
        let e: AlarmEvent;
        try {
          e = JSON.parse(line) as AlarmEvent;
        } catch {
          continue; // a torn line from a power cut
        }
        if (q.before !== undefined && e.seq >= q.before) continue;
        if (q.to !== undefined && e.time > q.to) continue;
        if (q.from !== undefined && e.time < q.from) return { events, more: false };
        if (q.alarm !== undefined && e.alarm_id !== q.alarm) continue;
        if (q.device !== undefined && e.device_id !== q.device) continue;
        if (events.length === q.limit) return { events, more: true };
        events.push(e);
      }
    }
    return { events, more: false };
  }
}
