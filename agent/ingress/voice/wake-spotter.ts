import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDictionary } from '../../../models/factory/voice/dictionary.ts';
import { DEFAULT_HMM, PocketSphinxRecognizer } from './pocketsphinx.ts';
import { opensUtterance, parseKeyphraseOutput, type WakeConfig, type WakeDetection } from './wake.ts';
import { encodeWav } from './wav.ts';

/** Silence around the utterance: the decoder's feature normalisation needs some (dither keeps it non-zero). */
const PAD = 4000;

/** Audio kept around a keyphrase hit for the second opinion: 0.1 s before, 0.15 s after. */
const VERIFY_BEFORE = 1600;
const VERIFY_AFTER = 2400;

/**
 * Wake phrase spotting with PocketSphinx keyphrase search (`pocketsphinx_continuous -keyphrase`), run on each
 * VAD utterance while asleep. Measured on Debian's 5prealpha build: `pocketsphinx_batch` never reports
 * keyphrase hits, so this is one short `pocketsphinx_continuous` per utterance (~0.2 s with a two-word
 * dictionary); only speech the VAD let through is decoded, silence costs nothing.
 * A threshold loose enough to hear the phrase in every voice and noise also fires inside other speech, so a
 * hit counts only when it opens the utterance and lasts long enough (`opensUtterance`), and then gets a second
 * opinion: the span decoded with a grammar of just the phrase must score close to the phone loop (the command
 * recogniser's rejection, with its own calibration).
 */
export class KeyphraseSpotter {
  private counter = 0;

  private constructor(
    private readonly config: WakeConfig,
    private readonly dir: string,
    private readonly dictionary: string,
    private readonly verifier: PocketSphinxRecognizer,
  ) {}

  /** `grammarDir`: a voice model directory, for its phone loop (loop.jsgf, loop.dict). */
  static async open(config: WakeConfig, grammarDir: string): Promise<KeyphraseSpotter> {
    const phrase = config.phrase.toLowerCase().trim().split(/\s+/);
    const dir = mkdtempSync(join(tmpdir(), 'sling-wake-'));
    const dictionary = join(dir, 'wake.dict');
    const grammar = join(dir, 'wake.jsgf');
    try {
      writeFileSync(dictionary, (await buildDictionary([...new Set(phrase)])).text);
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`wake phrase "${config.phrase}": no pronunciation (${(error as Error).message})`);
    }
    writeFileSync(grammar, `#JSGF V1.0;\ngrammar wake;\npublic <wake> = ${phrase.join(' ')};\n`);
    const verifier = new PocketSphinxRecognizer({
      grammar,
      dictionary,
      loopGrammar: join(grammarDir, 'loop.jsgf'),
      loopDictionary: join(grammarDir, 'loop.dict'),
      minConfidence: config.verifyConfidence,
      // Measured (test/bench/wake.ts): true phrases scored 2.6–18 per frame above the phone loop, false hits
      // that opened an utterance −5–2.1; coverage as for commands.
      calibration: { scoreCenter: 2.3, scoreScale: 1 },
    });
    return new KeyphraseSpotter(config, dir, dictionary, verifier);
  }

  /**
   * The wake phrase opening `samples` (16 kHz mono), if any. `speechStart`: where speech begins in them
   * (after the VAD's pre-roll).
   */
  async spot(samples: Float32Array, speechStart: number): Promise<WakeDetection | undefined> {
    for (const hit of await this.hits(samples)) {
      if (!opensUtterance(hit, speechStart)) continue;
      const span = samples.subarray(Math.max(0, hit.start - VERIFY_BEFORE), hit.end + VERIFY_AFTER);
      const verified = await this.verifier.recognize(span);
      if (verified.accepted) return { ...hit, confidence: verified.confidence };
    }
    return undefined;
  }

  /** Keyphrase search hits, earliest first, before the second opinion. Rejects when the decoder cannot run. */
  async hits(samples: Float32Array): Promise<WakeDetection[]> {
    const wav = join(this.dir, `u${++this.counter}.wav`);
    const padded = new Float32Array(samples.length + 2 * PAD);
    padded.set(samples, PAD);
    writeFileSync(wav, encodeWav(padded, 16000));
    const c = this.config;
    const args = [
      ...['-hmm', DEFAULT_HMM, '-dict', this.dictionary, '-keyphrase', c.phrase.toLowerCase().trim()],
      ...['-kws_threshold', String(c.threshold), '-kws_plp', String(c.phoneLoopProbability)],
      ...['-dither', 'yes', '-seed', '1', '-time', 'yes', '-logfn', '/dev/null', '-infile', wav],
    ];
    try {
      const output = await new Promise<string>((resolve, reject) => {
        execFile('pocketsphinx_continuous', args, { timeout: 20000 }, (error, stdout, stderr) => {
          if (!error) return resolve(stdout);
          const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
          reject(new Error(missing ? 'pocketsphinx_continuous is not installed' : stderr || error.message));
        });
      });
      const clamp = (at: number) => Math.max(0, Math.min(samples.length, at - PAD));
      return parseKeyphraseOutput(output, c.phrase).map((d) => ({
        ...d,
        start: clamp(d.start),
        end: clamp(d.end),
      }));
    } finally {
      rmSync(wav, { force: true });
    }
  }

  async close(): Promise<void> {
    await this.verifier.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
