import { loadavg } from 'node:os';
import { loadConfig } from '../../agent/config/load.ts';
import { loadCommandPath } from '../../agent/ingress/voice/command-path.ts';
import { clauseIntents, needsConfirmation, type ParsedIntents } from '../../agent/ingress/voice/confirm.ts';
import { VoiceEngine, voiceEngineOptions } from '../../agent/ingress/voice/engine.ts';
import { typedForm } from '../../agent/ingress/voice/typed-form.ts';
import { encodeWav } from '../../agent/ingress/voice/wav.ts';
import { fromProjectRoot } from '../../agent/paths.ts';
import { gameVoices, type Recording, recordings } from '../helpers/recordings.ts';
import { percentile, type Row, writeResult } from './harness.ts';
import { benchNoise, NoisySpeech, RATE } from './noisy-speech.ts';
import { WakePath } from './wake-path.ts';

/**
 * bench:voice on recorded human speech instead of espeak-ng: Debian's pocketsphinx-testdata (one command,
 * "go forward ten meters", and 12 recordings that are not commands) and alsa-utils' speaker test (8 more, a
 * second speaker), through the default world's whole path as `npm start` runs it, then the non-commands
 * again with the wake word on; with hedgewars-data installed, its game characters' English voices as well
 * (clean only: 591 clips). Each noisy condition mixes a different stretch of repeatable pink noise per take.
 * VOICE_REAL_TAKES (20): noise stretches per SNR for the command; a third as many per non-command.
 */
const takes = Number(process.env.VOICE_REAL_TAKES ?? 20);
const snrs = [null, 20, 10, 5] as const;
const config = loadConfig().config;
const engine = await VoiceEngine.open(voiceEngineOptions(config.voice));
const commandPath = await loadCommandPath(config, config.nlu.model);
const noisy = new NoisySpeech(300, true);
const all = recordings();
const load = [loadavg()[0]!];

const confirmIntents = config.voice.confirm.enabled ? config.voice.confirm.intents : [];
/** The actions the agent would run, and whether it would ask first (voice.confirm). */
const planOf = async (texts: string[]) => {
  const results = await Promise.all(texts.map((t) => commandPath.run(typedForm(t))));
  return {
    actions: JSON.stringify(results.flatMap((r) => r.actions as unknown[])),
    askedFirst: needsConfirmation(
      results.flatMap((r) => clauseIntents(r as ParsedIntents)),
      confirmIntents,
    ),
  };
};
/** A recording's speech: within 20 dB of its loudest sample (below that: breaths, room sound). */
const speechLevel = (samples: Float32Array) => 0.1 * samples.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

const rows: Row[] = [];
const latencies: number[] = [];
const failures: string[] = [];
let processingMs = 0;
let audioSeconds = 0;
for (const snr of snrs) {
  const condition = snr === null ? 'clean' : `${snr} dB`;
  for (const command of [true, false]) {
    const set = all.filter((r) => r.command === command);
    const n = snr === null ? 1 : command ? takes : Math.max(1, Math.round(takes / 3));
    let right = 0;
    let ran = 0;
    let ranAskedFirst = 0;
    let asked = 0;
    let clips = 0;
    for (const r of set) {
      const wanted = command ? (await planOf([r.transcript!])).actions : '[]';
      for (let k = 0; k < n; k++) {
        const { samples, speechEnd } = noisy.mix(r.samples, snr, 0.6, 0.8, speechLevel(r.samples));
        const started = performance.now();
        const heard = await engine.listenFile(encodeWav(samples, RATE));
        processingMs += performance.now() - started;
        audioSeconds += samples.length / RATE;
        clips++;
        const planStarted = performance.now();
        const { actions: plan, askedFirst } = await planOf(
          heard.filter((h) => h.recognition.accepted).map((h) => h.recognition.text),
        );
        const planMs = performance.now() - planStarted;
        if (plan !== '[]') {
          ran++;
          if (askedFirst) ranAskedFirst++;
        }
        if (plan === wanted) right++;
        else
          failures.push(
            `${condition} ${r.name}: ${heard.map((h) => `${h.recognition.text}${h.recognition.accepted ? '' : ` (refused: ${h.recognition.reason})`}`).join(' | ')}`,
          );
        if (!heard.some((h) => h.recognition.accepted) && heard.some((h) => h.recognition.doubt)) asked++;
        // End of speech → plan, as bench:voice measures it (utterance closed or decode done, then the plan).
        const last = heard.at(-1);
        if (command && last) {
          const closedMs = ((last.utterance.closedAt - speechEnd) / RATE) * 1000;
          const decodedMs = ((last.decodeStartedAt - speechEnd) / RATE) * 1000 + last.recognizeMs;
          latencies.push(Math.max(closedMs, decodedMs) + planMs);
        }
      }
    }
    rows.push({
      condition: `${command ? 'command' : 'not a command'} @ ${condition}`,
      clips,
      exactPlan: command ? `${right} of ${clips}` : '',
      falseAccepts: command ? '' : `${ran} of ${clips} (${ranAskedFirst} asked first)`,
      askedBack: asked,
    });
  }
  load.push(loadavg()[0]!);
}

