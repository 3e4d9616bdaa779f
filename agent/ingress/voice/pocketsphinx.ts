import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  grammarAccepts,
  longestGrammarSpan,
  type Node,
  parseJsgfRules,
} from '../../../models/factory/voice/ngram.ts';
import { BatchProcess, persistentDecodingAvailable } from './batch-process.ts';
import type { Recognition, SpeechRecognizer } from './recognizer.ts';
import { encodeWav } from './wav.ts';

/**
 * CMU PocketSphinx (Debian's `pocketsphinx` + `pocketsphinx-en-us`) as a child process per utterance:
 * `pocketsphinx_batch` starts and decodes a grammar-constrained utterance in ~30 ms, so a long-running
 * process buys little and would need a FIFO (it cannot read Node's stdin socket).
 *
 * Out-of-grammar rejection: the same audio is decoded twice, once constrained by the command grammar and
 * once by an unconstrained phone loop. Speech the grammar explains well scores close to the phone loop;
 * speech it does not (a joke request forced into "stop") scores far below it. The per-frame acoustic score
 * difference is mapped to a 0..1 confidence. A grammar decode that reaches no final state is refused outright.
 */
export const DEFAULT_HMM = '/usr/share/pocketsphinx/model/en-us/en-us';

export interface PocketSphinxOptions {
  /** Language model (ARPA, `.lm`) or JSGF grammar (`.jsgf`) built from the intent spec, and its dictionary. */
  grammar: string;
  dictionary: string;
  /** Phone-loop grammar + dictionary for the rejection score (written by the grammar builder). */
  loopGrammar: string;
  loopDictionary: string;
  hmm?: string;
  minConfidence: number;
  calibration?: Partial<Calibration>;
  /** Extra pocketsphinx options for the command decoder (e.g. `-lw 10`), from the grammar's voice.json. */
  decoderArgs?: string[];
  /** JSGF whose sentences a trigram decoder's hypothesis must be one of; unset = accept any word string. */
  sentenceGrammar?: string;
  timeoutMs?: number;
}

export interface HypSeg {
  utterance: string;
  total: number;
  acoustic: number;
  language: number;
  frames: number;
  words: string[];
  /** Start frame of each word; a word ends where the next starts (the last at `frames`). */
  starts: number[];
}

/** Parses one `-hypseg` line: `uttid S scale T total A ascr L lscr {sf wascr wlscr word}* ef`. */
export function parseHypSeg(line: string): HypSeg | undefined {
  const f = line.trim().split(/\s+/);
  if (f.length < 9 || f[1] !== 'S' || f[3] !== 'T' || f[5] !== 'A' || f[7] !== 'L') return undefined;
  const words: string[] = [];
  const starts: number[] = [];
  for (let i = 9; i + 3 < f.length; i += 4) {
    starts.push(Number(f[i]));
    words.push(f[i + 3]!);
  }
  return {
    utterance: f[0]!,
    total: Number(f[4]),
    acoustic: Number(f[6]),
    language: Number(f[8]),
    frames: Number(f[f.length - 1]),
    words,
    starts,
  };
}

const FILLER = /^(<s>|<\/s>|<sil>|\(NULL\)|\[.*\]|\+\+.*\+\+)$/i;

/** Words of a hypothesis without silence/filler tokens and pronunciation variant suffixes ("the(2)"). */
export function hypothesisWords(words: string[]): string[] {
  return words.filter((w) => !FILLER.test(w) && !w.startsWith('ph_')).map((w) => w.replace(/\(\d+\)$/, ''));
}

/** Frames covered by real words (not silence, fillers or null transitions). */
export function wordFrames(seg: HypSeg): number {
  let total = 0;
  seg.words.forEach((w, i) => {
    if (FILLER.test(w)) return;
    total += (seg.starts[i + 1] ?? seg.frames) - seg.starts[i]!;
  });
  return total;
}

