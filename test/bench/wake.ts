import { resolve } from 'node:path';
import { projectRoot } from '../../agent/paths.ts';
import { spokenWords } from '../../models/factory/voice/jsgf.ts';
import { percentile, type Row, writeResult } from './harness.ts';
import { benchNoise, NoisySpeech, RATE } from './noisy-speech.ts';
import { fixtureLines, plannedCommands, spread } from './voice-fixtures.ts';
import { WakePath } from './wake-path.ts';

const VOICES = ['en-us', 'en-gb', 'en-us+f3'];
const SPEEDS = [150, 190];
const CONDITIONS: (number | null)[] = [null, 20, 10];
const nNegatives = Number(process.env.WAKE_BENCH_NEGATIVES ?? 20);
const grammarDir = resolve(projectRoot, process.env.WAKE_BENCH_GRAMMAR ?? 'models/default/voice');

const commands = spread(plannedCommands(), nNegatives);
const outOfScope = spread(fixtureLines('out-of-scope.txt'), nNegatives);
const combos = VOICES.flatMap((voice) => SPEEDS.map((wpm) => ({ voice, wpm })));
const normalize = (text: string) => spokenWords(text).join(' ').replace(/metre/g, 'meter');

// The configured voice settings (config/sling.yaml, SLING_VOICE_* overrides), with the wake word on.
const path = await WakePath.open(grammarDir);
const { config, dialogue, engine } = path;
// Repeatable noise (sox -R), so runs compare.
const speech = new NoisySpeech(120, true);
/** Streams one rendition through VAD → dialogue on a fresh (asleep) site; what the dialogue made of it. */
const hear = (wav: Float32Array) => path.hear(wav);

const rows: Row[] = [];
const latencies: number[] = [];
const spotMs: number[] = [];
const misses: string[] = [];

for (const snr of CONDITIONS) {
  const label = snr === null ? 'clean' : `${snr} dB`;
  let alone = 0;
  let inBreath = 0;
  let commandExact = 0;
  for (const [i, { voice, wpm }] of combos.entries()) {
    const phrase = await speech.render('hey sling', voice, wpm, snr);
    const heard = await hear(phrase.samples);
    const woke = heard.find((h) => h.route.kind !== 'ignore');
    if (woke) {
      alone++;
      latencies.push(((woke.utterance.closedAt - phrase.speechEnd) / RATE) * 1000 + woke.ms);
    } else misses.push(`${label} ${voice} ${wpm}: "hey sling" not detected`);

    const command = commands[(i * 7) % commands.length]!;
    const both = await speech.render(`hey sling ${command}`, voice, wpm, snr);
    const routes = await hear(both.samples);
    const first = routes.find((h) => h.route.kind !== 'ignore');
    if (first) inBreath++;
    else misses.push(`${label} ${voice} ${wpm}: "hey sling ${command}" not detected`);
    // The command: in the same utterance after the phrase, or the next utterance once awake.
    const recognizeRoute = routes.find((h) => h.route.kind === 'recognize');
    if (recognizeRoute?.route.kind === 'recognize') {
      const r = await engine.recognize({
        ...recognizeRoute.utterance,
        samples: recognizeRoute.route.samples,
      });
      if (r.recognition.accepted && normalize(r.recognition.text) === normalize(command)) commandExact++;
      else
        misses.push(
          `${label} ${voice} ${wpm}: "${command}" after the phrase heard as "${r.recognition.text}"`,
        );
    }
  }
  let falseWakes = 0;
  const negatives = [...outOfScope, ...commands];
  for (const [i, text] of negatives.entries()) {
    const { voice, wpm } = combos[i % combos.length]!;
    const r = await speech.render(text, voice, wpm, snr);
    const routes = await hear(r.samples);
    for (const h of routes) spotMs.push(h.ms);
    if (routes.some((h) => h.route.kind !== 'ignore')) {
      falseWakes++;
      misses.push(`${label} ${voice} ${wpm}: false wake on "${text}"`);
    }
  }
  rows.push({
    condition: `wake @ ${label}`,
    phraseAlone: `${alone}/${combos.length}`,
    phraseThenCommand: `${inBreath}/${combos.length} (command exact ${commandExact})`,
    falseWakes: `${falseWakes}/${negatives.length}`,
  });
}

// Spoken confirmation: the yes/no recogniser on its own answers and on speech that is not an answer.
const yes = config.confirm.yes;
const no = config.confirm.no;
for (const snr of [20, 10]) {
  let yesRight = 0;
  let noRight = 0;
  let falseYes = 0;
  const answerOf = async (text: string, voice: string, wpm: number) => {
    const r = await speech.render(text, voice, wpm, snr);
    const utterances = await path.utterances(r.samples);
    // Each utterance is an answer; any "yes" among them would run the held command.
    return Promise.all(utterances.map((u) => dialogue.answer(u)));
  };
  for (const [i, { voice, wpm }] of combos.entries()) {
    if ((await answerOf(yes[i % yes.length]!, voice, wpm)).includes('yes')) yesRight++;
    else misses.push(`${snr} dB ${voice} ${wpm}: "${yes[i % yes.length]}" not heard as yes`);
    if ((await answerOf(no[i % no.length]!, voice, wpm)).includes('no')) noRight++;
    else misses.push(`${snr} dB ${voice} ${wpm}: "${no[i % no.length]}" not heard as no`);
  }
  const negatives = [...outOfScope, ...commands];
  for (const [i, text] of negatives.entries()) {
    const { voice, wpm } = combos[i % combos.length]!;
    if ((await answerOf(text, voice, wpm)).includes('yes')) {
      falseYes++;
      misses.push(`${snr} dB: false yes on "${text}"`);
    }
  }
  rows.push({
    condition: `confirm answers @ ${snr} dB`,
    phraseAlone: `yes ${yesRight}/${combos.length}`,
    phraseThenCommand: `no ${noRight}/${combos.length}`,
    falseWakes: `false yes ${falseYes}/${negatives.length}`,
  });
}

rows.push({
  condition: 'speed',
  phraseAlone: `wake latency p50 ${percentile(latencies, 50).toFixed(0)} ms`,
  phraseThenCommand: `p95 ${percentile(latencies, 95).toFixed(0)} ms`,
  falseWakes: `spotting per non-wake utterance p50 ${percentile(spotMs, 50).toFixed(0)} ms`,
});
await path.close();
speech.close();
writeResult('wake', rows, {
  phrase: config.wake.phrase,
  threshold: config.wake.threshold,
  phoneLoopProbability: config.wake.phoneLoopProbability,
  verifyConfidence: config.wake.verifyConfidence,
  grammar: grammarDir,
  voices: VOICES,
  wordsPerMinute: SPEEDS,
  noise: `sox ${benchNoise()}, SNR against the speech RMS`,
  latency:
    'end of the phrase speech (last sample above 0.01) → wake: trailing silence the VAD waits + spotting',
  misses,
});
process.stdout.write(`\n${misses.length} misses:\n${misses.slice(0, 60).join('\n')}\n`);
