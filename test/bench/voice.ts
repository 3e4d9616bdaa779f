import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../agent/config/load.ts';
import { loadCommandPath } from '../../agent/ingress/voice/command-path.ts';
import { clauseIntents, needsConfirmation, type ParsedIntents } from '../../agent/ingress/voice/confirm.ts';
import { grammarCoverage } from '../../agent/ingress/voice/coverage-cli.ts';
import { DENOISE_DELAY, NoiseSuppressor } from '../../agent/ingress/voice/denoise.ts';
import { type Heard, VoiceEngine, voiceEngineOptions } from '../../agent/ingress/voice/engine.ts';
import { typedForm } from '../../agent/ingress/voice/typed-form.ts';
import { encodeWav } from '../../agent/ingress/voice/wav.ts';
import { fromProjectRoot, projectRoot } from '../../agent/paths.ts';
import { percentile, type Row, writeResult } from './harness.ts';
import { benchNoise, NoisySpeech, RATE } from './noisy-speech.ts';
import { benchEnrolment, benchSelfAdaptation } from './voice-enrolment.ts';
import { fixtureLines, notReported, plannedCommands, spokenText, spread } from './voice-fixtures.ts';

/** VOICE_BENCH_VOICES: other espeak-ng voices (e.g. one no enrollment heard), comma-separated. */
const VOICES = process.env.VOICE_BENCH_VOICES?.split(',') ?? ['en-us', 'en-gb', 'en-us+f3'];
/** VOICE_BENCH_SPEEDS: espeak-ng words per minute, comma-separated (e.g. 110,130 for slow speakers). */
const SPEEDS = process.env.VOICE_BENCH_SPEEDS?.split(',').map(Number) ?? [150, 190];
const nCommands = Number(process.env.VOICE_BENCH_COMMANDS ?? 20);
const nOos = Number(process.env.VOICE_BENCH_OOS ?? 20);
const grammarDir = resolve(projectRoot, process.env.VOICE_BENCH_GRAMMAR ?? 'models/default/voice');

/**
 * VOICE_BENCH_HELDOUT=1: the same run on commands and out-of-scope sentences this benchmark does not report
 * (written to voice-heldout.json), for choosing settings without tuning on the reported set.
 */
const heldOut = Boolean(process.env.VOICE_BENCH_HELDOUT);
const commands = spread(heldOut ? notReported(plannedCommands(), 40) : plannedCommands(), nCommands);
const outOfScope = spread(
  heldOut ? notReported(fixtureLines('out-of-scope.txt'), 20) : fixtureLines('out-of-scope.txt'),
  nOos,
);

/** The commands no hearing could plan exactly: the grammar cannot say them (what `sling voice check` tells). */
function notInGrammar(): { count: string; commands: string[] } {
  const check = grammarCoverage(grammarDir, commands);
  const missing = commands.filter((c) => !check.of(c).sayable);
  return { count: `${missing.length} of ${commands.length}`, commands: missing };
}

function wordErrors(ref: string[], hyp: string[]): number {
  const d = Array.from({ length: ref.length + 1 }, (_, i) => [i, ...Array(hyp.length).fill(0)] as number[]);
  for (let j = 1; j <= hyp.length; j++) d[0]![j] = j;
  for (let i = 1; i <= ref.length; i++) {
    for (let j = 1; j <= hyp.length; j++) {
      d[i]![j] = Math.min(
        d[i - 1]![j]! + 1,
        d[i]![j - 1]! + 1,
        d[i - 1]![j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1),
      );
    }
  }
  return d[ref.length]![hyp.length]!;
}

// Repeatable noise: the same audio every run, so runs compare.
const noisy = new NoisySpeech(120, true);

/** Speech with 0.6 s silence before and 0.8 s after, pink noise at `snr` dB relative to the speech. */
/**
 * Room noise before each command (`VOICE_BENCH_LEAD_S`, default 0.6 s): a live satellite streams noise all the
 * time, and the noise suppressor needs about half a second of it to settle.
 */
