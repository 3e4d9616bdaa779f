/**
 * The speech recogniser contract. PocketSphinx is the default; anything that turns 16 kHz mono audio into
 * text with a confidence (e.g. a user-provided ONNX speech model) can replace it.
 */
/**
 * Why a confident, whole command was refused but may be asked back: one word that changes what it does could
 * also have been `rival` (the contrast check, or two decoding passes that each heard one of them), or only
 * the audio before noise suppression gave the sentence (`voice.decoder.unprocessedOpinion: ask`).
 */
export type Doubt = { word: string; rival: string } | { heardBeforeSuppression: true };

export interface Recognition {
  /** Lower-case words, empty when nothing in the grammar matched. */
  text: string;
  /** 0..1; compared with `minConfidence` to accept or refuse. */
  confidence: number;
  accepted: boolean;
  /** Why a recognition was refused (no grammar path, low confidence, ...). */
  reason?: string;
  /** Refused for a doubt the speaker may be asked about: the text is a whole command heard with confidence. */
  doubt?: Doubt;
  /**
   * The text is a whole command the grammar lets go on only with words that do not change it ("please"): a
   * speaker pausing here is done, so the utterance may end after a shorter silence. Unset: not known.
   */
  complete?: boolean;
  /**
   * The words began with a connective ("and then go home"), left out of `text`: the command continues the one
   * before, and stands only if one was just heard (`inContinuation`).
   */
  continues?: boolean;
  /** Recogniser-specific evidence (scores) for logs and benchmarks. */
  detail?: Record<string, number | string>;
  timing: { decodeMs: number };
}

export interface SpeechSpan {
  start: number;
  end: number;
}

export interface SpeechRecognizer {
  readonly name: string;
  /**
   * `samples`: 16 kHz mono in [-1, 1]; `speech`, when known, where the VAD heard speech in them (sample
   * offsets); `unprocessed`, when `samples` were denoised, the same audio before (same length and span),
   * which a recogniser may use where the suppressor could take away what tells two words apart. Never
   * throws on bad audio: returns a refused Recognition.
   */
  recognize(samples: Float32Array, speech?: SpeechSpan, unprocessed?: Float32Array): Promise<Recognition>;
  close(): Promise<void>;
}
