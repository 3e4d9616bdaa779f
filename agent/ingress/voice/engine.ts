import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SlingConfig } from '../../config/schema.ts';
import { fromProjectRoot } from '../../paths.ts';
import type { DecoderSettings } from './decoder.ts';
import { NoiseSuppressor } from './denoise.ts';
import { missingModelFiles, readEnrolment } from './enrol/model-dir.ts';
import { type Calibration, defaultCalibration, PocketSphinxRecognizer } from './pocketsphinx.ts';
import type { Recognition, SpeechRecognizer } from './recognizer.ts';
import { Segmenter, type SegmenterOptions, type Utterance } from './segmenter.ts';
import { AudioStream } from './stream.ts';
import { SileroVad, VAD_SAMPLE_RATE } from './vad.ts';
import { decodeWav } from './wav.ts';

/** One heard utterance: where it was in the audio and what the recogniser made of it. */
export interface Heard {
  utterance: Utterance;
  recognition: Recognition;
  /** Wall-clock time the recogniser took. */
  recognizeMs: number;
  /**
   * Stream position (samples) where recognition began: the utterance's `closedAt`, or earlier when the audio
   * up to a pause was decoded while the trailing silence was still being confirmed (early decoding).
   */
  decodeStartedAt: number;
}

export interface VoiceEngineOptions {
  /** Directory holding the grammar files written by models/factory/voice/build.ts. */
  grammarDir: string;
  minConfidence: number;
  segmenter?: Partial<SegmenterOptions>;
  /** PocketSphinx search settings (config `voice.decoder`); unset = the measured defaults. */
  decoder?: DecoderSettings;
  /** PocketSphinx acoustic model directory (an enrolled speaker's adapted copy); unset = Debian's en-us. */
  acousticModel?: string;
  /** Replace PocketSphinx, e.g. with a user-provided ONNX speech model behind the same interface. */
  recognizer?: SpeechRecognizer;
  /** RNNoise noise suppression before the VAD (config `voice.denoise`); unset = off. */
  denoise?: boolean;
}

/** How soon (samples) a command starting with a connective must follow the accepted command it continues. */
export const CONTINUATION_WINDOW = 2 * VAD_SAMPLE_RATE;

/**
 * A command heard with a leading connective ("and then go home", after a pause that ended "pick it up") stands
 * only if the utterance just before it was an accepted command that closed at most `CONTINUATION_WINDOW` before
 * it began (`previousEnd`, stream samples; undefined when the one before was refused, so nothing said in
 * between is skipped). Otherwise the connective is more likely a misheard word ("turn" heard as "then"):
 * refused, and not asked back.
 */
export function inContinuation(heard: Heard, previousEnd: number | undefined): Heard {
  const r = heard.recognition;
  if (!r.continues) return heard;
  if (previousEnd !== undefined && heard.utterance.speechStart - previousEnd <= CONTINUATION_WINDOW)
    return heard;
  const { doubt: _, ...rest } = r;
  const reason = r.accepted ? 'it starts with "then" or "and" but no command came just before it' : r.reason;
  return { ...heard, recognition: { ...rest, accepted: false, ...(reason ? { reason } : {}) } };
}

/** An early decode that lets the utterance end sooner: a command heard, accepted and finished (`complete`). */
const endsCommand = (r: Recognition) => r.accepted && r.complete === true;

export class VoiceEngine {
  /** Decodes in progress, so a recogniser being replaced is closed only once they are done. */
  private readonly decoding = new Set<Promise<unknown>>();

  private constructor(
    readonly vad: SileroVad,
    private current: SpeechRecognizer,
    private readonly segmenterOptions: Partial<SegmenterOptions>,
    readonly denoise: boolean,
    private readonly options: VoiceEngineOptions,
  ) {}

  static async open(options: VoiceEngineOptions): Promise<VoiceEngine> {
    const engine = new VoiceEngine(
      await SileroVad.load(),
      options.recognizer ?? pocketSphinxFromEngineOptions(options),
      options.segmenter ?? {},
      options.denoise ?? false,
      options,
    );
    // A suppressor that cannot load fails here, at start-up, not with the first audio frame.
    (await engine.noiseSuppressor())?.close();
    return engine;
  }

  /** A noise suppressor for one audio stream when `denoise` is on (the caller closes it), else undefined. */
  async noiseSuppressor(): Promise<NoiseSuppressor | undefined> {
    return this.denoise ? NoiseSuppressor.open() : undefined;
  }

  get recognizer(): SpeechRecognizer {
    return this.current;
  }

