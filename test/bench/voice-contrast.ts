/**
 * Calibrates the contrast check (pocketsphinx.ts) on speech generated from the grammar, never on bench:voice's
 * test commands: grammar sentences with a contrasting word ("on"/"off", "forward"/"back", a room for
 * another) whose swapped sentence is also a command, sampled with a fixed seed, rendered as bench:voice
 * renders (espeak-ng en-us, en-gb, en-us+f3 at 150/190 wpm, pink noise at 20 and 10 dB), recognised with the
 * contrast check measuring but refusing nothing. For every recognition that reached the check: its margin
 * (acoustic score of the heard sentence minus the best swapped one), the frames of the words they differ
 * in, and whether the heard contrasting word is the spoken one. Reports how many flips and right
 * recognitions the old rule (margin ≥ 500) and the shipped one (a least margin per heard word,
 * `defaultCalibration.contrastMarginByWord`) let through, and per heard word its checks, flips and worst
 * flip margin (what the per-word table is chosen from). Env: VOICE_CONTRAST_SENTENCES (160),
 * VOICE_CONTRAST_SEED (7: the seed the shipped table was chosen on; validate with another), VOICE_BENCH_ENROL=1
 * (an enrolled acoustic model, as bench:voice) or VOICE_BENCH_HMM=<dir>.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../agent/config/load.ts';
import { pocketSphinxFromDir, VoiceEngine } from '../../agent/ingress/voice/engine.ts';
import { readEnrolment } from '../../agent/ingress/voice/enrol/model-dir.ts';
import { defaultCalibration, requiredContrastMargin } from '../../agent/ingress/voice/pocketsphinx.ts';
import { encodeWav } from '../../agent/ingress/voice/wav.ts';
import { projectRoot } from '../../agent/paths.ts';
import { grammarAccepts, parseJsgfRules, sampleSentence } from '../../models/factory/voice/ngram.ts';
import { type Row, writeResult } from './harness.ts';
import { NoisySpeech, RATE } from './noisy-speech.ts';
import { benchEnrolment, benchSelfAdaptation } from './voice-enrolment.ts';

const VOICES = ['en-us', 'en-gb', 'en-us+f3'];
const SPEEDS = [150, 190];
const grammarDir = resolve(projectRoot, 'models/default/voice');
const nSentences = Number(process.env.VOICE_CONTRAST_SENTENCES ?? 160);
let seed = Number(process.env.VOICE_CONTRAST_SEED ?? 7);
const rng = () => {
  seed = (seed * 16807) % 2147483647;
  return seed / 2147483647;
};

const { rules, root } = parseJsgfRules(readFileSync(join(grammarDir, 'grammar.jsgf'), 'utf8'));
const contrasts: Record<string, string[]> = JSON.parse(
  readFileSync(join(grammarDir, 'voice.json'), 'utf8'),
).contrasts;
/** Sentences of single commands with a word whose swap is another command of the grammar. */
const sentences: string[][] = [];
const seen = new Set<string>();
for (let tries = 0; sentences.length < nSentences && tries < 100_000; tries++) {
  const s = sampleSentence(rules, 'one', rng);
  const key = s.join(' ');
  if (seen.has(key) || s.length < 2) continue;
  seen.add(key);
  const swappable = s.some((w, i) =>
    (contrasts[w] ?? []).some((o) =>
      grammarAccepts(
        rules,
        root,
        s.map((x, k) => (k === i ? o : x)),
      ),
    ),
  );
  if (swappable) sentences.push(s);
}

/**
 * VOICE_BENCH_ENROL=1: enrolled first (voice-enrolment.ts; never on these sentences); =heard: self-adapted
 * first, as bench:voice; VOICE_BENCH_HMM=<dir>.
 */
const adaptFirst = process.env.VOICE_BENCH_ENROL === 'heard' ? benchSelfAdaptation : benchEnrolment;
const enrolment = process.env.VOICE_BENCH_ENROL
  ? await adaptFirst(
      grammarDir,
      VOICES,
      sentences.map((s) => s.join(' ')),
    )
  : undefined;
const acousticModel =
  enrolment?.dir ?? (process.env.VOICE_BENCH_HMM ? resolve(process.env.VOICE_BENCH_HMM) : undefined);
