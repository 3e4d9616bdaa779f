import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDictionary } from '../../../models/factory/voice/dictionary.ts';
import { DEFAULT_HMM } from './pocketsphinx.ts';
import { parseKeyphraseOutput, type WakeConfig, type WakeDetection } from './wake.ts';
import { encodeWav } from './wav.ts';

/** Silence around the utterance: the decoder's feature normalisation needs some (dither keeps it non-zero). */
const PAD = 4000;

/**
 * Wake phrase spotting with PocketSphinx keyphrase search (`pocketsphinx_continuous -keyphrase`), run on each
 * VAD utterance while asleep. Measured on Debian's 5prealpha build: `pocketsphinx_batch` never reports
 * keyphrase hits, so this is one short `pocketsphinx_continuous` per utterance (~0.2 s with a two-word
 * dictionary); only speech the VAD let through is decoded, silence costs nothing.
 */
export class KeyphraseSpotter {
  private counter = 0;

  private constructor(
    private readonly config: WakeConfig,
    private readonly dir: string,
    private readonly dictionary: string,
  ) {}

  static async open(config: WakeConfig): Promise<KeyphraseSpotter> {
    const words = [...new Set(config.phrase.toLowerCase().trim().split(/\s+/))];
    const dir = mkdtempSync(join(tmpdir(), 'sling-wake-'));
    const dictionary = join(dir, 'wake.dict');
    try {
      writeFileSync(dictionary, (await buildDictionary(words)).text);
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`wake phrase "${config.phrase}": no pronunciation (${(error as Error).message})`);
    }
    return new KeyphraseSpotter(config, dir, dictionary);
  }

  /** The first wake phrase in `samples` (16 kHz mono), if any. Rejects when the decoder cannot run. */
  async spot(samples: Float32Array): Promise<WakeDetection | undefined> {
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
      const first = parseKeyphraseOutput(output, c.phrase)[0];
      if (!first) return undefined;
      const clamp = (at: number) => Math.max(0, Math.min(samples.length, at - PAD));
      return { ...first, start: clamp(first.start), end: clamp(first.end) };
    } finally {
      rmSync(wav, { force: true });
    }
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
