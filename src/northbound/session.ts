/**
 * Sparkplug session numbers (Sparkplug 3.0, "Sequence Numbers" and "bdSeq"):
 * - `bdSeq`: one per MQTT connection, 0-255 wrapping. The NDEATH registered as the Will and the
 *   NBIRTH of that connection carry the same value, so a host can tell which death ends which
 *   birth. Kept in the state directory so a restarted gateway does not reuse the last one.
 * - `seq`: every message of the edge node, 0-255 wrapping; NBIRTH is 0.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export class SparkplugSession {
  private bd: number;
  private seqNext = 0;

  constructor(private readonly file: string) {
    let last = -1;
    try {
      const n = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
      if (Number.isInteger(n) && n >= 0 && n <= 255) last = n;
    } catch {
      // first run
    }
    this.bd = last;
  }

  /** The bdSeq of the connection being made (called once per attempt, for its Will). */
  nextBdSeq(): number {
    this.bd = (this.bd + 1) % 256;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      writeFileSync(`${this.file}.tmp`, `${this.bd}\n`);
      renameSync(`${this.file}.tmp`, this.file);
    } catch {
      // Not persisted: a restart may repeat a bdSeq, which hosts tolerate after an NDEATH.
    }
    return this.bd;
  }

  get bdSeq(): number {
    return Math.max(this.bd, 0);
  }

  /** seq for an NBIRTH: starts the count over at 0. */
  birthSeq(): number {
    this.seqNext = 1;
    return 0;
  }

  nextSeq(): number {
    const s = this.seqNext;
    this.seqNext = (this.seqNext + 1) % 256;
    return s;
  }
}
