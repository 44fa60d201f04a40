/** Order statistics for samples and for repeated runs. */

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  // Nearest rank; the epsilon keeps 0.999 * 1000 (= 999.0000000000001 in floating point) at rank 999.
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length - 1e-9) - 1));
  return sorted[idx]!;
}

export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

export function summary(values: number[]): { median: number; min: number; max: number; n: number } {
  const v = values.filter((x) => Number.isFinite(x));
  return { median: median(v), min: v.length ? Math.min(...v) : NaN, max: v.length ? Math.max(...v) : NaN, n: v.length };
}

/** A growable sample buffer that does not allocate per sample. */
export class Samples {
  private buf = new Float64Array(1 << 16);
  length = 0;

  push(x: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = x;
  }

  clear(): void {
    this.length = 0;
  }

  sorted(): Float64Array {
    return this.buf.slice(0, this.length).sort();
  }
}