// Game characters' shouts and quips (hedgewars-data, when installed): expressive speech, never a command.
const game = gameVoices();
/** What game speech ran, by heard text and intent: the false accepts' shape, not just their count. */
const gameHeard = new Map<string, number>();
if (game.length > 0) {
  let ran = 0;
  let ranAskedFirst = 0;
  for (const r of game) {
    const { samples } = noisy.mix(r.samples, null);
    const heard = (await engine.listenFile(encodeWav(samples, RATE))).filter((h) => h.recognition.accepted);
    const { actions, askedFirst } = await planOf(heard.map((h) => h.recognition.text));
    if (actions === '[]') continue;
    ran++;
    if (askedFirst) ranAskedFirst++;
    const key = `${heard.map((h) => h.recognition.text).join(' | ')}${askedFirst ? ' (asked first)' : ''}`;
    gameHeard.set(key, (gameHeard.get(key) ?? 0) + 1);
  }
  rows.push({
    condition: 'game voices (not commands) @ clean',
    clips: game.length,
    exactPlan: '',
    falseAccepts: `${ran} of ${game.length} (${ranAskedFirst} asked first)`,
    askedBack: '',
  });
}
await engine.close();

// The same non-commands with the wake word on: a false wake opens one command's window (voice.wake).
const wakePath = await WakePath.open(fromProjectRoot(config.voice.grammar));
const wakeNoise = new NoisySpeech(300, true, 300);
/** Each recording `takes` times at `snr` through a sleeping site: a row of how many woke it. */
async function wakes(label: string, set: Recording[], snr: number | null, takes: number): Promise<Row> {
  const condition = snr === null ? 'clean' : `${snr} dB`;
  let woke = 0;
  for (const r of set) {
    for (let k = 0; k < takes; k++) {
      const { samples } = wakeNoise.mix(r.samples, snr, 0.6, 0.8, speechLevel(r.samples));
      if ((await wakePath.hear(samples)).some((h) => h.route.kind !== 'ignore')) {
        woke++;
        failures.push(`${condition} ${r.name}: woke the site`);
      }
    }
  }
  const clips = set.length * takes;
  return {
    condition: `${label} @ ${condition}`,
    clips,
    exactPlan: '',
    falseAccepts: `${woke} of ${clips} woke the site`,
    askedBack: '',
  };
}
for (const snr of snrs) {
  const perClip = snr === null ? 1 : Math.max(1, Math.round(takes / 3));
  rows.push(
    await wakes(
      'not a command, wake word on',
      all.filter((r) => !r.command),
      snr,
      perClip,
    ),
  );
}
if (game.length > 0) rows.push(await wakes('game voices, wake word on', game, null, 1));
await wakePath.close();
wakeNoise.close();
await commandPath.close();
noisy.close();
rows.push({
  condition: 'speed',
  clips: latencies.length,
  exactPlan: `RTF ${(processingMs / 1000 / audioSeconds).toFixed(3)}`,
  falseAccepts: `end of speech → plan p50 ${percentile(latencies, 50).toFixed(0)} ms`,
  askedBack: `p95 ${percentile(latencies, 95).toFixed(0)} ms`,
});
writeResult('voice-real', rows, {
  recordings: `Debian pocketsphinx-testdata and alsa-utils: ${all.map((r) => r.name).join(', ')}`,
  gameVoices:
    game.length > 0
      ? `${game.length} clips of hedgewars-data's English voice packs, clean`
      : 'not measured: apt install hedgewars-data',
  gameVoicesRan: Object.fromEntries([...gameHeard.entries()].sort((a, b) => b[1] - a[1])),
  noise: `${benchNoise()} (sox -R), SNR against the speech; ${takes} stretches per SNR for the command`,
  loadAverage: `${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)}`,
  failures,
});