  /**
   * Decodes from now on with another acoustic model (a new self-adapted one); decodes already running finish on
   * the old model, which is closed after them.
   */
  async useAcousticModel(acousticModel: string): Promise<void> {
    if (this.options.recognizer)
      throw new Error('the recogniser is not PocketSphinx: it has no acoustic model');
    const next = pocketSphinxFromEngineOptions({ ...this.options, acousticModel });
    const old = this.current;
    this.current = next;
    await Promise.allSettled([...this.decoding]);
    await old.close();
  }

  async recognize(utterance: Utterance): Promise<Heard> {
    const started = performance.now();
    // Utterance samples end at closedAt; the VAD's speech span within them.
    const offset = utterance.closedAt - utterance.samples.length;
    const unprocessed = audioBeforeSuppression(utterance);
    const decoding = this.current.recognize(
      utterance.samples,
      { start: Math.max(0, utterance.speechStart - offset), end: utterance.speechEnd - offset },
      unprocessed,
    );
    this.decoding.add(decoding);
    const recognition = await decoding.finally(() => this.decoding.delete(decoding));
    return {
      utterance,
      recognition,
      recognizeMs: performance.now() - started,
      decodeStartedAt: utterance.closedAt,
    };
  }

  /**
   * The utterance's audio as the microphone gave it (before noise suppression), what an enrollment adapts to;
   * undefined when denoised audio is all there is.
   */
  rawAudio(utterance: Utterance): Float32Array | undefined {
    return this.denoise ? audioBeforeSuppression(utterance) : utterance.samples;
  }

  /** Every utterance in a WAV file, in order. */
  async listenFile(wav: Uint8Array): Promise<Heard[]> {
    const audio = decodeWav(wav);
    const utterances: Utterance[] = [];
    // Decoded as a live stream would, at each pause, so the shorter silence after a whole command applies.
    const early = new Map<number, Promise<Heard>>();
    this.vad.reset();
    const denoiser = await this.noiseSuppressor();
    const stream = new AudioStream(
      this.vad,
      new Segmenter(this.segmenterOptions),
      (u) => {
        utterances.push(u);
      },
      (u) => {
        const heard = this.recognize(u);
        early.set(u.pauseStart, heard);
        return heard.then(
          (h) => endsCommand(h.recognition),
          () => false,
        );
      },
      denoiser,
    );
    try {
      // Half a second of silence after the file so speech running to its very end still closes.
      await stream.push(audio.samples, audio.sampleRate);
      await stream.push(new Float32Array(VAD_SAMPLE_RATE / 2), VAD_SAMPLE_RATE);
      await stream.flush();
    } finally {
      denoiser?.close();
    }
    const heard: Heard[] = [];
    // The audio up to the final pause, decoded when it began, stands for the utterance if no speech came after.
    let previousEnd: number | undefined;
    for (const u of utterances) {
      const at = early.get(u.pauseStart);
      const h = inContinuation(at ? { ...(await at), utterance: u } : await this.recognize(u), previousEnd);
      previousEnd = h.recognition.accepted ? u.closedAt : undefined;
      heard.push(h);
    }
    return heard;
  }

  async close(): Promise<void> {
    await this.current.close();
    await this.vad.close();
  }
}

/**
 * Early decoding for one live stream: when speech pauses, the audio so far is decoded while the segmenter
 * still waits out the trailing silence, so the text is ready about when the utterance closes.
 */
export class EarlyDecodes {
  private early: { utterance: Utterance; heard: Promise<Heard> } | undefined;

  constructor(private readonly engine: VoiceEngine) {}

  /**
   * Speech paused: decodes what was said so far. Resolves whether it heard a finished command (the stream then
   * ends the utterance after the shorter silence); the stream awaits it, so decodes never overlap.
   */
  start(utterance: Utterance): Promise<boolean> {
    const heard = this.engine.recognize(utterance);
    this.early = { utterance, heard };
    // A failed decode is no verdict; whoever takes it still gets the error.
    return heard.then(
      (h) => endsCommand(h.recognition),
      () => false,
    );
  }

  /** The early decode when it stands for this utterance (no speech came after its pause), undefined otherwise. */
  take(utterance: Utterance): Promise<Heard> | undefined {
    const started = this.early?.utterance.pauseStart === utterance.pauseStart ? this.early : undefined;
    this.early = undefined;
    const taken = started?.heard.then((heard) => ({ ...heard, utterance }));
    // Routing may drop it (a wake phrase, an answer): its failure must not be an unhandled rejection, which
    // would end the process. Whoever awaits it still gets the error.
    taken?.catch(() => {});
    return taken;
  }