/** The wider margin an enrolled model asks for (enrol/model-dir.ts), scored as a third rule. */
const enrolledMargin = acousticModel ? readEnrolment(acousticModel)?.contrastMargin : undefined;
const config = loadConfig().config;
const recognizer = pocketSphinxFromDir(grammarDir, 0.5, {
  decoder: config.voice.decoder,
  calibration: { contrastMargin: Number.NEGATIVE_INFINITY, contrastMarginByWord: {} },
  ...(acousticModel ? { acousticModel } : {}),
});
const engine = await VoiceEngine.open({
  grammarDir,
  minConfidence: 0.5,
  segmenter: config.voice.vad,
  denoise: config.voice.denoise,
  recognizer,
});
const noisy = new NoisySpeech(120, true);
interface Point {
  margin: number;
  frames: number;
  flip: boolean;
  text: string;
  heard: string[];
  rival: string[];
}
const points: Point[] = [];
let clips = 0;
for (const snr of [20, 10]) {
  for (const [i, words] of sentences.entries()) {
    for (const k of [0, 1]) {
      const combo = (i * 2 + k) % (VOICES.length * SPEEDS.length);
      const { samples } = await noisy.render(
        words.join(' '),
        VOICES[combo % VOICES.length]!,
        SPEEDS[Math.floor(combo / VOICES.length)]!,
        snr,
      );
      clips++;
      for (const h of await engine.listenFile(encodeWav(samples, RATE))) {
        const d = h.recognition.detail;
        if (typeof d?.contrastMargin !== 'number' || !Number.isFinite(d.contrastMargin)) continue;
        const hyp = h.recognition.text.split(' ');
        // A flip: a contrasting word heard where the sentence said another that contrasts with it.
        const flip = words.some(
          (w, p) => hyp.length === words.length && hyp[p] !== w && (contrasts[w] ?? []).includes(hyp[p]!),
        );
        points.push({
          margin: d.contrastMargin,
          frames: Number(d.contrastFrames ?? 0),
          flip,
          heard: hyp,
          rival: String(d.contrastRival).split(' '),
          text: `${snr} dB "${words.join(' ')}" → "${h.recognition.text}" / "${d.contrastRival}"`,
        });
      }
    }
  }
}
await engine.close();

const perFrame = (p: Point) => p.margin / Math.max(10, p.frames);
const rows: Row[] = [];
const right = points.filter((p) => !p.flip);
const flips = points.filter((p) => p.flip);
for (const [name, passes] of [
  ['margin ≥ 500 (before)', (p: Point) => p.margin >= 500],
  [
    'shipped: per heard word (defaultCalibration)',
    (p: Point) => p.margin >= requiredContrastMargin(p.heard, p.rival, defaultCalibration),
  ],
  ...(enrolledMargin
    ? ([
        [
          `enrolled: per heard word, others ≥ ${enrolledMargin} (the model's enrolment.json)`,
          (p: Point) =>
            p.margin >=
            requiredContrastMargin(p.heard, p.rival, {
              ...defaultCalibration,
              contrastMargin: enrolledMargin,
            }),
        ],
      ] as const)
    : []),
] as const) {
  rows.push({
    rule: name,
    checked: points.length,
    'flips let through': `${flips.filter(passes).length} of ${flips.length}`,
    'right kept': `${right.filter(passes).length} of ${right.length}`,
  });
}
/** Per heard word (where the heard sentence and its rival first differ): checks, flips, the worst flip. */
const byWord = new Map<string, { checks: number; flips: number; worstFlip: number; leastRight: number }>();
for (const p of points) {
  const at = p.heard.findIndex((w, i) => w !== p.rival[i]);
  const word = p.heard[at] ?? '?';
  const e = byWord.get(word) ?? {
    checks: 0,
    flips: 0,
    worstFlip: Number.NEGATIVE_INFINITY,
    leastRight: Number.POSITIVE_INFINITY,
  };
  e.checks++;
  if (p.flip) {
    e.flips++;
    e.worstFlip = Math.max(e.worstFlip, p.margin);
  } else e.leastRight = Math.min(e.leastRight, p.margin);
  byWord.set(word, e);
}
const modelSuffix = enrolment?.kind === 'heard' ? '-self-adapted' : acousticModel ? '-enrolled' : '';
writeResult(`voice-contrast${modelSuffix}`, rows, {
  grammar: grammarDir,
  acousticModel: acousticModel ?? 'Debian pocketsphinx-en-us',
  ...(enrolment
    ? {
        enrolment: {
          kind: enrolment.kind,
          voices: enrolment.voices,
          recordings: enrolment.recordings,
          aligned: enrolment.aligned,
          ...(enrolment.heard ? { heard: enrolment.heard } : {}),
        },
      }
    : {}),
  sentences: sentences.map((s) => s.join(' ')),
  clips,
  byHeardWord: Object.fromEntries(
    [...byWord]
      .sort((a, b) => b[1].checks - a[1].checks)
      .map(([w, e]) => [
        w,
        `${e.checks} checks, ${e.flips} flips${e.flips ? ` (worst margin ${Math.round(e.worstFlip)})` : ''}, least right margin ${Math.round(e.leastRight)}`,
      ]),
  ),
  points: points
    .sort((a, b) => perFrame(a) - perFrame(b))
    .map(
      (p) =>
        `${perFrame(p).toFixed(1)}/frame ${Math.round(p.margin)} ${p.frames}f ${p.flip ? 'FLIP' : 'right'}: ${p.text}`,
    ),
  loadAverage: loadavg().map((l) => l.toFixed(2)),
});
enrolment?.close();
