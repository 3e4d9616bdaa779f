/**
 * Where PocketSphinx loses accuracy on the default world: the decoder's front end or the size of what it may
 * hear. Same audio recipe as bench:voice (espeak-ng en-us, en-gb, en-us+f3, sox pink noise at 20 and 10 dB,
 * Sling's resampler and WAV writer, the recogniser's zero padding) decoded with the recogniser's
 * `pocketsphinx_batch` arguments under different search spaces:
 *  - a fixed 20-command robot/home grammar (the issue's measurement), also with sox resampling instead of
 *    Sling's, and with one long-running `pocketsphinx_continuous` fed all clips as one stream;
 *  - default-world commands held out from bench:voice (commands.txt minus the ones bench:voice reports, only
 *    those the grammar can say), with the shipped trigram model, and with sentence-list grammars: the held-out
 *    sentences alone, then padded with N sentences sampled from the grammar (more rivals, same right answer).
 * Env: VOICE_GRAMMAR_SIZES (default "0,300"; "3000" takes minutes), VOICE_GRAMMAR_COMMANDS (24).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_HMM, hypothesisWords, parseHypSeg } from '../../agent/ingress/voice/pocketsphinx.ts';
import { decodeWav, encodeWav } from '../../agent/ingress/voice/wav.ts';
import { projectRoot } from '../../agent/paths.ts';
import { spokenWords } from '../../models/factory/voice/jsgf.ts';
import { grammarAccepts, parseJsgfRules, sampleSentence } from '../../models/factory/voice/ngram.ts';
import { type Row, writeResult } from './harness.ts';
import { NoisySpeech, RATE } from './noisy-speech.ts';
import { plannedCommands, spread } from './voice-fixtures.ts';

/** The recogniser pads each utterance with this much silence (pocketsphinx.ts). */
const PAD = 4000;
const VOICES = ['en-us', 'en-gb', 'en-us+f3'];
const SPEEDS = [150, 190];
const SNRS = [20, 10];
const sizes = (process.env.VOICE_GRAMMAR_SIZES ?? '0,300').split(',').map(Number);
const nCommands = Number(process.env.VOICE_GRAMMAR_COMMANDS ?? 24);
const voiceDir = resolve(projectRoot, 'models/default/voice');
const CMUDICT = '/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict';

const ROBOT_HOME = [
  'drive forward two meters',
  'drive backward one meter',
  'turn left',
  'turn right',
  'stop',
  'go home',
  'turn on the kitchen light',
  'turn off the kitchen light',
  'turn on the bedroom light',
  'turn off the bedroom light',
  'dim the kitchen light to thirty percent',
  'set the thermostat to twenty degrees',
  'open the garage door',
  'close the garage door',
  'lock the front door',
  'unlock the front door',
  'what is the temperature in the kitchen',
  'rotate left ninety degrees',
  'move forward half a meter',
  'play some music in the living room',
];

// Held-out split: bench:voice reports spread(commands, 40); these are spread over the rest.
const fixture = plannedCommands();
const reported = new Set(spread(fixture, 40));
const grammar = parseJsgfRules(readFileSync(join(voiceDir, 'grammar.jsgf'), 'utf8'));
const heldOut = spread(
  fixture.filter((t) => !reported.has(t)),
  nCommands,
)
  .map((t) => spokenWords(t).join(' '))
  .filter((t) => grammarAccepts(grammar.rules, grammar.root, t.split(' ')));

const tmp = mkdtempSync(join(tmpdir(), 'sling-bench-voice-grammar-'));
const speech = new NoisySpeech(120, true);

interface Clip {
  id: string;
  text: string;
  snr: number;
  /** Noisy speech with 0.6 s before and 0.8 s after, as bench:voice builds it. */
  samples: Float32Array;
}

/** espeak-ng's WAV resampled by sox instead of Sling's resampler. */
function soxTo16k(wav: Buffer): Float32Array {
  writeFileSync(join(tmp, 'raw.wav'), wav);
  execFileSync('sox', [join(tmp, 'raw.wav'), '-r', String(RATE), join(tmp, 'sox.wav')]);
  return decodeWav(readFileSync(join(tmp, 'sox.wav'))).samples;
}

