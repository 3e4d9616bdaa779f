/**
 * Band-limited resampling to the 16 kHz the VAD and recogniser need. Hand-written: a windowed-sinc
 * interpolator is ~30 lines, while the npm resamplers are WASM builds or the slow pure-JS one that dominates
 * @ricky0123/vad-node's cost. Quality is ample for speech recognition (Hann window, 16 zero crossings).
 */
const ZERO_CROSSINGS = 16;

export function resample(input: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate) return input;
  const ratio = toRate / fromRate;
  const out = new Float32Array(Math.floor(input.length * ratio));
  // Downsampling: lower the cut-off to the new Nyquist frequency so nothing aliases.
  const cutoff = Math.min(1, ratio);
  const halfWidth = ZERO_CROSSINGS / cutoff;
  for (let i = 0; i < out.length; i++) {
    const center = i / ratio;
    const first = Math.max(0, Math.ceil(center - halfWidth));
    const last = Math.min(input.length - 1, Math.floor(center + halfWidth));
    let sum = 0;
    let weights = 0;
    for (let j = first; j <= last; j++) {
      const x = (j - center) * cutoff;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const window = 0.5 + 0.5 * Math.cos((Math.PI * (j - center)) / halfWidth);
      const w = sinc * window;
      sum += input[j]! * w;
      weights += w;
    }
    out[i] = weights === 0 ? 0 : sum / weights;
  }
  return out;
}

/**
 * Low-pass taps for changing the rate by a whole `factor` (windowed sinc at the lower rate's Nyquist
 * frequency, same window and zero crossings as `resample`), at the higher rate, summing to 1.
 */
export function integerRatioTaps(factor: number): Float64Array {
  const half = ZERO_CROSSINGS * factor;
  const taps = new Float64Array(2 * half + 1);
  let sum = 0;
  for (let k = 0; k < taps.length; k++) {
    const x = (k - half) / factor;
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    taps[k] = sinc * (0.5 + 0.5 * Math.cos((Math.PI * (k - half)) / (half + 1)));
    sum += taps[k]!;
  }
  for (let k = 0; k < taps.length; k++) taps[k]! /= sum;
  return taps;
}

/**
 * Raises the rate of a stream by a whole factor, chunk by chunk: the output of any chunking is the same, and
 * `factor` samples come out per sample in (delayed by `integerRatioTaps(factor).length >> 1` output samples).
 */
export class StreamUpsampler {
  private readonly taps: Float64Array;
  /** The last input samples, oldest first: as many as one output sample reaches back. */
  private history: Float32Array;

  constructor(readonly factor: number) {
    this.taps = integerRatioTaps(factor);
    this.history = new Float32Array(Math.ceil(this.taps.length / factor));
  }

  process(input: Float32Array): Float32Array {
    const f = this.factor;
    const h = this.history.length;
    const x = new Float32Array(h + input.length);
    x.set(this.history);
    x.set(input, h);
    const out = new Float32Array(input.length * f);
    // Output 3n+p is the zero-stuffed input filtered: only the taps landing on real samples count.
    for (let n = 0; n < input.length; n++) {
      for (let p = 0; p < f; p++) {
        let sum = 0;
        for (let j = 0, k = p; k < this.taps.length; j++, k += f) sum += this.taps[k]! * x[h + n - j]!;
        out[n * f + p] = sum * f;
      }
    }
    this.history = x.slice(x.length - h);
    return out;
  }
}

/**
 * Lowers the rate of a stream by a whole factor, chunk by chunk: one sample out per `factor` in, whatever the
 * chunking (delayed by `integerRatioTaps(factor).length >> 1` input samples).
 */
export class StreamDownsampler {
  private readonly taps: Float64Array;
  private history: Float32Array;
  /** Input samples since the last output sample; the first input sample gives one (whole-sample delay). */
  private phase: number;

  constructor(readonly factor: number) {
    this.taps = integerRatioTaps(factor);
    this.history = new Float32Array(this.taps.length - 1);
    this.phase = factor - 1;
  }

  process(input: Float32Array): Float32Array {
    const h = this.history.length;
    const x = new Float32Array(h + input.length);
    x.set(this.history);
    x.set(input, h);
    const out: number[] = [];
    for (let i = 0; i < input.length; i++) {
      if (++this.phase < this.factor) continue;
      this.phase = 0;
      // x[h + i] is the newest sample; the taps reach back taps.length - 1 before it.
      let sum = 0;
      for (let k = 0; k < this.taps.length; k++) sum += this.taps[k]! * x[h + i - k]!;
      out.push(sum);
    }
    this.history = x.slice(x.length - h);
    return Float32Array.from(out);
  }
}
