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
    this.queue = this.queue.then(() => this.process(chunk));
    return this.queue;
  }

  /** End of stream: finishes the utterance in progress. */
  flush(): Promise<void> {
    this.queue = this.queue.then(async () => {
      const utterance = this.segmenter.flush();
      this.vad.reset();
      this.pending = new Float32Array(0);
      if (utterance) await this.onUtterance(utterance);
    });
    return this.queue;
  }

  private async process(chunk: Float32Array): Promise<void> {
    const joined = new Float32Array(this.pending.length + chunk.length);
    joined.set(this.pending);
    joined.set(chunk, this.pending.length);
    let at = 0;
    for (; at + VAD_FRAME <= joined.length; at += VAD_FRAME) {
      const frame = joined.slice(at, at + VAD_FRAME);
      const probability = await this.vad.probability(frame);
      this.position += VAD_FRAME;
      const utterance = this.segmenter.push(frame, probability);
      const early = this.segmenter.takeEarly();
      if (early) this.onEarly?.(early);
      if (utterance) await this.onUtterance(utterance);
    }
    this.pending = joined.slice(at);
  }
}
