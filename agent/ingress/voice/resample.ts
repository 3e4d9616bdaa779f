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