/** Renders every sentence in 3 voices (speeds alternating) at each SNR, resampled by Sling or by sox. */
async function render(set: string, sentences: string[], resampler: 'sling' | 'sox'): Promise<Clip[]> {
  const clips: Clip[] = [];
  for (const snr of SNRS) {
    for (const [si, text] of sentences.entries()) {
      for (const [vi, voice] of VOICES.entries()) {
        const wpm = SPEEDS[(si + vi) % SPEEDS.length]!;
        const { samples } =
          resampler === 'sox'
            ? await speech.render(text, voice, wpm, snr, 0.6, 0.8, soxTo16k)
            : await speech.render(text, voice, wpm, snr);
        clips.push({ id: `${set}_${resampler}_${snr}_${si}_${vi}`, text, snr, samples });
      }
    }
  }
  return clips;
}

/** A dictionary of the words of `sentences` from the acoustic model's CMU dictionary. */
function dictionaryFor(sentences: string[], file: string): string {
  const words = new Set(sentences.flatMap((s) => s.split(' ')));
  const lines = readFileSync(CMUDICT, 'utf8')
    .split('\n')
    .filter((l) => words.has(l.split(' ', 1)[0]!.replace(/\(\d+\)$/, '')));
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function listGrammar(sentences: string[], file: string): string {
  writeFileSync(
    file,
    `#JSGF V1.0;\ngrammar list;\npublic <s> = ${sentences.map((s) => `( ${s} )`).join('\n | ')};\n`,
  );
  return file;
}

/** `pocketsphinx_batch` with the recogniser's arguments (pocketsphinx.ts decoderArgs) over all clips. */
function batch(
  clips: Clip[],
  search: string[],
  dictionary: string,
): { heard: Map<string, string>; wall: number } {
  const dir = join(tmp, 'clips');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  for (const c of clips) {
    const padded = new Float32Array(c.samples.length + 2 * PAD);
    padded.set(c.samples, PAD);
    writeFileSync(join(dir, `${c.id}.wav`), encodeWav(padded, RATE));
  }
  writeFileSync(join(tmp, 'ctl'), `${clips.map((c) => c.id).join('\n')}\n`);
  const before = performance.now();
  execFileSync('nice', [
    '-n',
    '10',
    'pocketsphinx_batch',
    ...[
      '-hmm',
      DEFAULT_HMM,
      ...search,
      '-dict',
      dictionary,
      '-adcin',
      'yes',
      '-cepdir',
      dir,
      '-cepext',
      '.wav',
    ],
    ...['-dither', 'yes', '-seed', '1', '-logfn', '/dev/null', '-ctl', join(tmp, 'ctl')],
    ...['-hypseg', join(tmp, 'hyp')],
  ]);
  const heard = new Map<string, string>();
  for (const line of readFileSync(join(tmp, 'hyp'), 'utf8').split('\n')) {
    const seg = parseHypSeg(line);
    if (seg) heard.set(seg.utterance, hypothesisWords(seg.words).join(' '));
  }
  return { heard, wall: (performance.now() - before) / 1000 };
}

/** One `pocketsphinx_continuous` reading all clips as one stream; scored as sentences heard in order. */
function continuous(clips: Clip[], search: string[], dictionary: string): number {
  const stream = new Float32Array(clips.reduce((s, c) => s + c.samples.length, 0));
  let at = 0;
  for (const c of clips) {
    stream.set(c.samples, at);
    at += c.samples.length;
  }
  writeFileSync(join(tmp, 'stream.wav'), encodeWav(stream, RATE));
  const out = execFileSync('nice', [
    '-n',
    '10',
    'pocketsphinx_continuous',
    ...['-hmm', DEFAULT_HMM, ...search, '-dict', dictionary, '-infile', join(tmp, 'stream.wav')],
    ...['-logfn', '/dev/null'],
  ]).toString();
  const heard = out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  // Longest common subsequence of sentences: each clip matched at most once, in order.
  const refs = clips.map((c) => c.text);
  const d = Array.from({ length: refs.length + 1 }, () => new Array<number>(heard.length + 1).fill(0));
  for (let i = 0; i < refs.length; i++)
    for (let j = 0; j < heard.length; j++)
      d[i + 1]![j + 1] = Math.max(d[i]![j + 1]!, d[i + 1]![j]!, d[i]![j]! + (refs[i] === heard[j] ? 1 : 0));
  return d[refs.length]![heard.length]!;
}

const rows: Row[] = [];
function score(label: Omit<Row, 'snr'>, clips: Clip[], exact: (subset: Clip[]) => number) {
  for (const snr of SNRS) {
    const subset = clips.filter((c) => c.snr === snr);
    const n = exact(subset);
    rows.push({
      ...label,
      snr,
      exact: n,
      clips: subset.length,
      pct: +((100 * n) / subset.length).toFixed(1),
    });
  }
}
function scoreBatch(label: Omit<Row, 'snr'>, clips: Clip[], search: string[], dictionary: string) {
  const { heard, wall } = batch(clips, search, dictionary);
  score({ ...label, wallSeconds: +wall.toFixed(1) }, clips, (subset) =>
    subset.reduce((s, c) => s + (heard.get(c.id) === c.text ? 1 : 0), 0),
  );
}

try {
  // 1. The issue's figure: a small robot/home command grammar.
  const small = listGrammar(ROBOT_HOME, join(tmp, 'small.jsgf'));
  const smallDict = dictionaryFor(ROBOT_HOME, join(tmp, 'small.dict'));
  const smallSling = await render('small', ROBOT_HOME, 'sling');
  const smallSox = await render('small', ROBOT_HOME, 'sox');
  const base = { set: 'robot/home 20', sentences: ROBOT_HOME.length };
  scoreBatch(
    { ...base, decoder: 'batch (Sling args)', audio: 'sling' },
    smallSling,
    ['-jsgf', small],
    smallDict,
  );
  scoreBatch({ ...base, decoder: 'batch (Sling args)', audio: 'sox' }, smallSox, ['-jsgf', small], smallDict);
  score({ ...base, decoder: 'continuous stream', audio: 'sling' }, smallSling, (subset) =>
    continuous(subset, ['-jsgf', small], smallDict),
  );

  // 2. Default-world commands held out from bench:voice, as the search space grows.
  const dict = join(voiceDir, 'grammar.dict');
  const clips = await render('world', heldOut, 'sling');
  const world = { set: 'default world held-out', audio: 'sling' };
  scoreBatch(
    { ...world, decoder: 'batch trigram (shipped)', sentences: 'grammar' },
    clips,
    ['-lm', join(voiceDir, 'grammar.lm'), '-fwdflat', 'no'],
    dict,
  );
  const intents = [...grammar.rules.keys()].filter(
    (k) => k.startsWith('intent_') && !k.endsWith('out_of_scope'),
  );
  let seed = 42;
  const rng = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  for (const extra of sizes) {
    const list = new Set(heldOut);
    for (let tries = 0; list.size < heldOut.length + extra && tries < extra * 20; tries++) {
      const intent = intents[Math.floor(rng() * intents.length)]!;
      const s = sampleSentence(grammar.rules, intent, rng).join(' ');
      if (s) list.add(s);
    }
    scoreBatch(
      { ...world, decoder: 'batch sentence list', sentences: list.size },
      clips,
      ['-jsgf', listGrammar([...list], join(tmp, 'list.jsgf'))],
      dict,
    );
  }
} finally {
  speech.close();
  rmSync(tmp, { recursive: true, force: true });
}

writeResult('voice-grammar', rows, {
  loadAverage: loadavg().map((l) => +l.toFixed(2)),
  cores: cpus().length,
  voices: VOICES,
  speeds: SPEEDS,
  heldOutCommands: heldOut.length,
  note: 'exact = decoded word string equals the spoken sentence; wallSeconds under load, nice 10',
});
