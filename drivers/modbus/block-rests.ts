/**
 * Rests of read blocks that a unit leaves unanswered while it answers its others (a register
 * the unit never answers, a reply the framing cannot take). A rest is per block, so the unit's
 * good blocks keep their rate, and it is long from the first failure: a silent block costs the
 * whole line its timeout plus the quiet time per attempt, and at least `floorMs` between
 * attempts keeps that to a few percent of the line (the healthy units' share). It doubles from
 * there up to `maxMs`, with jitter.
 */
import { backoffDelay } from '../bus/backoff.js';

interface Rest {
  failures: number;
  until: number;
}

export interface BlockRestsOptions {
  /** First rest (ms). */
  floorMs: number;
  /** Longest rest (ms). */
  maxMs: number;
  random?: () => number;
  now?: () => number;
}

export class BlockRests {
  private readonly rests = new Map<string, Rest>();
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(private readonly options: BlockRestsOptions) {
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  /** Milliseconds until the block may be read again (0: now). */
  remaining(key: string): number {
    const r = this.rests.get(key);
    return r === undefined ? 0 : Math.max(0, r.until - this.now());
  }

  /** Failures in a row of the block (0: it answered last time, or was never tried). */
  failures(key: string): number {
    return this.rests.get(key)?.failures ?? 0;
  }

  /** The block stayed silent while its unit answered: it rests. Returns the rest (ms). */
  failed(key: string): number {
    const r = this.rests.get(key) ?? { failures: 0, until: 0 };
    r.failures++;
    const { floorMs, maxMs } = this.options;
    const ms = backoffDelay(Math.min(floorMs, maxMs), maxMs, r.failures, this.random);
    r.until = this.now() + ms;
    this.rests.set(key, r);
    return ms;
  }

  answered(key: string): void {
    this.rests.delete(key);
  }

  /** Blocks resting now. */
  get size(): number {
    const now = this.now();
    let n = 0;
    for (const r of this.rests.values()) if (r.until > now) n++;
    return n;
  }

  /** Forget every rest: the unit was away, so what was learned while it went may be wrong. */
  clear(): void {
    this.rests.clear();
  }
}