export interface Calibration {
  /** Per-frame acoustic score difference (grammar − phone loop) at confidence 0.5, and its spread. */
  scoreCenter: number;
  scoreScale: number;
  /** Share of the phone loop's speech frames the grammar explains with words, at 0.5, and its spread. */
  coverageCenter: number;
  coverageScale: number;
}

/**
 * Measured on espeak-ng speech, 3 voices, clean and 10 dB: commands score above −10 per frame and their
 * words cover most of the speech (a lone "stop" about 0.6); out-of-grammar sentences forced into a command
 * either score far lower or leave most of the speech to silence ("can you tell me a joke" → "stop").
 */
export const defaultCalibration: Calibration = {
  scoreCenter: -10,
  scoreScale: 1.5,
  coverageCenter: 0.5,
  coverageScale: 0.05,
};

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Confidence = the weaker of the two opinions, each mapped to 0..1. */
export function confidenceFromScores(
  grammar: HypSeg,
  loop: HypSeg | undefined,
  c: Calibration = defaultCalibration,
): { confidence: number; perFrame: number; coverage: number } {
  if (!loop || grammar.frames <= 0) return { confidence: 0, perFrame: Number.NaN, coverage: Number.NaN };
  const perFrame = (grammar.acoustic - loop.acoustic) / grammar.frames;
  const coverage = wordFrames(grammar) / Math.max(1, wordFrames(loop));
  const confidence = Math.min(
    sigmoid((perFrame - c.scoreCenter) / c.scoreScale),
    sigmoid((coverage - c.coverageCenter) / c.coverageScale),
  );
  return { confidence, perFrame, coverage };
}

/**
 * The decoder's cepstral mean normalisation and silence model need silence around the words: an utterance
 * cut tight by the VAD (espeak-ng starts speaking at sample 0) otherwise often reaches no final state.
 */
const PAD = 4000;
function padded(samples: Float32Array): Float32Array {
  const out = new Float32Array(samples.length + 2 * PAD);
  out.set(samples, PAD);
  return out;
}

/** Trimming a trigram hypothesis to a grammar sentence: at most this many words, keeping this share. */
const MAX_TRIMMED = 1;
const MIN_KEPT_SHARE = 0.75;

export class PocketSphinxRecognizer implements SpeechRecognizer {
  readonly name = 'pocketsphinx';
  private readonly dir = mkdtempSync(join(tmpdir(), 'sling-asr-'));
  private counter = 0;
  /** Long-running decoders (grammar, phone loop) when `script` is there to give them a terminal. */
  private readonly persistent = persistentDecodingAvailable();
  private readonly processes = new Map<string, BatchProcess>();

  /** With a trigram decoder: the grammar its sentences must belong to (the n-gram model over-generates). */
  private readonly sentences?: { rules: Map<string, Node>; root: string };

  constructor(private readonly options: PocketSphinxOptions) {
    if (options.sentenceGrammar)
      this.sentences = parseJsgfRules(readFileSync(options.sentenceGrammar, 'utf8'));
  }

