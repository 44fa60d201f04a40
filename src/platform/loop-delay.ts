/**
 * Event-loop delay: how late the loop ran a timer that was due. Node's monitorEventLoopDelay
 * records the time between its timer's runs, which includes the sampling interval itself (an
 * idle loop sampled every 20 ms reports 20 ms); this reports the delay alone.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export class LoopDelay {
  private readonly histogram: IntervalHistogram;
  private readonly intervalNs: number;

  /** `resolutionMs`: the sampling interval (ms). */
  constructor(resolutionMs = 20) {
    this.histogram = monitorEventLoopDelay({ resolution: resolutionMs });
    this.intervalNs = resolutionMs * 1e6;
  }

  enable(): void {
    this.histogram.enable();
  }

  disable(): void {
    this.histogram.disable();
  }

  reset(): void {
    this.histogram.reset();
  }

  /** Samples taken. */
  get count(): number {
    return this.histogram.count;
  }

  /** The delay at percentile `p` (0-100), in ns; 0 before the first sample. */
  percentile(p: number): number {
    return this.count === 0 ? 0 : this.delay(this.histogram.percentile(p));
  }

  /** The longest delay, in ns; 0 before the first sample. */
  get max(): number {
    return this.count === 0 ? 0 : this.delay(this.histogram.max);
  }

  private delay(ns: number): number {
    return Math.max(0, ns - this.intervalNs);
  }
}
