/**
 * Event-loop delay: how late the loop ran a timer that was due, the delay alone (not the
 * sampling interval: an idle loop sampled every 20 ms reports about 0, not 20 ms).
 *
 * One timer samples it for two readers: a histogram since start (for /metrics) and the largest
 * delay since the watchdog last asked (its window). Node's monitorEventLoopDelay is not used:
 * its histogram keeps three significant figures up to 2^63 ns, about 370 KB of counters each,
 * and the two readers needed two of them. Two figures (1%) up to an hour is 36 KB.
 */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** The longest delay the histogram tells apart (ns); longer ones count as this. */
const HIGHEST_NS = 3600e9;

export class LoopDelay {
  private readonly histogram: RecordableHistogram = createHistogram({ lowest: 1, highest: HIGHEST_NS, figures: 2 });
  private timer: NodeJS.Timeout | undefined;
  /** When the last sample ran (performance.now(), ms). */
  private last = 0;
  private windowMaxNs = 0;

  /** `resolutionMs`: the sampling interval (ms). */
  constructor(private readonly resolutionMs = 20) {}

  enable(): void {
    if (this.timer !== undefined) return;
    this.last = performance.now();
    this.timer = setInterval(() => this.sample(), this.resolutionMs);
    this.timer.unref();
  }

  disable(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private sample(): void {
    const now = performance.now();
    const ns = Math.max(0, (now - this.last - this.resolutionMs) * 1e6);
    this.last = now;
    // The histogram takes whole numbers from 1 (its lowest) to HIGHEST_NS.
    this.histogram.record(Math.min(HIGHEST_NS, Math.max(1, Math.round(ns))));
    if (ns > this.windowMaxNs) this.windowMaxNs = ns;
  }

  /** Samples taken since start. */
  get count(): number {
    return this.histogram.count;
  }

  /** The delay at percentile `p` (0-100) since start, in ns; 0 before the first sample. */
  percentile(p: number): number {
    return this.count === 0 ? 0 : this.histogram.percentile(p);
  }

  /** The longest delay since start, in ns; 0 before the first sample. */
  get max(): number {
    return this.count === 0 ? 0 : this.histogram.max;
  }

  /** The longest delay since the last call (or since enable), in ns; starts the next window. */
  takeWindowMax(): number {
    const max = this.windowMaxNs;
    this.windowMaxNs = 0;
    return max;
  }
}
