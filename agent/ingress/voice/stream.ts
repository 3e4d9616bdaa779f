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

  constructor(
    private readonly vad: SileroVad,
    private readonly segmenter: Segmenter,
    private readonly onUtterance: (utterance: Utterance) => void | Promise<void>,
    /** Speech paused: the utterance so far, for early decoding (not awaited: analysis goes on meanwhile). */
    private readonly onEarly?: (utterance: Utterance) => void,
  ) {}

  /** Queues a chunk; the returned promise settles when it has been analysed (callers may ignore it). */
  push(samples: Float32Array, sampleRate: number): Promise<void> {
    const chunk = resample(samples, sampleRate, VAD_SAMPLE_RATE);
    return this.enqueue(() => this.process(chunk));
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
      const utterance = this.segmenter.flush();
      this.vad.reset();
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
      const utterance = this.segmenter.push(frame, probability);
      const early = this.segmenter.takeEarly();
      if (early) this.onEarly?.(early);
      if (utterance)
        await Promise.resolve(this.onUtterance(utterance)).catch((error) => {
          failure ??= { error };
        });
    }
    this.pending = joined.slice(at);
    if (failure) throw failure.error;
  }
}
