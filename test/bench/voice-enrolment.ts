/**
 * The spoken benchmarks' enrolled condition: a speaker enrollment (`sling voice enrol`'s `enrol`) made from
 * prompts the product would give (`enrolmentPrompts` over the grammar), never from a benchmark's test or
 * held-out sentences, rendered like the test speech (espeak-ng, 150/190 wpm, pink noise at 20 dB from a
 * stretch of the repeatable noise the test speech never uses).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../agent/config/load.ts';
import { enrol } from '../../agent/ingress/voice/enrol/adapt.ts';
import type { Recording } from '../../agent/ingress/voice/enrol/corpus.ts';
import { enrolmentPrompts } from '../../agent/ingress/voice/enrol/prompts.ts';
import { encodeWav } from '../../agent/ingress/voice/wav.ts';
import { NoisySpeech, RATE } from './noisy-speech.ts';
import { fixtureLines, spokenText } from './voice-fixtures.ts';

export interface BenchEnrolment {
  dir: string;
  voices: string[];
  prompts: string[];
  recordings: number;
  aligned: number;
  seconds: number;
  adaptMs: number;
  /** Removes the recordings and the model. */
  close(): void;
}

/**
 * Enrolls `voices` (VOICE_BENCH_ENROL_VOICES, default: the test voices) with `perVoice` prompts each
 * (VOICE_BENCH_ENROL_PROMPTS, 100: what `sling voice prompts` gives). Excluded: every sentence of
 * commands.txt and out-of-scope.txt, and `exclude`.
 */
export async function benchEnrolment(
  grammarDir: string,
  testVoices: string[],
  exclude: Iterable<string> = [],
): Promise<BenchEnrolment> {
  const voices = process.env.VOICE_BENCH_ENROL_VOICES?.split(',') ?? testVoices;
  const perVoice = Number(process.env.VOICE_BENCH_ENROL_PROMPTS ?? 100);
  const banned = new Set(
    [
      ...fixtureLines('commands.txt').map((l) => l.split('|')[0]!.trim()),
      ...fixtureLines('out-of-scope.txt'),
      ...exclude,
    ].map(spokenText),
  );
  const candidates = enrolmentPrompts(readFileSync(join(grammarDir, 'grammar.jsgf'), 'utf8'), {
    count: perVoice * voices.length * 2,
    seed: 2026,
  }).filter((p) => !banned.has(spokenText(p)));
  const prompts = candidates.slice(0, perVoice * voices.length);
  const dir = mkdtempSync(join(tmpdir(), 'sling-bench-enrol-'));
  // The test speech uses the first 120 s of the repeatable noise; enrollment the 120 s after.
  const noisy = new NoisySpeech(120, true, 120);
  const recordings: Recording[] = [];
  for (const [i, text] of prompts.entries()) {
    const voice = voices[Math.floor(i / perVoice)]!;
    const { samples } = await noisy.render(text, voice, i % 2 ? 190 : 150, 20);
    const wav = join(dir, `${String(i).padStart(3, '0')}.wav`);
    writeFileSync(wav, encodeWav(samples, RATE));
    recordings.push({ wav, words: text.split(' '), source: `${voice}: ${text}` });
  }
  noisy.close();
  const started = performance.now();
  // As `sling voice enrol` does: the recordings pass the configured noise suppression.
  const result = await enrol({
    recordings,
    out: join(dir, 'acoustic'),
    denoise: loadConfig().config.voice.denoise,
  });
  return {
    dir: result.dir,
    voices,
    prompts,
    recordings: result.recordings,
    aligned: result.aligned,
    seconds: result.seconds,
    adaptMs: Math.round(performance.now() - started),
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}
