/**
 * The audit trail: one JSON line per control write and alarm action (who, from where, which device, what it was,
 * what was asked, how it ended), appended to `audit.jsonl` in the state directory and fsync'd.
 *
 * Durability comes before the answer: a control write is confirmed to its client only once its
 * record is on disk (group commit: the records of concurrent writes share one write and one
 * fdatasync, so throughput stays). While the file cannot be written (a full disk, a read-only
 * remount) the trail reports a problem and the control service refuses new writes with
 * `audit_unavailable`; records that could not be written are kept in memory (bounded) and
 * retried until the disk takes them again.
 *
 * The gateway only appends (O_APPEND). Rotation is logrotate's job (systemd/logrotate): the file
 * is reopened on reload (SIGHUP) and whenever the path no longer names the open file.
 */
import { mkdirSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { GatewayError } from '../core/errors.js';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ControlEvent, Requester } from '../core/control.js';
import type { TokenEntry } from '../server/auth-config.js';
import type { PointValue } from '../core/points.js';
import { isoTime } from '../core/time.js';

export const AUDIT_FILE = 'audit.jsonl';

export interface AuditRecord {
  /** ISO 8601, UTC. */
  time: string;
  /** Absent in records written before reloads were recorded. */
  action?: 'control';
  /** Token name, or "anonymous" on a gateway without tokens. */
  token: string;
  remote: string | null;
  device: string;
  previous: Record<string, PointValue>;
  requested: Record<string, PointValue>;
  outcome: 'ok' | 'error';
  /** On success: the confirmed values and the seq of the published diff. */
  new_state?: Record<string, unknown>;
  seq?: number;
  /** On failure: the error code and message the client got. */
  error_code?: string;
  message?: string;
}

/**
 * A configuration reload, with who asked and which tokens it added, removed or changed; or a
 * refused one (`outcome: "error"`), with the file and why, the gateway running on as before.
 */
export interface ReloadRecord {
  time: string;
  action: 'reload';
  /** The admin token's name (REST reload), or "signal" (SIGHUP: systemctl reload, logrotate). */
  token: string;
  remote: string | null;
  outcome: 'ok' | 'error';
  /** Refused: which token changes the file asked for (empty when it could not be read). */
  tokens_added: string[];
  tokens_removed: string[];
  /** Same name, new hash, role or expiry. */
  tokens_changed: string[];
  /** Refused only: `invalid_config`, the file and its problems (at most 20, each cut to 500 characters). */
  error_code?: 'invalid_config';
  file?: string;
  problems?: string[];
}

/**
 * Who asked for the reload under way. The admin route runs the reload inside it; the reload
 * itself is queued and run by the daemon (SIGHUP runs it too), which need not know who asked.
 */
export const reloadRequester = new AsyncLocalStorage<Requester>();

/** The reload record for a change of token entries. */
export function toReloadRecord(before: readonly TokenEntry[], after: readonly TokenEntry[], who: Requester | undefined, now = new Date()): ReloadRecord {
  const old = new Map(before.map((t) => [t.name, t]));
  const next = new Map(after.map((t) => [t.name, t]));
  const same = (a: TokenEntry, b: TokenEntry) => a.hash === b.hash && a.role === b.role && a.expires === b.expires;
  return {
    time: isoTime(now.getTime()),
    action: 'reload',
    token: who?.token ?? 'signal',
    remote: who?.remote ?? null,
    outcome: 'ok',
    tokens_added: [...next.keys()].filter((n) => !old.has(n)),
    tokens_removed: [...old.keys()].filter((n) => !next.has(n)),
    tokens_changed: [...next.values()].filter((t) => old.has(t.name) && !same(old.get(t.name)!, t)).map((t) => t.name),
  };
}

/**
 * An operator's action on an alarm (acknowledge, shelve, unshelve, out of service, return to
 * service), in the same trail and with the same durability as a control write.
 */
export interface AlarmAuditRecord {
  time: string;
  action: 'alarm';
  token: string;
  remote: string | null;
  device: string;
  /** The alarm and its state before. */
  previous: { alarm: string; state: string };
  /** `alarm_action` (ack, shelve, unshelve, out_of_service, return_to_service), `for_s` of a shelving, `comment`. */
  requested: { alarm_action: string; for_s?: number; comment?: string };
  outcome: 'ok' | 'error';
  new_state?: { alarm: string; state: string };
  /** The alarm transition seq after the action. */
  seq?: number;
  error_code?: string;
  message?: string;
}

