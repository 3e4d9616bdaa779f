import { VAD_FRAME, VAD_SAMPLE_RATE } from './vad.ts';

/** Turns per-frame speech probabilities into utterances. Pure: no model, no I/O, so it is tested directly. */
export interface SegmenterOptions {
  /** Speech starts when a frame's probability reaches this. */
  threshold: number;
  /** Silence is a frame below this (hysteresis below `threshold`). */
  negThreshold: number;
  /** An utterance ends after this much continuous silence. */
  trailingSilenceMs: number;
  /** Utterances shorter than this (speech frames only) are dropped as clicks and coughs. */
  minSpeechMs: number;
  /** An utterance is cut at this length even if speech goes on. */
  maxUtteranceMs: number;
  /** Audio kept from before the first speech frame, so soft onsets are not clipped. */
  preRollMs: number;
  /**
   * Silence after which the utterance so far is offered for early decoding (`takeEarly`), while the rest of
   * `trailingSilenceMs` confirms the end: the result is then ready about when the utterance closes.
   */
  earlyDecodeMs: number;
}

export const defaultSegmenterOptions: SegmenterOptions = {
  threshold: 0.5,
  negThreshold: 0.35,
  // Measured on bench:voice (espeak-ng, 3 voices, 2 speeds, 20/10 dB): 160 ms split no command and, with
  // decoding from a 32 ms pause, brought end of speech → plan p50 from 343 to 284 ms (224 / 64 before).
  // Slow or hesitant speakers pause longer inside a command: raise vad.trailingSilenceMs for them.
  trailingSilenceMs: 160,
  minSpeechMs: 128,
  maxUtteranceMs: 10000,
  preRollMs: 192,
  earlyDecodeMs: 32,
};

export interface Utterance {
  /** 16 kHz mono samples: pre-roll + speech + trailing silence. */
  samples: Float32Array;
  /** Stream position (samples) of the first and one past the last speech frame. */
  speechStart: number;
  speechEnd: number;
  /** Stream position (samples) when the utterance was closed: speechEnd + the trailing silence waited. */
  closedAt: number;
  reason: 'silence' | 'max-length' | 'flush' | 'early';
  /**
   * The same span before noise suppression, when the stream denoises (`samples` are then the denoised
   * audio): for checks that weigh fine acoustic detail the suppressor may take away.
   */
  unprocessed?: Float32Array;
}

const frameMs = (VAD_FRAME / VAD_SAMPLE_RATE) * 1000;

export class Segmenter {
  readonly options: SegmenterOptions;
  private preRoll: Float32Array[] = [];
  private frames: Float32Array[] = [];
  private position = 0;
  private inSpeech = false;
  private speechFrames = 0;
  private silentFrames = 0;
  private speechStart = 0;
  private lastSpeechEnd = 0;
  private early?: Utterance;

  constructor(options: Partial<SegmenterOptions> = {}) {
    this.options = { ...defaultSegmenterOptions, ...options };
  }

  get speaking(): boolean {
    return this.inSpeech;
  }

  /** Feeds one frame and its probability; returns the utterance it completes, if any. */
  push(frame: Float32Array, probability: number): Utterance | undefined {
    const o = this.options;
    const start = this.position;
    this.position += frame.length;
    if (!this.inSpeech) {
      if (probability >= o.threshold) {
        this.inSpeech = true;
        this.frames = [...this.preRoll, frame];
        this.preRoll = [];
        this.speechFrames = 1;
        this.silentFrames = 0;
        this.speechStart = start;
        this.lastSpeechEnd = this.position;
      } else {
        this.preRoll.push(frame);
        while (this.preRoll.length * frameMs > o.preRollMs) this.preRoll.shift();
      }
      return undefined;
    }
    this.frames.push(frame);
    if (probability >= o.negThreshold) {
      this.speechFrames++;
      this.silentFrames = 0;
      this.lastSpeechEnd = this.position;
    } else {
      this.silentFrames++;
      const silenceMs = this.silentFrames * frameMs;
      if (
        silenceMs >= o.earlyDecodeMs &&
        silenceMs - frameMs < o.earlyDecodeMs &&
        silenceMs < o.trailingSilenceMs
      )
        this.early = this.utterance('early');
    }
    if (this.silentFrames * frameMs >= o.trailingSilenceMs) return this.finish('silence');
    if (this.frames.length * frameMs >= o.maxUtteranceMs) return this.finish('max-length');
    return undefined;
  }

  /** Ends the stream (end of file, stopListening): returns the utterance in progress, if long enough. */
  flush(): Utterance | undefined {
    return this.inSpeech ? this.finish('flush') : undefined;
  }

  /**
   * The utterance so far, taken once, when speech has paused for `earlyDecodeMs`: decoding it may start now.
   * It stands for the final utterance only if that ends with the same `speechEnd` (no speech came back).
   */
  takeEarly(): Utterance | undefined {
    const early = this.early;
    this.early = undefined;
    return early;
  }

  private finish(reason: Utterance['reason']): Utterance | undefined {
    const utterance = this.utterance(reason);
    this.inSpeech = false;
    this.frames = [];
    this.preRoll = [];
    return utterance;
  }

  private utterance(reason: Utterance['reason']): Utterance | undefined {
    if (this.speechFrames * frameMs < this.options.minSpeechMs) return undefined;
    const frames = this.frames;
    const samples = new Float32Array(frames.reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const f of frames) {
      samples.set(f, at);
      at += f.length;
    }
    return {
      samples,
      speechStart: this.speechStart,
      speechEnd: this.lastSpeechEnd,
      closedAt: this.position,
      reason,
    };
  }
}
