/**
 * The audit trail: one JSON line per control write (who, from where, which device, what it was,
 * what was asked, how it ended), appended to `audit.jsonl` in the state directory and fsync'd.
 * The gateway only ever appends (O_APPEND); rotating or pruning the file is the operator's call.
 */
import { mkdirSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { ControlEvent } from '../core/control.js';
import type { PointValue } from '../core/points.js';

export const AUDIT_FILE = 'audit.jsonl';

export interface AuditRecord {
  /** ISO 8601, UTC. */
  time: string;
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
    time: now.toISOString(),
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
}

export class AuditLog {
  private fh: FileHandle | undefined;
  private queue: string[] = [];
  private flushing: Promise<void> | undefined;
  private failed = false;
  written = 0;

  constructor(private readonly options: AuditLogOptions) {}

  get file(): string {
    return this.options.file;
  }

  /** Creates the directory and opens the file for appending; fails the start when it cannot. */
  async start(): Promise<void> {
    try {
      mkdirSync(dirname(this.options.file), { recursive: true, mode: 0o750 });
      this.fh = await open(this.options.file, 'a+', 0o640);
      await this.endTornLine(this.fh);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(`cannot open the audit file ${this.options.file}: ${code ?? String(err)} (set state_dir, or STATE_DIRECTORY, to a writable directory)`);
    }
    this.options.log.info({ file: this.options.file }, 'audit trail open');
  }

  /**
   * A power cut in the middle of an append can leave a last line without its newline. The
   * first record of this run would then be glued to it and be unreadable too, so the torn line
   * is ended first: readers skip it (`mgw audit` says so) and every new record stays intact.
   */
  private async endTornLine(fh: FileHandle): Promise<void> {
    const { size } = await fh.stat();
    if (size === 0) return;
    const last = Buffer.alloc(1);
    await fh.read(last, 0, 1, size - 1);
    if (last[0] === 0x0a) return;
    await fh.write('\n');
    await fh.sync();
    this.options.log.warn({ file: this.options.file }, 'audit trail: the last line was torn (power cut?); ended it so new records stay readable');
  }

  /** Queues one control event; lines are written and fsync'd in order, in batches. */
  record(e: ControlEvent): void {
    this.append(toAuditRecord(e));
  }

  append(rec: AuditRecord): void {
    this.queue.push(`${JSON.stringify(rec)}\n`);
    if (this.flushing === undefined) this.flushing = this.drain();
  }

  /** Resolves once everything queued so far is on disk. */
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
        const batch = this.queue;
        this.queue = [];
        const fh = this.fh;
        if (fh === undefined) {
          // Not open (start failed or after stop): the log line is the record of last resort.
          for (const line of batch) this.options.log.error({ audit: line.trimEnd() }, 'audit trail not open; record only in the log');
          continue;
        }
        try {
          await fh.write(batch.join(''));
          await fh.datasync();
          this.written += batch.length;
          this.failed = false;
        } catch (err) {
          if (!this.failed) this.options.log.error({ err, file: this.options.file }, 'audit write failed');
          this.failed = true;
          for (const line of batch) this.options.log.error({ audit: line.trimEnd() }, 'audit record not written');
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }
}
