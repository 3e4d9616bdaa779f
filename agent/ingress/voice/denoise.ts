import createRnnoise, { type RnnoiseModule } from '@echogarden/rnnoise-wasm';
import { integerRatioTaps, StreamDownsampler, StreamUpsampler } from './resample.ts';
import { concatSamples } from './wav.ts';

/**
 * Noise suppression before the VAD and the recogniser: Xiph's RNNoise (BSD-3-Clause; its small recurrent
 * model is compiled into @echogarden/rnnoise-wasm, nothing is downloaded). Not hand-written: it is a trained
 * model, and the WASM build runs unchanged on x64 and ARM. RNNoise works on 10 ms frames at 48 kHz, so the
 * 16 kHz stream is raised to 48 kHz and lowered back (whole-factor streaming filters, resample.ts).
 * Measured with bench:voice (models/README.md, "Noise suppression"): fewer misses at 10 dB SNR, fewer
 * out-of-scope accepts, earlier end of speech.
 */
const RATE_FACTOR = 3;
/** 16-bit scale: RNNoise was trained on integer PCM levels. */
const PCM_SCALE = 32768;

/** RNNoise's frame at 48 kHz (`rnnoise_get_frame_size`), fixed by the library. */
const FRAME_48K = 480;

/**
 * How far the denoised stream runs behind its input, in 16 kHz samples: the two resampling filters' halves
 * and RNNoise's one-frame overlap. Measured by cross-correlation in test/voice/denoise.test.ts.
 */
export const DENOISE_DELAY = (2 * (integerRatioTaps(RATE_FACTOR).length >> 1) + FRAME_48K) / RATE_FACTOR;

let loading: Promise<RnnoiseModule> | undefined;

/** The WASM module, compiled once per process. */
function rnnoise(): Promise<RnnoiseModule> {
  loading ??= createRnnoise();
  // A failed load is tried again by the next caller, not cached.
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}

/** One stream's noise suppressor (the model is recurrent: one per audio source). */
export class NoiseSuppressor {
  private readonly state: number;
  private readonly input: number;
  private readonly output: number;
  private readonly frame: number;
  private readonly up = new StreamUpsampler(RATE_FACTOR);
  private readonly down = new StreamDownsampler(RATE_FACTOR);
  /** 48 kHz samples waiting for a whole frame. */
  private pending = new Float32Array(0);
  private closed = false;

  private constructor(private readonly wasm: RnnoiseModule) {
    this.frame = wasm._rnnoise_get_frame_size();
    if (this.frame !== FRAME_48K)
      throw new Error(`RNNoise frame of ${this.frame} samples, expected ${FRAME_48K}`);
    this.state = wasm._rnnoise_create(0);
    this.input = wasm._malloc(this.frame * 4);
    this.output = wasm._malloc(this.frame * 4);
    if (!this.state || !this.input || !this.output) throw new Error('RNNoise: out of WASM memory');
  }

  static async open(): Promise<NoiseSuppressor> {
    return new NoiseSuppressor(await rnnoise());
  }

  /**
   * Denoises a 16 kHz chunk. Returns the samples ready so far: about as many as went in, held back by up to
   * one 10 ms frame (the output runs ~12 ms behind the input).
   */
  process(chunk: Float32Array): Float32Array {
    if (this.closed) throw new Error('noise suppressor used after close()');
    const high = this.up.process(chunk);
    const joined = new Float32Array(this.pending.length + high.length);
    joined.set(this.pending);
    joined.set(high, this.pending.length);
    const frames = Math.floor(joined.length / this.frame);
    const clean = new Float32Array(frames * this.frame);
    const base = this.input >> 2;
    const outBase = this.output >> 2;
    for (let f = 0; f < frames; f++) {
      // HEAPF32 is re-read per frame: WASM memory growth replaces the buffer.
      const heap = this.wasm.HEAPF32;
      for (let i = 0; i < this.frame; i++) heap[base + i] = joined[f * this.frame + i]! * PCM_SCALE;
      this.wasm._rnnoise_process_frame(this.state, this.output, this.input);
      const out = this.wasm.HEAPF32;
      for (let i = 0; i < this.frame; i++) clean[f * this.frame + i] = out[outBase + i]! / PCM_SCALE;
    }
    this.pending = joined.slice(frames * this.frame);
    return this.down.process(clean);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wasm._rnnoise_destroy(this.state);
    this.wasm._free(this.input);
    this.wasm._free(this.output);
  }
}

/** A whole recording denoised as a stream would be (the same 12 ms delay; length kept). */
export async function denoiseClip(
  samples: Float32Array,
  /** Beside a live agent: half a second at a time, letting other work run between (a 3 s clip is ~55 ms of CPU). */
  yieldToOthers = false,
): Promise<Float32Array> {
  const suppressor = await NoiseSuppressor.open();
  try {
    const step = yieldToOthers ? 8000 : samples.length;
    const parts: Float32Array[] = [];
    for (let at = 0; at < samples.length; at += step) {
      parts.push(suppressor.process(samples.subarray(at, at + step)));
      if (yieldToOthers) await new Promise((resolve) => setImmediate(resolve));
    }
    const head = concatSamples(parts);
    // Silence after the clip pushes out what the suppressor holds back (less than one 48 kHz frame).
    const tail = suppressor.process(new Float32Array(FRAME_48K));
    const out = new Float32Array(samples.length);
    out.set(head);
    out.set(tail.subarray(0, out.length - head.length), head.length);
    return out;
  } finally {
    suppressor.close();
  }
}
