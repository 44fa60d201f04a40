/**
 * Rate-limited warnings: a device that babbles garbage ten times a second must not fill the SD
 * card. The first event of a kind is logged at once; later ones at most once per interval, with
 * the number left out in between.
 */
import type { Logger } from 'pino';

export class LogThrottle {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly options: { log: Logger; intervalMs: number; now?: () => number },
  ) {}

  warn(kind: string, fields: Record<string, unknown>, msg: string): void {
    const now = (this.options.now ?? Date.now)();
    const seen = this.last.get(kind);
    if (seen !== undefined && now - seen.at < this.options.intervalMs) {
      seen.suppressed++;
      return;
    }
    this.options.log.warn({ ...fields, kind, suppressed: seen?.suppressed ?? 0 }, msg);
    this.last.set(kind, { at: now, suppressed: 0 });
  }
}
