/**
 * Self-adaptation (`voice.adaptation`): the commands the agent accepted, with the words it heard as their
 * transcripts, adapt the acoustic model as an enrollment would (MAP, adapt.ts), in the background, without the
 * user reading prompts. Accepted recognitions are nearly always right, and the model is always re-made from the
 * base, so one misheard command does not compound. It fits whoever talks to the device most, at a cost to
 * voices it seldom hears (models/README.md, "Self-adaptation"): off by default.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spokenWords } from '../../../../models/factory/voice/jsgf.ts';
import { DEFAULT_HMM } from '../pocketsphinx.ts';
import type { Recognition } from '../recognizer.ts';
import { enrol, missingEnrolTools } from './adapt.ts';
import { type AdaptationState, HeardStore } from './heard-store.ts';
import { type Enrolment, missingModelFiles, readEnrolment } from './model-dir.ts';

export interface AdaptationSettings {
  /** Directory for the kept commands and the adapted model (`<dir>/acoustic`). */
  dir: string;
  /** First adaptation once this many commands are kept. */
  minCommands: number;
  /** Adapt again after this many more. */
  every: number;
  /** Keep at most this many (the newest). */
  keep: number;
}

/** A heard command worth adapting to: accepted outright, its words all in the audio. */
export function worthKeeping(r: Recognition): boolean {
  // A doubted or continued command's text is not (only) what the audio says ("and then" is left out).
  return r.accepted && !r.doubt && !r.continues && r.text.trim().split(/\s+/).length >= 2;
}

/** Whether the kept commands call for a (new) adapted model. */
export function adaptationDue(
  state: AdaptationState,
  size: number,
  s: Pick<AdaptationSettings, 'minCommands' | 'every'>,
): boolean {
  if (size < s.minCommands) return false;
  // After a failed try too, it waits for `every` more: a failure does not repeat on every command.
  return state.triedAt === 0 || state.kept - state.triedAt >= s.every;
}

/**
 * The adapted model in an adaptation directory: its record, and its path when complete and made from `baseModel`
 * (one made from another base, before an enrollment, is not used).
 */
export function adaptedModel(dir: string, baseModel = DEFAULT_HMM): { record?: Enrolment; usable?: string } {
  const modelDir = join(dir, 'acoustic');
  if (!existsSync(modelDir) || missingModelFiles(modelDir).length > 0) return {};
  const record = readEnrolment(modelDir);
  if (!record) return {};
  return record.baseModel === baseModel ? { record, usable: modelDir } : { record };
}

export interface SelfAdaptationOptions extends AdaptationSettings {
  /** Acoustic model adapted from (unset: Debian's en-us). */
  baseModel?: string;
  /** The recogniser denoises (voice.denoise): the kept raw audio is denoised before adapting, as it decodes. */
  denoise: boolean;
  /** A new adapted model is ready in `dir` (the caller switches the recogniser to it). */
  onAdapted: (modelDir: string, summary: { commands: number; aligned: number; ms: number }) => Promise<void>;
  onError: (error: Error) => void;
}

export class SelfAdaptation {
  private readonly store: HeardStore;
  private running: Promise<void> | undefined;

  private constructor(private readonly options: SelfAdaptationOptions) {
    this.store = new HeardStore(options.dir, options.keep);
  }

  /** Why it cannot run instead, when sphinxtrain is not installed (voice runs unadapted). */
  static open(options: SelfAdaptationOptions): SelfAdaptation | string {
    const missing = missingEnrolTools();
    if (missing.length > 0)
      return `self-adaptation needs ${missing.join(', ')} (sudo apt install sphinxtrain sphinxbase-utils)`;
    return new SelfAdaptation(options);
  }

  /** The adapted model made earlier from the same base, if complete: the recogniser starts on it. */
  get modelDir(): string | undefined {
    return adaptedModel(this.options.dir, this.options.baseModel).usable;
  }

  get kept(): number {
    return this.store.size;
  }

  /**
   * Offers a heard command: kept if worth it (`audio` is what was heard before noise suppression), and a new
   * model made in the background when due. Never throws: a full disk costs adaptation, not the command.
   */
  offer(recognition: Recognition, audio: Float32Array): void {
    if (!worthKeeping(recognition)) return;
    try {
      this.store.add(audio, spokenWords(recognition.text.toLowerCase()));
    } catch (error) {
      this.options.onError(error as Error);
      return;
    }
    if (!this.running && adaptationDue(this.store.adaptation, this.store.size, this.options)) {
      this.running = this.adapt()
        .catch((error: Error) => this.options.onError(error))
        .finally(() => {
          this.running = undefined;
        });
    }
  }

  /** Settles when no adaptation is running (for shutdown and tests). */
  async idle(): Promise<void> {
    await this.running;
  }

  private async adapt(): Promise<void> {
    const started = performance.now();
    const keptAtStart = this.store.adaptation.kept;
    const recordings = this.store.recordings();
    this.store.markTried(keptAtStart);
    const result = await enrol({
      recordings,
      out: join(this.options.dir, 'acoustic'),
      denoise: this.options.denoise,
      source: 'heard',
      background: true,
      ...(this.options.baseModel ? { baseModel: this.options.baseModel } : {}),
    });
    await this.options.onAdapted(result.dir, {
      commands: recordings.length,
      aligned: result.aligned,
      ms: Math.round(performance.now() - started),
    });
  }
}
