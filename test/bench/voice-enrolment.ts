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
import { VoiceEngine, voiceEngineOptions } from '../../agent/ingress/voice/engine.ts';
import { enrol } from '../../agent/ingress/voice/enrol/adapt.ts';
import type { Recording } from '../../agent/ingress/voice/enrol/corpus.ts';
import { enrolmentPrompts } from '../../agent/ingress/voice/enrol/prompts.ts';
import { SelfAdaptation } from '../../agent/ingress/voice/enrol/self-adapt.ts';
import { encodeWav } from '../../agent/ingress/voice/wav.ts';
import { snipsDir } from './harness.ts';
import { NoisySpeech, RATE } from './noisy-speech.ts';
import { fixtureLines, spokenText } from './voice-fixtures.ts';

export interface BenchEnrolment {
  /** `prompts`: the user read them (enrollment); `heard`: the agent adapted to what it heard (self-adaptation). */
  kind: 'prompts' | 'heard';
  /** Self-adaptation: commands kept, of them heard word for word, and adapted models made. */
  heard?: { kept: number; keptRight: number; models: number; chatter: number; keptChatter: number };
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

/** Grammar sentences to speak, disjoint from every benchmark's test and held-out sentences. */
function benchPrompts(grammarDir: string, testVoices: string[], exclude: Iterable<string>) {
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
  return { voices, perVoice, prompts: candidates.slice(0, perVoice * voices.length) };
}

/**
 * VOICE_BENCH_ADAPT_CHATTER=<share>: other speech the agent overhears between the commands (a radio, people
 * talking): that share of SNIPS training sentences (../shared/data, music, weather, restaurants: none a command
 * of the default world), one after a command at even spacing.
 */
function chatterSentences(commands: number): (string | undefined)[] {
  const share = Number(process.env.VOICE_BENCH_ADAPT_CHATTER ?? 0);
  if (!(share > 0)) return [];
  const texts = readFileSync(join(snipsDir(), 'train.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { text: string }).text);
  const step = Math.max(1, Math.round(1 / share));
  return Array.from({ length: commands }, (_, i) =>
    i % step === step - 1 ? texts[(i * 37) % texts.length] : undefined,
  );
}

/**
 * Self-adaptation as the agent does it (`SelfAdaptation`, voice.adaptation's settings): the prompts stand for
 * commands people said to it over some days, in the test voices, at 20 and 10 dB by turns; each is heard by
 * the recogniser (the adapted model once there is one), and what it accepted is offered with the words it
 * heard, never the prompt. Wrong hearings go in as the agent would keep them; a "yes" to a question is not
 * simulated (the agent also keeps confirmed commands, so this is the lesser case).
 */
export async function benchSelfAdaptation(
  grammarDir: string,
  testVoices: string[],
  exclude: Iterable<string> = [],
  /** An enrolled model to start from (enrollment, then use), as the agent does with `voice.acousticModel`. */
  baseModel?: string,
): Promise<BenchEnrolment> {
  const { voices, prompts } = benchPrompts(grammarDir, testVoices, exclude);
  const dir = mkdtempSync(join(tmpdir(), 'sling-bench-heard-'));
  const config = loadConfig().config;
  const engine = await VoiceEngine.open(
    voiceEngineOptions(config.voice, {
      grammarDir,
      minConfidence: 0.5,
      ...(baseModel ? { acousticModel: baseModel } : {}),
    }),
  );
  let models = 0;
  let adaptMs = 0;
  let aligned = 0;
  const adaptation = SelfAdaptation.open({
    ...config.voice.adaptation,
    dir,
    denoise: config.voice.denoise,
    ...(baseModel ? { baseModel } : {}),
    onAdapted: async (model, summary) => {
      models++;
      adaptMs += summary.ms;
      aligned = summary.aligned;
      await engine.useAcousticModel(model);
    },
    onError: (error) => {
      throw error;
    },
  });
  if (typeof adaptation === 'string') throw new Error(adaptation);
  const noisy = new NoisySpeech(120, true, 120);
  let kept = 0;
  let keptRight = 0;
  let keptChatter = 0;
  let seconds = 0;
  const chatter = chatterSentences(prompts.length);
  const said = prompts.flatMap((text, i) => [
    { text, chatter: false },
    ...(chatter[i] ? [{ text: chatter[i], chatter: true }] : []),
  ]);
  for (const [i, { text, chatter: isChatter }] of said.entries()) {
    // People take turns: each model is adapted to every voice, as an agent in use hears them.
    const voice = voices[i % voices.length]!;
    const { samples } = await noisy.render(text, voice, i % 2 ? 190 : 150, i % 4 >= 2 ? 10 : 20);
    for (const h of await engine.listenFile(encodeWav(samples, RATE))) {
      const audio = engine.rawAudio(h.utterance);
      const before = adaptation.kept;
      if (audio) adaptation.offer(h.recognition, audio);
      if (adaptation.kept === before) continue;
      kept++;
      if (isChatter) keptChatter++;
      seconds += h.utterance.samples.length / RATE;
      if (spokenText(h.recognition.text) === spokenText(text)) keptRight++;
      // Live, the agent adapts in the background while it goes on listening; here it waits, so runs compare.
      await adaptation.idle();
    }
  }
  noisy.close();
  await engine.close();
  const model = adaptation.modelDir;
  if (!model) throw new Error(`self-adaptation made no model from ${kept} commands kept`);
  return {
    kind: 'heard',
    dir: model,
    voices,
    prompts,
    recordings: kept,
    aligned,
    seconds: Math.round(seconds),
    adaptMs,
    heard: { kept, keptRight, models, chatter: chatter.filter(Boolean).length, keptChatter },
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
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
  const { voices, perVoice, prompts } = benchPrompts(grammarDir, testVoices, exclude);
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
    kind: 'prompts',
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
