/** An acoustic model directory as the decoder loads it, and the record enrollment leaves in it. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What an adapted model directory holds; the decoder needs all of them (`sendump` or `mixture_weights`). */
export const MODEL_FILES = ['mdef', 'means', 'variances', 'transition_matrices', 'feat.params', 'noisedict'];
export const ENROLMENT_FILE = 'enrolment.json';

export interface Enrolment {
  method: 'map';
  baseModel: string;
  recordings: number;
  /** Recordings bw aligned to their transcripts (the others trained nothing). */
  aligned: number;
  seconds: number;
  created: string;
  /**
   * Least contrast margin (pocketsphinx.ts) for words without their own, while this model decodes: an
   * adapted model scores the sentences it fits further apart, right and wrong ones alike, so the grammar's
   * margin (500) let a flip through that the base model never made. Applied when above the grammar's.
   */
  contrastMargin?: number;
  /** The recordings were denoised (RNNoise) before adapting: the model fits `voice.denoise: true`. */
  denoised?: boolean;
  /** Transcripts read from prompts by the user, or the words the agent heard (self-adaptation). */
  source?: 'prompts' | 'heard';
}

/** A model directory's missing files (empty: the decoder can load it). */
export function missingModelFiles(dir: string): string[] {
  const missing = MODEL_FILES.filter((f) => !existsSync(join(dir, f)));
  if (!existsSync(join(dir, 'sendump')) && !existsSync(join(dir, 'mixture_weights'))) missing.push('sendump');
  return missing;
}

/** The enrolment record of a model directory, when it has one. */
export function readEnrolment(dir: string): Enrolment | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, ENROLMENT_FILE), 'utf8')) as Enrolment;
  } catch {
    return undefined;
  }
}
