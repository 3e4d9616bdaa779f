import { DENOISE_DELAY, type NoiseSuppressor } from './denoise.ts';
import { resample } from './resample.ts';
import type { Segmenter, Utterance } from './segmenter.ts';
import { type SileroVad, VAD_FRAME, VAD_SAMPLE_RATE } from './vad.ts';

/**
 * Live audio → utterances: buffers chunks of any length and rate into 32 ms frames, runs the VAD on each and
 * hands finished utterances to `onUtterance`. Chunks are processed strictly in order (the VAD is recurrent).
 */
export class AudioStream {
  private pending = new Float32Array(0);
  private queue: Promise<void> = Promise.resolve();
  /** Samples (16 kHz) consumed so far: the stream clock utterance positions refer to. */
  position = 0;
  /** With a denoiser: the input before it, as chunks from input sample `rawStart` (the input's own clock). */
  private raw: Float32Array[] = [];
  private rawStart = 0;
  private rawEnd = 0;
  /** Input samples kept for `unprocessed`: as far as an utterance can reach back. */
  private readonly rawKept: number;
  /** Denoised samples dropped unanalysed at a flush: the stream clock runs that far behind the denoiser's output. */
  private dropped = 0;

  constructor(
    private readonly vad: SileroVad,
    private readonly segmenter: Segmenter,
    private readonly onUtterance: (utterance: Utterance) => void | Promise<void>,
    /**
     * Speech paused: the utterance so far, for early decoding. Analysis waits for the answer, whether it heard a
     * finished command (the utterance then ends after the shorter `completeSilenceMs`); frames queue meanwhile
     * and are caught up in milliseconds, so the close comes when both the decode and that silence are done.
     */
    private readonly onEarly?: (utterance: Utterance) => Promise<boolean> | boolean,
    /** Cleans the audio before the VAD (and so before the recogniser); owned by the caller. */
    private readonly denoiser?: NoiseSuppressor,
  ) {
    const o = segmenter.options;
    this.rawKept = ((o.maxUtteranceMs + o.preRollMs + o.trailingSilenceMs + 1000) * VAD_SAMPLE_RATE) / 1000;
  }

  /** Queues a chunk; the returned promise settles when it has been analysed (callers may ignore it). */
  push(samples: Float32Array, sampleRate: number): Promise<void> {
    const chunk = resample(samples, sampleRate, VAD_SAMPLE_RATE);
    // Denoised inside the queue: the suppressor is recurrent, chunks must reach it in order.
    return this.enqueue(() => {
      if (!this.denoiser) return this.process(chunk);
      this.keepRaw(chunk);
      return this.process(this.denoiser.process(chunk));
    });
  }

  /**
   * Runs `work` after everything queued. Its failure (e.g. a reply that could not be spoken) rejects only
   * its own promise: the queue goes on, or the site would stay deaf and flush would fail for good.
   */
  private enqueue(work: () => Promise<void>): Promise<void> {
    const done = this.queue.then(work);
    this.queue = done.catch(() => {});
    return done;
  }

  /** End of stream: finishes the utterance in progress. */
  flush(): Promise<void> {
    return this.enqueue(async () => {
      const flushed = this.segmenter.flush();
      const utterance = flushed && this.withUnprocessed(flushed);
      this.vad.reset();
      // The denoiser keeps its state: the room's noise is the same after push-to-talk is released, and a
      // fresh suppressor needs half a second of it to settle.
      if (this.denoiser) this.dropped += this.pending.length;
      this.pending = new Float32Array(0);
      if (utterance) await this.onUtterance(utterance);
    });
  }

  private async process(chunk: Float32Array): Promise<void> {
    const joined = new Float32Array(this.pending.length + chunk.length);
    joined.set(this.pending);
    joined.set(chunk, this.pending.length);
    let at = 0;
    // A failed utterance is reported once the chunk is analysed: the frames after it still count.
    let failure: { error: unknown } | undefined;
    for (; at + VAD_FRAME <= joined.length; at += VAD_FRAME) {
      const frame = joined.slice(at, at + VAD_FRAME);
      const probability = await this.vad.probability(frame);
      this.position += VAD_FRAME;
      let utterance = this.segmenter.push(frame, probability);
      const early = this.segmenter.takeEarly();
      if (early && (await this.onEarly?.(this.withUnprocessed(early))))
        utterance ??= this.segmenter.complete(early.pauseStart);
      if (utterance)
        await Promise.resolve(this.onUtterance(this.withUnprocessed(utterance))).catch((error) => {
          failure ??= { error };
        });
    }
    this.pending = joined.slice(at);
    if (failure) throw failure.error;
  }

  /** Keeps the input as long as an utterance can reach back (longest utterance + pre-roll + a second). */
  private keepRaw(chunk: Float32Array): void {
    this.raw.push(chunk);
    this.rawEnd += chunk.length;
    while (this.raw.length > 1 && this.rawEnd - this.rawStart - this.raw[0]!.length >= this.rawKept) {
      this.rawStart += this.raw.shift()!.length;
    }
  }

  /** The utterance with its input before denoising: the same span, `DENOISE_DELAY` earlier on the input. */
  private withUnprocessed(utterance: Utterance): Utterance {
    if (!this.denoiser) return utterance;
    const end = utterance.closedAt + this.dropped - DENOISE_DELAY;
    const start = end - utterance.samples.length;
    const out = new Float32Array(utterance.samples.length);
    let at = this.rawStart;
    for (const chunk of this.raw) {
      // Overlap of [at, at + chunk.length) with [start, end), copied to its place in `out`.
      const from = Math.max(start, at);
      const to = Math.min(end, at + chunk.length);
      if (to > from) out.set(chunk.subarray(from - at, to - at), from - start);
      at += chunk.length;
    }
    return { ...utterance, unprocessed: out };
  }
}