/**
 * A raw Modbus write a technician made through the running gateway (`mgw modbus write`): the
 * bus, unit and registers instead of a configured point. `device` names the configured device
 * with that unit on that bus when there is one, else `<bus>/unit <n>`.
 */
export interface ModbusWriteRecord {
  time: string;
  action: 'modbus_write';
  token: string;
  remote: string | null;
  device: string;
  bus: string;
  unit: number;
  table: 'holding' | 'coil';
  address: number;
  /** By Modicon number of each value's first register or coil (40021, 00003). */
  previous: Record<string, PointValue>;
  requested: Record<string, PointValue>;
  outcome: 'ok' | 'error';
  function_code?: number;
  error_code?: string;
  message?: string;
}

/** A line a technician sent to a serial line device through the running gateway (`mgw line send`). */
export interface LineSendRecord {
  time: string;
  action: 'line_send';
  token: string;
  remote: string | null;
  /** The configured devices on the port, comma-separated. */
  device: string;
  port: string;
  sent: string;
  answer?: string[];
  outcome: 'ok' | 'error';
  error_code?: string;
  message?: string;
}

/**
 * The record of a refused reload: who asked, the file, its problems, and the token changes it
 * asked for when it could be read (`attempted`).
 */
export function toRefusedReloadRecord(
  file: string,
  problems: readonly string[],
  who: Requester | undefined,
  tokens?: { before: readonly TokenEntry[]; after: readonly TokenEntry[] },
  now = new Date(),
): ReloadRecord {
  const changes = tokens === undefined ? { tokens_added: [], tokens_removed: [], tokens_changed: [] } : toReloadRecord(tokens.before, tokens.after, who, now);
  return {
    time: isoTime(now.getTime()),
    action: 'reload',
    token: who?.token ?? 'signal',
    remote: who?.remote ?? null,
    outcome: 'error',
    tokens_added: changes.tokens_added,
    tokens_removed: changes.tokens_removed,
    tokens_changed: changes.tokens_changed,
    error_code: 'invalid_config',
    file,
    problems: problems.slice(0, 20).map((p) => (p.length > 500 ? `${p.slice(0, 499)}…` : p)),
  };
}

/** One line of the trail. */
export type AuditLine = AuditRecord | ReloadRecord | AlarmAuditRecord | ModbusWriteRecord | LineSendRecord;

/**
 * Where state lives: the configured directory, else systemd's STATE_DIRECTORY (the first one if
 * it lists several), else ./state for development.
 */
export function stateDir(configured?: string): string {
  if (configured !== undefined) return resolve(configured);
  const fromSystemd = process.env['STATE_DIRECTORY']?.split(':')[0];
  return resolve(fromSystemd !== undefined && fromSystemd !== '' ? fromSystemd : 'state');
}

export function auditFile(configuredStateDir?: string): string {
  return join(stateDir(configuredStateDir), AUDIT_FILE);
}

export function toAuditRecord(e: ControlEvent, now = new Date()): AuditRecord {
  const base = {
    time: isoTime(now.getTime()),
    action: 'control' as const,
    token: e.who.token ?? 'anonymous',
    remote: e.who.remote ?? null,
    device: e.deviceId,
    previous: e.previous,
    requested: e.requested,
  };
  if (e.outcome.ok) return { ...base, outcome: 'ok', new_state: e.outcome.result.new_state, seq: e.outcome.result.seq };
  return { ...base, outcome: 'error', error_code: e.outcome.error.code, message: e.outcome.error.message };
}

export interface AuditLogOptions {
  /** The audit file (usually auditFile(config.state_dir)). */
  file: string;
  log: Logger;
  /** How often a trail that failed is tried again (ms). */
  retryMs?: number;
  /** Records kept in memory while the disk refuses them; older ones go to the log only. */
  maxUnwritten?: number;
}

interface Waiting {
  line: string;
  done: (err?: Error) => void;
}

/** errno codes in words a technician knows. */
const WHY: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'the file system is read-only',
  EIO: 'input/output error (a failing SD card?)',
  EACCES: 'permission denied',
  ENOENT: 'the directory is gone',
};