const leadSeconds = Number(process.env.VOICE_BENCH_LEAD_S ?? 0.6);

async function rendition(text: string, voice: string, wpm: number, snr: number | null) {
  const { samples, speechEnd } = await noisy.render(text, voice, wpm, snr, leadSeconds);
  return { wav: encodeWav(samples, RATE), speechEnd, seconds: samples.length / RATE };
}

/**
 * VOICE_BENCH_ENROL=1: the enrolled condition, the test voices enrolled first (voice-enrolment.ts: prompts
 * from the grammar, disjoint from every command and out-of-scope sentence); VOICE_BENCH_HMM=<dir>: an
 * acoustic model directory made beforehand (e.g. by `sling voice enrol`).
 */
/** VOICE_BENCH_ENROL=heard: self-adapted first; =both: enrolled, then self-adapted from the enrolled model. */
const enrolment = await (async () => {
  const mode = process.env.VOICE_BENCH_ENROL;
  if (!mode) return undefined;
  if (mode === 'heard') return benchSelfAdaptation(grammarDir, VOICES);
  const enrolled = await benchEnrolment(grammarDir, VOICES);
  if (mode !== 'both') return enrolled;
  const adapted = await benchSelfAdaptation(grammarDir, VOICES, [], enrolled.dir);
  return {
    ...adapted,
    close: () => {
      adapted.close();
      enrolled.close();
    },
  };
})();
const acousticModel =
  enrolment?.dir ?? (process.env.VOICE_BENCH_HMM ? resolve(process.env.VOICE_BENCH_HMM) : undefined);
const config = loadConfig().config;
// The configured VAD and decoder settings (config/sling.yaml, else the schema defaults), as the agent runs.
const engine = await VoiceEngine.open(
  voiceEngineOptions(config.voice, {
    grammarDir,
    minConfidence: 0.5,
    ...(acousticModel ? { acousticModel } : {}),
  }),
);
const modelDir = process.env.VOICE_BENCH_MODEL ?? config.nlu.model;
const hasModelFiles = existsSync(join(fromProjectRoot(modelDir), 'manifest.json'));
let commandPath = hasModelFiles ? await loadCommandPath(config, modelDir) : undefined;
// A model the parser cannot run (e.g. built by another version) refuses everything, which would make every
// heard command "match" its typed plan: such a model is not used.
if (commandPath) {
  const probe = await commandPath.run(commands[0] ?? 'stop');
  if (probe.error) {
    process.stderr.write(`model ${modelDir} not usable (${probe.error}): plans are not scored\n`);
    await commandPath.close();
    commandPath = undefined;
  }
}
const withModel = commandPath !== undefined;
const planKey = (r: Record<string, unknown>) =>
  JSON.stringify({ actions: r.actions, refused: r.refused !== undefined });
const planOf = async (text: string) => planKey(await commandPath!.run(text));
/** What RNNoise (voice.denoise) costs on its own: wall time per second of noisy audio, in 32 ms chunks. */
async function denoiseCost(): Promise<string> {
  const audio = (await noisy.render('turn on the kitchen light', 'en-us', 150, 10)).samples;
  const suppressor = await NoiseSuppressor.open();
  const started = performance.now();
  let seconds = 0;
  while (seconds < 30) {
    for (let at = 0; at < audio.length; at += 512) suppressor.process(audio.subarray(at, at + 512));
    seconds += audio.length / RATE;
  }
  const ms = performance.now() - started;
  suppressor.close();
  return `on: RNNoise ${(ms / seconds).toFixed(1)} ms per second of audio (real-time factor ${(ms / seconds / 1000).toFixed(3)}), output ${(DENOISE_DELAY / RATE) * 1000} ms behind`;
}

