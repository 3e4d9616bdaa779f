/** Post-training symmetric int8 quantization, one scale per output channel (per row for the embedding). */

export interface Quantized {
  q: Int8Array;
  scales: Float32Array;
  /** Index of the channel axis in the tensor's shape. */
  axis: number;
}

/** Quantizes `w` of `shape` with one scale per index along `axis` to `bits` (8, or 4 for the embedding). */
export function quantizePerChannel(
  w: Float32Array,
  shape: readonly number[],
  axis: number,
  bits: 4 | 8 = 8,
): Quantized {
  const levels = bits === 4 ? 7 : 127;
  const channels = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const scales = new Float32Array(channels);
  for (let i = 0; i < w.length; i++) {
    const ch = Math.floor(i / inner) % channels;
    scales[ch] = Math.max(scales[ch]!, Math.abs(w[i]!));
  }
  for (let ch = 0; ch < channels; ch++) scales[ch] = scales[ch]! > 0 ? scales[ch]! / levels : 1;
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
