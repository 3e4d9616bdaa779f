/** Post-training symmetric int8 quantization, one scale per output channel (per row for the embedding). */
import { f16round } from '@petamoriken/float16';

export interface Quantized {
  q: Int8Array;
  scales: Float32Array;
  /** Index of the channel axis in the tensor's shape. */
  axis: number;
}

/** Clipping ratios tried for 4-bit channels: with 15 levels, clipping a few outliers lowers the total error. */
const INT4_CLIP_RATIOS = [1, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6];
/** Smallest normal fp16: an fp16 scale must not round to zero. */
const MIN_HALF = 6.103515625e-5;

/**
 * Quantizes `w` of `shape` with one scale per index along `axis` to `bits` (8, or 4 for the embedding).
 * 4-bit: each channel's scale is the clipping ratio with the least squared error (max-abs clips nothing but
 * wastes levels on one outlier). `halfScales`: scales are rounded to fp16 (what an fp16 initializer stores),
 * before quantizing, so the stored values and the TS view agree.
 */
export function quantizePerChannel(
  w: Float32Array,
  shape: readonly number[],
  axis: number,
  bits: 4 | 8 = 8,
  halfScales = false,
): Quantized {
  const levels = bits === 4 ? 7 : 127;
  const channels = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const maxAbs = new Float32Array(channels);
  for (let i = 0; i < w.length; i++) {
    const ch = Math.floor(i / inner) % channels;
    maxAbs[ch] = Math.max(maxAbs[ch]!, Math.abs(w[i]!));
  }
  const rounded = (s: number) => (halfScales ? Math.max(MIN_HALF, f16round(s)) : s);
  const scaleAt = (ch: number, ratio: number) =>
    maxAbs[ch]! > 0 ? rounded((maxAbs[ch]! * ratio) / levels) : 1;
  const ratios = bits === 4 ? INT4_CLIP_RATIOS : [1];
  const bestError = new Float64Array(channels).fill(Infinity);
  const scales = new Float32Array(channels);
  for (const ratio of ratios) {
    const error = new Float64Array(channels);
    const trial = Float32Array.from({ length: channels }, (_, ch) => scaleAt(ch, ratio));
    if (ratios.length > 1) {
      for (let i = 0; i < w.length; i++) {
        const ch = Math.floor(i / inner) % channels;
        const s = trial[ch]!;
        const v = Math.max(-levels, Math.min(levels, Math.round(w[i]! / s)));
        error[ch]! += (w[i]! - v * s) ** 2;
      }
    }
    for (let ch = 0; ch < channels; ch++) {
      if (error[ch]! < bestError[ch]!) {
        bestError[ch] = error[ch]!;
        scales[ch] = trial[ch]!;
      }
    }
  }
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const ch = Math.floor(i / inner) % channels;
    q[i] = Math.max(-levels, Math.min(levels, Math.round(w[i]! / scales[ch]!)));
  }
  return { q, scales, axis };
}

export function dequantize(qt: Quantized, shape: readonly number[]): Float32Array {
  const channels = shape[qt.axis]!;
  const inner = shape.slice(qt.axis + 1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(qt.q.length);
  for (let i = 0; i < out.length; i++) out[i] = qt.q[i]! * qt.scales[Math.floor(i / inner) % channels]!;
  return out;
}

/** Signed 4-bit values (-8..7) packed two per byte, low nibble first (ONNX INT4 raw_data layout). */
export function packInt4(q: Int8Array): Uint8Array {
  const out = new Uint8Array((q.length + 1) >> 1);
  for (let i = 0; i < q.length; i++) out[i >> 1]! |= (q[i]! & 0xf) << ((i & 1) * 4);
  return out;
}

/** The inverse of packInt4: `count` signed 4-bit values (sign-extended from each nibble). */
export function unpackInt4(packed: Uint8Array, count: number): Int8Array {
  const out = new Int8Array(count);
  for (let i = 0; i < count; i++) out[i] = (((packed[i >> 1]! >> ((i & 1) * 4)) & 0xf) << 28) >> 28;
  return out;
}