/** The configured spoken confirmation: a wrong plan of these intents is asked about before it runs. */
const confirmIntents = config.voice.confirm.enabled ? config.voice.confirm.intents : [];
const intentsOf = (r: Record<string, unknown>) => clauseIntents(r as ParsedIntents);
/** Typed sentences the model and skills turn into actions; only those can score an exact plan. */
const typedPlans = new Map<string, string>();
if (commandPath) {
  for (const text of commands) {
    const plan = await planOf(text);
    if (!plan.startsWith('{"actions":[]')) typedPlans.set(text, plan);
  }
}
/** Contrasting words (on/off, forward/back...) from the grammar's voice.json. */
const contrasts: Record<string, string[]> =
  JSON.parse(readFileSync(join(grammarDir, 'voice.json'), 'utf8')).contrasts ?? {};
/**
 * An accepted hypothesis that swapped a word of the command for a contrast the recogniser guards the heard word
 * against ("off" heard as "on"); a heard "stop" for "start" is not one: a stop is never held back.
 */
const flipped = (ref: string[], hyp: string[]) =>
  ref.some((r) => !hyp.includes(r) && hyp.some((h) => !ref.includes(h) && (contrasts[h] ?? []).includes(r)));
const rows: Row[] = [];
const latencies: number[] = [];
let audioSeconds = 0;
let processingMs = 0;
const failures: string[] = [];
let earlyDecodes = 0;
const contrastMargins: string[] = [];
/** VOICE_BENCH_TRACE=<file>: every utterance's recognitions with their evidence, for calibrating rejection. */
const traceFile = process.env.VOICE_BENCH_TRACE;
const trace: object[] = [];
const traced = (heard: Heard[]) =>
  heard.map((h) => ({
    text: h.recognition.text,
    accepted: h.recognition.accepted,
    reason: h.recognition.reason,
    ...h.recognition.detail,
  }));
/** Where the latency goes (ms after the end of speech): utterance closed, decode start, decode, plan. */
const waits = {
  closed: [] as number[],
  decodeStart: [] as number[],
  decode: [] as number[],
  /** Of the decode: the command decoder and phone loop (the rest is the contrast check). */
  search: [] as number[],
  plan: [] as number[],
};
/** Exact plans per SNR and voice: an adapted model may fit one voice at the others' cost. */
const voiceTally = new Map<string, { exact: number; planned: number }>();
const byVoice = (snr: number, voice: string) => {
  const key = `${snr} dB ${voice}`;
  const tally = voiceTally.get(key) ?? { exact: 0, planned: 0 };
  voiceTally.set(key, tally);
  return tally;
};
/** End of speech → plan by how the utterance ended: `complete` (a finished command, shorter silence) or not. */
const latencyByEnd = new Map<string, number[]>();