export class AuditLog {
  private fh: FileHandle | undefined;
  /** Inode of the open file: a different one at the path means the file was rotated. */
  private ino = 0;
  private queue: Waiting[] = [];
  /** Records a failed write left behind, retried before anything new (in order). */
  private unwritten: string[] = [];
  private flushing: Promise<void> | undefined;
  /** Size of the file up to the last record known to be complete: a failed write may leave more. */
  private goodSize = 0;
  private torn = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private reopenWanted = false;
  private retryWanted = false;
  private listeners: ((problem: string | undefined) => void)[] = [];
  /** Why the trail cannot be written right now, or undefined while it can. */
  problem: string | undefined;
  written = 0;
  failures = 0;
  lost = 0;
  /** fdatasync calls: less than `written` when concurrent writes shared one (group commit). */
  syncs = 0;

  constructor(private readonly options: AuditLogOptions) {}

  get file(): string {
    return this.options.file;
  }

  /** Records in memory waiting for the disk. */
  get pending(): number {
    return this.unwritten.length + this.queue.length;
  }

  /** Creates the directory and opens the file for appending; fails the start when it cannot. */
  async start(): Promise<void> {
    try {
      mkdirSync(dirname(this.options.file), { recursive: true, mode: 0o750 });
      await this.openFile();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(`cannot open the audit file ${this.options.file}: ${code ?? String(err)} (set state_dir, or STATE_DIRECTORY, to a writable directory)`);
    }
    this.options.log.info({ file: this.options.file }, 'audit trail open');
  }

  /** Called with the new problem (undefined: writable again) whenever it changes. */
  onChange(fn: (problem: string | undefined) => void): void {
    this.listeners.push(fn);
  }

  /** Reopens the file at its path on the next append (after logrotate moved it; SIGHUP, reload). */
  reopen(): void {
    this.reopenWanted = true;
    if (this.fh !== undefined && this.flushing === undefined) this.flushing = this.drain();
  }

  /** Writes one control event; resolves once it is on disk, rejects with audit_unavailable if it cannot be. */
  record(e: ControlEvent): Promise<void> {
    return this.append(toAuditRecord(e));
  }

