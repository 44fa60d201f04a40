/**
 * Alarm-system performance figures of EEMUA 191 / ISA-18.2 for /metrics:
 * - the alarm rate: alarms raised in the last 10 minutes (EEMUA 191: more than about one per
 *   10 minutes per operator, sustained, overloads the operator);
 * - chattering alarms: the same alarm raised 3 or more times within 60 s;
 * - standing alarms (from the table at scrape time): active for longer than standing_after_s.
 * Memory is bounded: raise times older than 10 minutes are dropped as new ones come.
 */
import type { AlarmEvent } from '../protocol/alarms.js';

export const RATE_WINDOW_S = 600;
export const CHATTER_WINDOW_S = 60;
export const CHATTER_COUNT = 3;

export class AlarmStats {
  /** Raise times (s) in the last RATE_WINDOW_S, oldest first. */
  private raises: number[] = [];
  private head = 0;
  /** Recent raise times per alarm, for chattering. */
  private readonly recent = new Map<string, number[]>();
  /** Alarms seen chattering in the last CHATTER_WINDOW_S (id -> last detection time). */
  private readonly chattering = new Map<string, number>();
  raisedTotal = 0;
  chatterDetections = 0;
  transitionsTotal = 0;

  constructor(private readonly now: () => number = () => Date.now() / 1000) {}

  observe(e: AlarmEvent): void {
    this.transitionsTotal++;
    if (e.transition !== 'raise') return;
    this.raisedTotal++;
    this.raises.push(e.time);
    const times = (this.recent.get(e.alarm_id) ?? []).filter((t) => t > e.time - CHATTER_WINDOW_S);
    times.push(e.time);
    this.recent.set(e.alarm_id, times);
    if (times.length >= CHATTER_COUNT) {
      if (!this.chattering.has(e.alarm_id)) this.chatterDetections++;
      this.chattering.set(e.alarm_id, e.time);
    }
    this.prune(e.time);
  }

  /** Alarms raised in the last 10 minutes. */
  rate10m(): number {
    this.prune(this.now());
    return this.raises.length - this.head;
  }

  /** Alarms that chattered (3+ raises) within the last minute. */
  chatteringNow(): string[] {
    const t = this.now();
    for (const [id, last] of this.chattering) if (last <= t - CHATTER_WINDOW_S) this.chattering.delete(id);
    return [...this.chattering.keys()];
  }

  private prune(t: number): void {
    while (this.head < this.raises.length && this.raises[this.head]! <= t - RATE_WINDOW_S) this.head++;
    if (this.head > 1024 && this.head * 2 > this.raises.length) {
      this.raises = this.raises.slice(this.head);
      this.head = 0;
    }
    if (this.recent.size > 4096) for (const [id, times] of this.recent) if (times[times.length - 1]! <= t - CHATTER_WINDOW_S) this.recent.delete(id);
  }
}