for (const snr of [20, 10]) {
  let exact = 0;
  let exactPlans = 0;
  let planned = 0;
  let accepted = 0;
  let flips = 0;
  /** Refused only for a word in doubt: the agent asks back (voice.confirm.askWhenUnsure). */
  let asked = 0;
  let askedRight = 0;
  /** Accepted with actions that are not the command's: run at once, or asked about first (voice.confirm). */
  let wrongRun = 0;
  let wrongConfirmed = 0;
  let errors = 0;
  /** Clips the VAD cut into more than one utterance (a pause inside a command longer than the trailing silence). */
  let split = 0;
  let words = 0;
  let n = 0;
  for (const [i, text] of commands.entries()) {
    // Two renditions per command, cycling through the 6 voice × speed combinations.
    for (const k of [0, 1]) {
      const combo = (i * 2 + k) % (VOICES.length * SPEEDS.length);
      const voice = VOICES[combo % VOICES.length]!;
      const wpm = SPEEDS[Math.floor(combo / VOICES.length)]!;
      const r = await rendition(text, voice, wpm, snr);
      const started = performance.now();
      const heard = await engine.listenFile(r.wav);
      processingMs += performance.now() - started;
      audioSeconds += r.seconds;
      const hypothesis = heard
        .filter((h) => h.recognition.accepted)
        .map((h) => h.recognition.text)
        .join(' ');
      const ref = spokenText(text).split(' ');
      const hyp = hypothesis ? spokenText(hypothesis).split(' ') : [];
      n++;
      if (heard.length > 1) split++;
      words += ref.length;
      errors += wordErrors(ref, hyp);
      if (hyp.length > 0) accepted++;
      if (flipped(ref, hyp)) {
        flips++;
        failures.push(`${snr} dB ${voice} ${wpm}: FLIP accepted: "${text}" → "${hypothesis}"`);
      }
      if (hyp.join(' ') === ref.join(' ')) exact++;
      else
        failures.push(
          `${snr} dB ${voice} ${wpm}: "${text}" → "${heard.map((h) => `${h.recognition.text}${h.recognition.accepted ? '' : ` (refused: ${h.recognition.reason})`}`).join(' | ')}"`,
        );
      // Contrast margins of what the recogniser heard (before its refusal), for choosing contrastMargin.
      for (const h of heard) {
        const margin = h.recognition.detail?.contrastMargin;
        if (typeof margin === 'number')
          contrastMargins.push(
            `${Math.round(margin)} ${spokenText(h.recognition.text) === ref.join(' ') ? 'right' : 'wrong'}: ${h.recognition.text} / ${h.recognition.detail?.contrastRival}`,
          );
      }
      let planMs = 0;
      if (typedPlans.has(text)) {
        planned++;
        byVoice(snr, voice).planned++;
      }
      if (commandPath && hypothesis) {
        const planStarted = performance.now();
        // As the agent runs them: each accepted utterance is a command of its own ("pick it up" | "and then
        // go home" when the speaker paused before the connective), their actions one after the other.
        const results: Record<string, unknown>[] = [];
        for (const h of heard.filter((h) => h.recognition.accepted))
          results.push(await commandPath.run(typedForm(h.recognition.text)));
        const actions = results.flatMap((r) => r.actions as unknown[]);
        const plan = planKey({ actions, refused: results.find((r) => r.refused !== undefined)?.refused });
        planMs = performance.now() - planStarted;
        if (typedPlans.has(text) && plan === typedPlans.get(text)) {
          exactPlans++;
          byVoice(snr, voice).exact++;
        } else if (actions.length > 0) {
          if (needsConfirmation(results.flatMap(intentsOf), confirmIntents)) wrongConfirmed++;
          else wrongRun++;
          failures.push(`${snr} dB ${voice} ${wpm}: WRONG PLAN ${plan} for "${text}"`);
        }
        if (traceFile)
          trace.push({ snr, text, exactPlan: plan === typedPlans.get(text), heard: traced(heard) });
      } else if (traceFile) trace.push({ snr, text, exactPlan: false, heard: traced(heard) });
      // Asked back: a truthful "yes" runs the heard command, so it counts as right only if its plan is.
      const doubted = hypothesis ? undefined : heard.find((h) => h.recognition.doubt);
      if (doubted) {
        asked++;
        if (commandPath && (await planOf(typedForm(doubted.recognition.text))) === typedPlans.get(text))
          askedRight++;
      }
      // End of speech → plan, as a live stream would see it: the text is ready when the utterance closes
      // (trailing silence confirmed) or when its decode, begun at decodeStartedAt, finishes, whichever is later.
      const last = heard.at(-1);
      if (last) {
        const closedMs = ((last.utterance.closedAt - r.speechEnd) / RATE) * 1000;
        const decodedMs = ((last.decodeStartedAt - r.speechEnd) / RATE) * 1000 + last.recognizeMs;
        const latency = Math.max(closedMs, decodedMs) + planMs;
        latencies.push(latency);
        const byEnd = latencyByEnd.get(last.utterance.reason) ?? [];
        byEnd.push(latency);
        latencyByEnd.set(last.utterance.reason, byEnd);
        waits.closed.push(closedMs);
        waits.decodeStart.push(((last.decodeStartedAt - r.speechEnd) / RATE) * 1000);
        waits.decode.push(last.recognizeMs);
        const searchMs = last.recognition.detail?.searchMs;
        if (typeof searchMs === 'number') waits.search.push(searchMs);
        waits.plan.push(planMs);
        if (last.decodeStartedAt < last.utterance.closedAt) earlyDecodes++;
      }
    }
  }
  rows.push({
    condition: `commands @ ${snr} dB`,
    utterances: split ? `${n} (${split} cut in two or more)` : n,
    exactSentence: `${((100 * exact) / n).toFixed(1)}%`,
    exactPlan: commandPath
      ? `${((100 * exactPlans) / Math.max(1, planned)).toFixed(1)}% of ${planned}`
      : 'no model',
    accepted: `${((100 * accepted) / n).toFixed(1)}%`,
    wer: `${((100 * errors) / words).toFixed(1)}%`,
    flips,
    wrongPlans: `${wrongRun + wrongConfirmed} (${wrongConfirmed} asked first)`,
    askedBack: `${asked} (${askedRight} right)`,
    withYes: commandPath ? `${((100 * (exactPlans + askedRight)) / Math.max(1, planned)).toFixed(1)}%` : '',
  });
}

