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
  /**
   * A frame this many dB below the utterance's loudest speech frame starts the pause for early decoding even
   * while the VAD, which lags the end of speech by about two frames, still calls it speech. 0: the VAD alone.
   * On denoised audio the room falls 40 dB or more below speech within a frame.
   */
  quietDb: number;
  /**
   * Trailing silence that ends an utterance whose early decode heard a finished command (`complete`); others
   * wait `trailingSilenceMs`, so a speaker pausing inside a command is not cut off.
   */
  completeSilenceMs: number;
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
  quietDb: 40,
  completeSilenceMs: 128,
};

export interface Utterance {
  /** 16 kHz mono samples: pre-roll + speech + trailing silence. */
  samples: Float32Array;
  /** Stream position (samples) of the first and one past the last speech frame. */
  speechStart: number;
  speechEnd: number;
  /** Stream position (samples) when the utterance was closed: speechEnd + the trailing silence waited. */
  closedAt: number;
  /**
   * Stream position (samples) where the final pause began: after the last frame that was speech to the VAD and
   * not `quietDb` below the loudest. An early decode stands for the utterance with the same `pauseStart`.
   */
  pauseStart: number;
  /** `complete`: closed after `completeSilenceMs` because the early decode heard a finished command. */
  reason: 'silence' | 'max-length' | 'flush' | 'early' | 'complete';
  /**
   * The same span before noise suppression, when the stream denoises (`samples` are then the denoised
   * audio): for checks that weigh fine acoustic detail the suppressor may take away.
   */
  unprocessed?: Float32Array;
}

const frameMs = (VAD_FRAME / VAD_SAMPLE_RATE) * 1000;

const rms = (frame: Float32Array) => {
  let sum = 0;
  for (const v of frame) sum += v * v;
  return Math.sqrt(sum / Math.max(1, frame.length));
};

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
  /** Loudest speech frame's RMS so far, and the pause since the last frame near it (`quietDb`). */
  private peak = 0;
  private quietFrames = 0;
  private pauseStart = 0;
  /** The early decode of this pause heard a finished command: `completeSilenceMs` ends the utterance. */
  private completed = false;
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
        this.peak = rms(frame);
        this.quietFrames = 0;
        this.pauseStart = this.position;
        this.completed = false;
      } else {
        this.preRoll.push(frame);
        while (this.preRoll.length * frameMs > o.preRollMs) this.preRoll.shift();
      }
      return undefined;
    }
    this.frames.push(frame);
    const voiced = probability >= o.negThreshold;
    const level = rms(frame);
    if (voiced) {
      this.speechFrames++;
      this.silentFrames = 0;
      this.lastSpeechEnd = this.position;
      this.peak = Math.max(this.peak, level);
    } else this.silentFrames++;
    if (voiced && !(o.quietDb > 0 && level < this.peak * 10 ** (-o.quietDb / 20))) {
      this.quietFrames = 0;
      this.pauseStart = this.position;
      this.completed = false;
    } else {
      this.quietFrames++;
      const pauseMs = this.quietFrames * frameMs;
      if (pauseMs >= o.earlyDecodeMs && pauseMs - frameMs < o.earlyDecodeMs && pauseMs < o.trailingSilenceMs)
        this.early = this.utterance('early');
    }
    if (this.silentFrames * frameMs >= o.trailingSilenceMs) return this.finish('silence');
    if (this.completed && this.silentFrames * frameMs >= o.completeSilenceMs) return this.finish('complete');
    if (this.frames.length * frameMs >= o.maxUtteranceMs) return this.finish('max-length');
    return undefined;
  }

  /** Ends the stream (end of file, stopListening): returns the utterance in progress, if long enough. */
  flush(): Utterance | undefined {
    return this.inSpeech ? this.finish('flush') : undefined;
  }

  /**
   * The early decode of the pause that began at `pauseStart` heard a finished command: the utterance now ends
   * after `completeSilenceMs` of silence (returned here if that has passed). Ignored if speech came back.
   */
  complete(pauseStart: number): Utterance | undefined {
    if (!this.inSpeech || pauseStart !== this.pauseStart) return undefined;
    this.completed = true;
    return this.silentFrames * frameMs >= this.options.completeSilenceMs
      ? this.finish('complete')
      : undefined;
  }

  /**
   * The utterance so far, taken once, when speech has paused for `earlyDecodeMs`: decoding it may start now.
   * It stands for the final utterance only if that has the same `pauseStart` (no speech came back).
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
      pauseStart: this.pauseStart,
      closedAt: this.position,
      reason,
    };
  }
}