  /** What was heard in a closed utterance: the early decode if it stands for it, else a decode now. */
  heard(utterance: Utterance): Promise<Heard> {
    return this.take(utterance) ?? this.engine.recognize(utterance);
  }
}

/**
 * The engine as the agent's `voice` config sets it up, paths resolved from the project root; `overrides` for
 * what a caller sets itself (`sling listen --grammar`, a benchmark's acoustic model).
 */
export function voiceEngineOptions(
  voice: SlingConfig['voice'],
  overrides: Partial<VoiceEngineOptions> = {},
): VoiceEngineOptions {
  return {
    grammarDir: fromProjectRoot(voice.grammar),
    minConfidence: voice.minConfidence,
    segmenter: voice.vad,
    decoder: voice.decoder,
    denoise: voice.denoise,
    ...(voice.acousticModel ? { acousticModel: fromProjectRoot(voice.acousticModel) } : {}),
    ...overrides,
  };
}

/** The input before denoising behind an utterance's samples (a route may have cut a wake phrase off their start). */
function audioBeforeSuppression(utterance: Utterance): Float32Array | undefined {
  const raw = utterance.unprocessed;
  return raw && raw.length >= utterance.samples.length
    ? raw.subarray(raw.length - utterance.samples.length)
    : undefined;
}

function pocketSphinxFromEngineOptions(options: VoiceEngineOptions): SpeechRecognizer {
  return pocketSphinxFromDir(options.grammarDir, options.minConfidence, {
    ...(options.decoder ? { decoder: options.decoder } : {}),
    ...(options.acousticModel ? { acousticModel: options.acousticModel } : {}),
  });
}

export interface PocketSphinxDirOptions {
  decoder?: DecoderSettings;
  /** Over the grammar's own calibration (benchmarks measuring what a setting does). */
  calibration?: Partial<Calibration>;
  /** Acoustic model directory; unset = Debian's en-us. */
  acousticModel?: string;
}

export function pocketSphinxFromDir(
  dir: string,
  minConfidence: number,
  { decoder, calibration = {}, acousticModel }: PocketSphinxDirOptions = {},
): PocketSphinxRecognizer {
  // voice.json says which decoder the build chose (JSGF for small grammars, trigram model for large) and
  // may carry a calibration measured on its own commands.
  const manifestFile = join(dir, 'voice.json');
  if (!existsSync(manifestFile)) {
    throw new Error(
      `voice grammar missing: ${manifestFile} (build it with: npx tsx models/factory/voice/build.ts config/intents <model dir>)`,
    );
  }
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as {
    decoder?: 'jsgf' | 'lm';
    calibration?: Partial<Calibration>;
    decoderArgs?: string[];
    contrasts?: Record<string, string[]>;
  };
  const files = {
    grammar: manifest.decoder === 'jsgf' ? 'grammar.jsgf' : 'grammar.lm',
    dictionary: 'grammar.dict',
    loopGrammar: 'loop.jsgf',
    loopDictionary: 'loop.dict',
  };
  for (const f of Object.values(files)) {
    if (!existsSync(join(dir, f))) throw new Error(`voice grammar incomplete: ${join(dir, f)} is missing`);
  }
  const modelGaps = acousticModel ? missingModelFiles(acousticModel) : [];
  if (modelGaps.length > 0)
    throw new Error(
      `acoustic model ${acousticModel} lacks ${modelGaps.join(', ')} (rerun \`sling voice enrol\`)`,
    );
  // An enrolled model may need a wider contrast margin than the grammar's (enrol/model-dir.ts).
  const enrolledMargin = (acousticModel && readEnrolment(acousticModel)?.contrastMargin) || 0;
  const grammarMargin = manifest.calibration?.contrastMargin ?? defaultCalibration.contrastMargin;
  const enrolled = enrolledMargin > grammarMargin ? { contrastMargin: enrolledMargin } : {};
  return new PocketSphinxRecognizer({
    grammar: join(dir, files.grammar),
    dictionary: join(dir, files.dictionary),
    loopGrammar: join(dir, files.loopGrammar),
    loopDictionary: join(dir, files.loopDictionary),
    minConfidence,
    ...(acousticModel ? { hmm: acousticModel } : {}),
    calibration: { ...manifest.calibration, ...enrolled, ...calibration },
    ...(manifest.decoderArgs ? { decoderArgs: manifest.decoderArgs } : {}),
    ...(decoder ? { decoder } : {}),
    ...(manifest.contrasts ? { contrasts: manifest.contrasts } : {}),
    ...(files.grammar.endsWith('.lm') ? { sentenceGrammar: join(dir, 'grammar.jsgf') } : {}),
  });
}