  append(rec: AuditLine): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ line: `${JSON.stringify(rec)}\n`, done: (err) => (err === undefined ? resolve() : reject(err)) });
      if (this.flushing === undefined) this.flushing = this.drain();
    });
  }

  /** Resolves once everything queued so far was written or failed. */
  async flush(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
  }

  async stop(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.flush();
    for (const line of this.unwritten) this.options.log.error({ audit: line.trimEnd() }, 'audit record never written (stopping); it is only in this log');
    this.unwritten = [];
    await this.fh?.close();
    this.fh = undefined;
  }

  private async openFile(): Promise<void> {
    const fh = await open(this.options.file, 'a+', 0o640);
    try {
      const { ino } = await fh.stat();
      await this.endTornLine(fh);
      const old = this.fh;
      this.fh = fh;
      this.ino = ino;
      this.goodSize = (await fh.stat()).size;
      this.torn = false;
      await old?.close().catch(() => undefined);
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * A power cut in the middle of an append can leave a last line without its newline. The
   * first new record would then be glued to it and be unreadable too, so the torn line is ended
   * first: readers skip it (`mgw audit` says so) and every new record stays intact.
   */
  private async endTornLine(fh: FileHandle): Promise<void> {
    const { size } = await fh.stat();
    if (size === 0) return;
    const last = Buffer.alloc(1);
    await fh.read(last, 0, 1, size - 1);
    if (last[0] === 0x0a) return;
    await writeAll(fh, '\n');
    await fh.datasync();
    this.options.log.warn({ file: this.options.file }, 'audit trail: the last line was torn (power cut?); ended it so new records stay readable');
  }

  /**
   * After a failed write (ENOSPC half-way through a batch) the file may end in part of a record.
   * Those bytes are ours and the records are still in memory: cut them off, so the retry writes
   * whole lines. When the file is no longer the one we measured (rotated meanwhile), end the
   * torn line instead, as at start.
   */
  private async repairTail(fh: FileHandle): Promise<void> {
    const { size } = await fh.stat();
    if (size > this.goodSize && (this.goodSize === 0 || (await byteAt(fh, this.goodSize - 1)) === 0x0a)) {
      await fh.truncate(this.goodSize);
      await fh.datasync();
      this.options.log.warn({ file: this.options.file, removed_bytes: size - this.goodSize }, 'audit trail: removed the part of a record a failed write left; the record is written again whole');
    } else if (size !== this.goodSize) {
      await this.endTornLine(fh);
    }
    this.torn = false;
  }

  /** Reopens when asked, or when the path now names another file (moved by logrotate) or none. */
  private async checkFile(): Promise<void> {
    let rotated = this.reopenWanted;
    if (!rotated) {
      try {
        rotated = (await stat(this.options.file)).ino !== this.ino;
      } catch {
        rotated = true;
      }
    }
    if (!rotated) return;
    this.reopenWanted = false;
    await this.openFile();
    this.options.log.info({ file: this.options.file }, 'audit trail reopened');
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0 || this.reopenWanted || this.retryWanted) {
        this.retryWanted = false;
        const batch = this.queue;
        this.queue = [];
        const fh = this.fh;
        if (fh === undefined) {
          // Not open (start failed or after stop): the log line is the record of last resort.
          for (const w of batch) {
            this.options.log.error({ audit: w.line.trimEnd() }, 'audit trail not open; record only in the log');
            w.done(unavailable('the audit trail is not open'));
          }
          continue;
        }
        await this.writeBatch(batch);
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async writeBatch(batch: Waiting[]): Promise<void> {
    const lines = [...this.unwritten, ...batch.map((w) => w.line)];
    try {
      await this.checkFile();
      const fh = this.fh!;
      if (this.torn) await this.repairTail(fh);
      if (lines.length > 0) {
        const data = lines.join('');
        this.torn = true; // until the write and the sync both succeeded
        await writeAll(fh, data);
        await fh.datasync();
        this.syncs++;
        this.torn = false;
        this.goodSize += Buffer.byteLength(data);
      }
      this.written += lines.length;
      this.unwritten = [];
      for (const w of batch) w.done();
      if (this.problem !== undefined) this.setProblem(undefined);
    } catch (err) {
      this.failures++;
      const code = (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
      const problem = `cannot write ${this.options.file}: ${code} (${WHY[code] ?? (err as Error).message})`;
      const first = this.problem === undefined;
      this.keepUnwritten(batch.map((w) => w.line));
      if (first) this.options.log.error({ err, file: this.options.file, pending: this.unwritten.length }, 'audit trail cannot be written; control writes are refused until it can');
      this.setProblem(problem);
      for (const w of batch) w.done(unavailable(problem));
      this.scheduleRetry();
    }
  }

  private keepUnwritten(lines: string[]): void {
    const max = this.options.maxUnwritten ?? 10_000;
    this.unwritten.push(...lines);
    if (this.unwritten.length > max) {
      const dropped = this.unwritten.splice(0, this.unwritten.length - max);
      this.lost += dropped.length;
      for (const line of dropped) this.options.log.error({ audit: line.trimEnd() }, 'audit record dropped from memory (the disk refused it too long); it is only in this log');
    }
  }

  private setProblem(problem: string | undefined): void {
    if (problem === this.problem) return;
    this.problem = problem;
    if (problem === undefined) this.options.log.warn({ file: this.options.file, written: this.written }, 'audit trail writable again; control writes accepted');
    for (const fn of this.listeners) fn(problem);
  }

  /** While broken, try again now and then (with what is left, or a probe when nothing is). */
  private scheduleRetry(): void {
    if (this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.problem === undefined || this.fh === undefined) return;
      this.retryWanted = true;
      if (this.flushing === undefined) this.flushing = this.drain();
    }, this.options.retryMs ?? 2000);
    this.retryTimer.unref();
  }
}

function unavailable(problem: string): GatewayError {
  return new GatewayError('audit_unavailable', `the audit trail cannot be written (${problem}); control writes are refused until it can`);
}

/** FileHandle.write may write less than asked (a disk filling up): loop until all of it is down. */
async function writeAll(fh: FileHandle, data: string): Promise<void> {
  const buf = Buffer.from(data);
  let off = 0;
  while (off < buf.byteLength) {
    const { bytesWritten } = await fh.write(buf, off, buf.byteLength - off);
    if (bytesWritten === 0) throw Object.assign(new Error('write made no progress'), { code: 'ENOSPC' });
    off += bytesWritten;
  }
}

async function byteAt(fh: FileHandle, position: number): Promise<number | undefined> {
  const b = Buffer.alloc(1);
  const { bytesRead } = await fh.read(b, 0, 1, position);
  return bytesRead === 1 ? b[0] : undefined;
}
