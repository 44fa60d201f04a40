/**
 * What outlasts a restart: the state of every alarm that is not normal (active, unacknowledged,
 * shelved, out of service) and the transition seq, in `alarms/state.json`. Replaced atomically
 * (src/platform/atomic.ts) after each burst of transitions: writes are coalesced, so a flood
 * costs one write per fsync, not one per alarm.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { writeFileAtomic } from '../platform/atomic.js';
import type { PersistedTable } from './table.js';

export class AlarmStateFile {
  private dirty = false;
  private writing: Promise<void> | undefined;
  writes = 0;
  failed = false;

  constructor(
    private readonly options: { dir: string; log: Logger; snapshot: () => PersistedTable },
  ) {}

  get file(): string {
    return join(this.options.dir, 'state.json');
  }

  /** The saved state, or undefined when there is none (first start) or it cannot be read. */
  load(): PersistedTable | undefined {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.options.log.error({ err, file: this.file }, 'cannot read the alarm state; starting with every alarm normal');
      return undefined;
    }
    try {
      const data = JSON.parse(text) as { version?: number } & PersistedTable;
      if (data.version !== 1 || !Array.isArray(data.alarms) || !Number.isInteger(data.seq)) throw new Error('not a version 1 alarm state');
      return { seq: data.seq, alarms: data.alarms };
    } catch (err) {
      this.options.log.error({ err: String(err), file: this.file }, 'the alarm state file is unreadable; starting with every alarm normal');
      return undefined;
    }
  }

  /** Marks the state changed; it is written soon, once per burst. */
  changed(): void {
    this.dirty = true;
    if (this.writing === undefined) this.writing = this.drain();
  }

  async flush(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
  }

  private async drain(): Promise<void> {
    try {
      while (this.dirty) {
        this.dirty = false;
        const data = JSON.stringify({ version: 1, ...this.options.snapshot() });
        try {
          await writeFileAtomic(this.file, data, { mode: 0o640 });
          this.writes++;
          this.failed = false;
        } catch (err) {
          if (!this.failed) this.options.log.error({ err, file: this.file }, 'cannot write the alarm state');
          this.failed = true;
        }
      }
    } finally {
      this.writing = undefined;
    }
  }
}
