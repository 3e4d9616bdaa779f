/** The last `size` samples in a ring, for percentiles on the health topic; memory is fixed. */
export class LatencyWindow {
  private readonly samples: Float64Array;
  private count = 0;

  constructor(size = 1024) {
    this.samples = new Float64Array(size);
  }

  add(ms: number): void {
    this.samples[this.count % this.samples.length] = ms;
    this.count++;
  }

  summary(): { count: number; p50: number | null; p90: number | null; p99: number | null } {
    const n = Math.min(this.count, this.samples.length);
    if (n === 0) return { count: 0, p50: null, p90: null, p99: null };
    const sorted = Array.from(this.samples.subarray(0, n)).sort((a, b) => a - b);
    const at = (p: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]!;
    return { count: this.count, p50: at(0.5), p90: at(0.9), p99: at(0.99) };
  }
}