let falseAccepts = 0;
/** Out-of-scope clips the agent would ask about (a "no" cancels them; the question is the cost). */
let oosAsked = 0;
/** False accepts the spoken confirmation asks about before anything runs. */
let oosConfirmed = 0;
/** VOICE_BENCH_OOS_RENDITIONS (1): each out-of-scope sentence in this many voices, for a steadier rate. */
const oosRenditions = Math.max(1, Number(process.env.VOICE_BENCH_OOS_RENDITIONS ?? 1));
const oosClips = outOfScope.flatMap((text, i) =>
  Array.from({ length: oosRenditions }, (_, k) => ({ text, i: i + k, k })),
);
for (const { text, i, k } of oosClips) {
  const voice = VOICES[i % VOICES.length]!;
  const r = await rendition(
    text,
    voice,
    SPEEDS[(i - k + Math.floor(k / VOICES.length)) % SPEEDS.length]!,
    20,
  );
  const started = performance.now();
  const heard = await engine.listenFile(r.wav);
  processingMs += performance.now() - started;
  audioSeconds += r.seconds;
  if (traceFile) trace.push({ snr: 20, text, outOfScope: true, heard: traced(heard) });
  if (heard.some((h) => h.recognition.doubt)) oosAsked++;
  let accepted = heard.filter((h) => h.recognition.accepted);
  // With a model, what the recogniser let through must also survive the NLU's own out-of-scope rejection.
  if (commandPath && accepted.length > 0) {
    const plans = await Promise.all(accepted.map((h) => commandPath.run(typedForm(h.recognition.text))));
    accepted = accepted.filter((_, k) => (plans[k]!.actions as unknown[]).length > 0);
    if (
      plans.some(
        (p) => (p.actions as unknown[]).length > 0 && needsConfirmation(intentsOf(p), confirmIntents),
      )
    )
      oosConfirmed++;
  }
  if (accepted.length > 0) {
    falseAccepts++;
    failures.push(
      `out of scope ${voice}: "${text}" accepted as "${accepted.map((h) => h.recognition.text).join(' | ')}"`,
    );
  }
}
if (oosClips.length > 0)
  rows.push({
    condition: 'out-of-scope @ 20 dB',
    utterances: oosClips.length,
    exactSentence: '',
    exactPlan: '',
    accepted: `${((100 * falseAccepts) / oosClips.length).toFixed(1)}% (false accepts, ${oosConfirmed} asked first)`,
    wer: '',
    flips: '',
    wrongPlans: '',
    askedBack: `${oosAsked}`,
    withYes: '',
  });
await engine.close();
await commandPath?.close();