  async recognize(samples: Float32Array): Promise<Recognition> {
    const started = performance.now();
    const id = `u${++this.counter}`;
    const wav = join(this.dir, `${id}.wav`);
    const ctl = join(this.dir, `${id}.ctl`);
    const o = this.options;
    try {
      writeFileSync(wav, encodeWav(padded(samples), 16000));
      const [decoded, loop] = await Promise.all([
        this.decode(id, 'g', o.grammar, o.dictionary),
        this.decode(id, 'l', o.loopGrammar, o.loopDictionary),
      ]);
      let words = decoded ? hypothesisWords(decoded.words) : [];
      if (!decoded || words.length === 0) {
        return {
          text: '',
          confidence: 0,
          accepted: false,
          reason: 'no sentence of the grammar matches',
          timing: { decodeMs: performance.now() - started },
        };
      }
      if (this.sentences && !grammarAccepts(this.sentences.rules, this.sentences.root, words)) {
        // A stray word or two at either end (breath, noise) is dropped when the rest is a grammar sentence
        // and most of what was heard; otherwise the utterance is not a command.
        const span = longestGrammarSpan(this.sentences.rules, this.sentences.root, words);
        const kept = span ? span.end - span.start : 0;
        if (!span || kept < words.length - MAX_TRIMMED || kept / words.length < MIN_KEPT_SHARE) {
          return {
            text: words.join(' '),
            confidence: 0,
            accepted: false,
            reason: 'not a sentence of the grammar',
            timing: { decodeMs: performance.now() - started },
          };
        }
        words = words.slice(span.start, span.end);
      }
      // The n-gram search's acoustic scores include its language-model path and are not comparable with the
      // phone loop's (measured: correct commands scored below garbage), so with it only coverage counts.
      const lm = !o.grammar.endsWith('.jsgf');
      const grammar = decoded;
      const decodeMs = performance.now() - started;
      const { confidence, perFrame, coverage } = confidenceFromScores(grammar, loop, {
        ...defaultCalibration,
        ...o.calibration,
        ...(lm ? { scoreCenter: Number.NEGATIVE_INFINITY } : {}),
      });
      const accepted = confidence >= o.minConfidence;
      return {
        text: words.join(' '),
        confidence,
        accepted,
        ...(accepted ? {} : { reason: `low confidence ${confidence.toFixed(2)} < ${o.minConfidence}` }),
        detail: {
          perFrame,
          coverage,
          grammarAcoustic: grammar.acoustic,
          loopAcoustic: loop?.acoustic ?? Number.NaN,
          frames: grammar.frames,
        },
        timing: { decodeMs },
      };
    } catch (error) {
      return {
        text: '',
        confidence: 0,
        accepted: false,
        reason: `recogniser failed: ${(error as Error).message}`,
        timing: { decodeMs: performance.now() - started },
      };
    } finally {
      for (const f of [wav, ctl, ...['g', 'l'].map((t) => join(this.dir, `${id}.${t}`))])
        rmSync(f, { force: true });
    }
  }

  private decoderArgs(grammar: string, dictionary: string): string[] {
    return [
      ...['-hmm', this.options.hmm ?? DEFAULT_HMM, grammar.endsWith('.jsgf') ? '-jsgf' : '-lm', grammar],
      ...['-dict', dictionary, '-adcin', 'yes', '-cepdir', this.dir, '-cepext', '.wav'],
      // Dither (seeded, so results repeat) keeps the zero padding from breaking the energy features.
      ...['-dither', 'yes', '-seed', '1', '-logfn', '/dev/null'],
      ...(grammar === this.options.grammar ? (this.options.decoderArgs ?? []) : []),
    ];
  }

  private async decode(
    id: string,
    tag: string,
    grammar: string,
    dictionary: string,
  ): Promise<HypSeg | undefined> {
    const timeoutMs = this.options.timeoutMs ?? 20000;
    if (this.persistent) {
      let process = this.processes.get(tag);
      if (!process) {
        process = new BatchProcess(this.dir, tag, this.decoderArgs(grammar, dictionary));
        this.processes.set(tag, process);
      }
      return parseHypSeg(await process.decode(id, timeoutMs));
    }
    const ctl = join(this.dir, `${id}.ctl`);
    const out = join(this.dir, `${id}.${tag}`);
    writeFileSync(ctl, `${id}\n`);
    const args = [...this.decoderArgs(grammar, dictionary), '-ctl', ctl, '-hypseg', out];
    return new Promise((resolve, reject) => {
      execFile('pocketsphinx_batch', args, { timeout: timeoutMs }, (error, _stdout, stderr) => {
        if (error) {
          const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
          reject(new Error(missing ? 'pocketsphinx_batch is not installed' : stderr || error.message));
          return;
        }
        resolve(parseHypSeg(readFileSync(out, 'utf8').split('\n')[0] ?? ''));
      });
    });
  }

  async close(): Promise<void> {
    for (const p of this.processes.values()) p.close();
    this.processes.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