const rtf = processingMs / 1000 / audioSeconds;
rows.push({
  condition: 'speed',
  utterances: latencies.length,
  exactSentence: `RTF ${rtf.toFixed(3)}`,
  exactPlan: '',
  accepted: `latency p50 ${percentile(latencies, 50).toFixed(0)} ms`,
  wer: `p95 ${percentile(latencies, 95).toFixed(0)} ms`,
  flips: '',
  wrongPlans: '',
  askedBack: '',
  withYes: '',
});
const unsayable = notInGrammar();
// Each condition its own result file: enrolled, self-adapted, or enrolled and then self-adapted.
const modelSuffix =
  enrolment?.kind === 'heard'
    ? `${process.env.VOICE_BENCH_ENROL === 'both' ? '-enrolled' : ''}-self-adapted`
    : acousticModel
      ? '-enrolled'
      : '';
writeResult(`${heldOut ? 'voice-heldout' : 'voice'}${modelSuffix}`, rows, {
  grammar: grammarDir,
  acousticModel: acousticModel ?? 'Debian pocketsphinx-en-us',
  ...(enrolment
    ? {
        enrolment: {
          kind:
            enrolment.kind === 'heard'
              ? `${process.env.VOICE_BENCH_ENROL === 'both' ? 'enrollment, then ' : ''}self-adaptation: the prompts said to the agent, the commands it accepted kept with the words it heard`
              : 'enrollment: the prompts read, with their text as transcripts',
          voices: enrolment.voices,
          recordings: `${enrolment.recordings} (${enrolment.aligned} aligned, ${enrolment.seconds} s of audio)`,
          ...(enrolment.heard
            ? {
                kept: `${enrolment.heard.kept} of ${enrolment.prompts.length} prompts (${enrolment.heard.keptRight} heard word for word)`,
                models: `${enrolment.heard.models} adapted models made, the last one tested`,
                ...(enrolment.heard.chatter
                  ? {
                      chatter: `${enrolment.heard.chatter} other sentences overheard, ${enrolment.heard.keptChatter} kept`,
                    }
                  : {}),
              }
            : {}),
          adaptMs: enrolment.adaptMs,
          prompts: enrolment.prompts,
        },
      }
    : {}),
  model: withModel ? modelDir : null,
  voices: VOICES,
  wordsPerMinute: SPEEDS,
  noise: `sox ${benchNoise()}, SNR against the speech RMS`,
  latency:
    'end of speech (last sample above 0.01 in the clean clip) → recognised text: trailing silence the VAD waits + decode',
  realTimeFactor: 'VAD + recognition wall time / audio duration, on this (shared, loaded) machine',
  denoise: config.voice.denoise ? await denoiseCost() : 'off (voice.denoise: false)',
  earlyDecodes: `${earlyDecodes} of ${latencies.length} utterances decoded from the pause before the trailing silence ended`,
  latencyParts: Object.fromEntries(
    Object.entries(waits).map(([k, v]) => [
      k,
      `p50 ${percentile(v, 50).toFixed(0)} ms, p95 ${percentile(v, 95).toFixed(0)} ms`,
    ]),
  ),
  latencyByEnd: Object.fromEntries(
    [...latencyByEnd].map(([end, v]) => [
      end,
      `${v.length} utterances: p50 ${percentile(v, 50).toFixed(0)} ms, p95 ${percentile(v, 95).toFixed(0)} ms`,
    ]),
  ),
  notInGrammar: unsayable,
  exactPlansByVoice: Object.fromEntries(
    [...voiceTally].map(([k, t]) => [
      k,
      `${t.exact} of ${t.planned} (${((100 * t.exact) / Math.max(1, t.planned)).toFixed(1)}%)`,
    ]),
  ),
  contrastMargins: contrastMargins.sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10)),
  loadAverage: loadavg().map((l) => l.toFixed(2)),
  failures,
});
if (traceFile) writeFileSync(traceFile, `${trace.map((t) => JSON.stringify(t)).join('\n')}\n`);
process.stdout.write(
  `\n${unsayable.count} commands are not sentences of the grammar (no hearing plans them exactly)\n`,
);
process.stdout.write(`\n${failures.length} misses:\n${failures.slice(0, 40).join('\n')}\n`);
enrolment?.close();
