/**
 * A second decoding pass over a short candidate list, measured before building it into the recogniser.
 * Pass 1: the shipped trigram decoder (`-lm grammar.lm -fwdflat no`) with its N-best list (`-nbest`).
 * Candidates: the N-best hypotheses that are grammar sentences (trimmed as the recogniser trims), then
 * variants with one slot value (list-slot phrase, number) swapped for another value the grammar accepts in
 * that place, capped. Pass 2: the same audio decoded against just those sentences as a per-utterance FSG
 * (`-fsgctl`, as the contrast check does). Audio as bench:voice / bench:voice-grammar; commands and
 * out-of-scope sentences held out from the ones bench:voice reports (VOICE_BENCH_COMMANDS=40, OOS 20 and 40).
 * Rejection for pass 2: the phone-loop score a grammar decode gets; also reported gated by the shipped path's
 * acceptance, and at the score threshold letting at most 10 % of out-of-scope clips through.
 * Env: VOICE_NBEST_COMMANDS (30), VOICE_NBEST (30), VOICE_NBEST_CAPS ("100,300"), VOICE_NBEST_OOS (20),
 * VOICE_NBEST_REPAIR (1; 0 = no one-word repairs).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sentencesFsg } from '../../agent/ingress/voice/contrast.ts';
import {
  confidenceFromScores,
  coverageConfidence,
  DEFAULT_HMM,
  hypothesisWords,
  parseHypSeg,
} from '../../agent/ingress/voice/pocketsphinx.ts';
import { encodeWav } from '../../agent/ingress/voice/wav.ts';
import { projectRoot } from '../../agent/paths.ts';
import { spokenWords } from '../../models/factory/voice/jsgf.ts';
import {
  grammarAccepts,
  longestGrammarSpan,
  type Node,
  parseJsgfRules,
} from '../../models/factory/voice/ngram.ts';
import { numberToWords } from '../../models/factory/voice/numbers.ts';
import { type Row, writeResult } from './harness.ts';
import { NoisySpeech, RATE } from './noisy-speech.ts';
import { fixtureLines, plannedCommands, spread } from './voice-fixtures.ts';

const PAD = 4000;
/** The voice config's default `minConfidence` (schema.ts). */
const MIN_CONFIDENCE = 0.5;
const VOICES = ['en-us', 'en-gb', 'en-us+f3'];
const SPEEDS = [150, 190];
const SNRS = [20, 10];
const nCommands = Number(process.env.VOICE_NBEST_COMMANDS ?? 30);
const nBest = Number(process.env.VOICE_NBEST ?? 30);
const caps = (process.env.VOICE_NBEST_CAPS ?? '100,300').split(',').map(Number);
const nOos = Number(process.env.VOICE_NBEST_OOS ?? 20);
/** Also one-word repairs of the first 10 hypotheses (VOICE_NBEST_REPAIR=0 turns them off). */
const useRepairs = process.env.VOICE_NBEST_REPAIR !== '0';
const voiceDir = resolve(projectRoot, 'models/default/voice');

const fixture = plannedCommands();
const reported = new Set(spread(fixture, 40));
const { rules, root } = parseJsgfRules(readFileSync(join(voiceDir, 'grammar.jsgf'), 'utf8'));
const accepts = (words: string[]) => grammarAccepts(rules, root, words);
// Offset by half a step from bench:voice-grammar's picks, so the two benchmarks do not share all commands.
const rest = fixture.filter((t) => !reported.has(t));
const heldOut = spread(rest.slice(Math.floor(rest.length / nCommands / 2)), nCommands)
  .map((t) => spokenWords(t).join(' '))
  .filter((t) => accepts(t.split(' ')));
const oosAll = fixtureLines('out-of-scope.txt');
const oosReported = new Set(spread(oosAll, 40));
const oosHeldOut = spread(
  oosAll.filter((t) => !oosReported.has(t)),
  nOos,
);

// --- candidate generation (pure) ---

/** Word-only alternatives of each `<slot_*>` rule: the values a list slot can be swapped between. */
function phrasesOf(node: Node): string[][] | undefined {
  if (node.kind === 'word') return [[node.word]];
  if (node.kind === 'seq') {
    const words = node.items.map((n) => (n.kind === 'word' ? n.word : undefined));
    return words.every((w) => w !== undefined) ? [words as string[]] : undefined;
  }
  return undefined;
}
const slotPhrases: string[][][] = [];
for (const [name, node] of rules) {
  if (!name.startsWith('slot_')) continue;
  const options = node.kind === 'alt' ? node.options : [node];
  const phrases = options
    .map(phrasesOf)
    .filter((p) => p !== undefined)
    .flat();
  if (phrases.length > 1) slotPhrases.push(phrases);
}

const spoken = (n: number | string) => numberToWords(String(n)).split(' ');
const DIGITS = Array.from({ length: 10 }, (_, d) => d);
/** Spoken numbers a number slot is swapped between: 0–100, whole hundreds, x point y below ten. */
const NUMBERS: string[][] = [
  ...Array.from({ length: 100 }, (_, n) => spoken(n)),
  ['a', 'hundred'],
  ...DIGITS.slice(1).map((d) => spoken(d * 100)),
  ...[120, 150, 180, 270].map((n) => ['a', 'hundred', 'and', ...spoken(n - 100)]),
  ...DIGITS.flatMap((u) => DIGITS.map((d) => spoken(`${u}.${d}`))),
];
const NUMBER_JOINERS = new Set(['a', 'and', 'point']);
const NUMBER_CORE = new Set([...NUMBERS.flat().filter((w) => !NUMBER_JOINERS.has(w)), 'minus']);
const NUMBER_WORD = new Set([...NUMBER_CORE, ...NUMBER_JOINERS]);

const same = (a: string[], b: string[]) => a.length === b.length && a.every((w, i) => w === b[i]);

/** Sentences that differ from `words` by one slot value, accepted by the grammar. */
function slotVariants(words: string[], emit: Emit): void {
  const tryReplace = (start: number, end: number, by: string[]) =>
    emit([...words.slice(0, start), ...by, ...words.slice(end)]);
  for (const phrases of slotPhrases) {
    for (const phrase of phrases) {
      for (let i = 0; i + phrase.length <= words.length; i++) {
        if (!same(words.slice(i, i + phrase.length), phrase)) continue;
        for (const other of phrases)
          if (!same(other, phrase) && !tryReplace(i, i + phrase.length, other)) return;
      }
    }
  }
  for (let i = 0; i < words.length; i++) {
    // A number starts at a number word ("a hundred" at "a" only when "hundred" follows).
    const starts = NUMBER_CORE.has(words[i]!) || (words[i] === 'a' && words[i + 1] === 'hundred');
    if (!starts || (i > 0 && NUMBER_CORE.has(words[i - 1]!))) continue;
    let j = i;
    while (j < words.length && NUMBER_WORD.has(words[j]!)) j++;
    for (let end = i + 1; end <= j; end++) {
      for (const n of NUMBERS) if (!same(n, words.slice(i, end)) && !tryReplace(i, end, n)) return;
    }
  }
}

/** Offers a sentence to the candidate list; false once the list is full. */
type Emit = (words: string[]) => boolean;

/** A trigram hypothesis as the recogniser accepts it: a grammar sentence, or one with a stray end word. */
function asSentence(words: string[]): string[] | undefined {
  if (words.length === 0) return undefined;
  if (accepts(words)) return words;
  const span = longestGrammarSpan(rules, root, words);
  const kept = span ? span.end - span.start : 0;
  if (!span || kept < words.length - 1 || kept / words.length < 0.75) return undefined;
  return words.slice(span.start, span.end);
}

// Word pairs the grammar can say (the trigram model's bigrams, with <s> and </s>): the words worth trying
// in a slot of a hypothesis are those that can follow the word before it and precede the word after it.
const follows = new Map<string, Set<string>>();
const precedes = new Map<string, Set<string>>();
{
  const arpa = readFileSync(join(voiceDir, 'grammar.lm'), 'utf8');
  const bigrams = arpa.slice(arpa.indexOf('\\2-grams:'), arpa.indexOf('\\3-grams:')).split('\n').slice(1);
  for (const line of bigrams) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3) continue;
    const [a, b] = [f[1]!, f[2]!];
    if (!follows.has(a)) follows.set(a, new Set());
    follows.get(a)!.add(b);
    if (!precedes.has(b)) precedes.set(b, new Set());
    precedes.get(b)!.add(a);
  }
}
const between = (before: string, after: string) =>
  [...(follows.get(before) ?? [])].filter((w) => precedes.get(after)?.has(w));

/** Grammar sentences one word edit (substitution, deletion, insertion) away from `words`. */
function repairs(words: string[], emit: Emit): void {
  const at = (i: number) => (i < 0 ? '<s>' : i >= words.length ? '</s>' : words[i]!);
  for (let i = 0; i <= words.length; i++) {
    if (i < words.length) {
      if (words.length > 1 && !emit([...words.slice(0, i), ...words.slice(i + 1)])) return;
      for (const w of between(at(i - 1), at(i + 1)))
        if (w !== words[i] && !emit([...words.slice(0, i), w, ...words.slice(i + 1)])) return;
    }
    for (const w of between(at(i - 1), at(i)))
      if (!emit([...words.slice(0, i), w, ...words.slice(i)])) return;
  }
}

function candidates(nbest: string[][], cap: number): string[][] {
  const seen = new Map<string, string[]>();
  const tried = new Set<string>();
  const emit: Emit = (words) => {
    if (seen.size >= cap) return false;
    const key = words.join(' ');
    if (!tried.has(key)) {
      tried.add(key);
      if (accepts(words)) seen.set(key, words);
    }
    return seen.size < cap;
  };
  const heads = nbest.map(asSentence).filter((s) => s !== undefined);
  for (const h of heads) emit(h);
  const firstHeads = [...seen.values()];
  if (useRepairs) for (const h of nbest.slice(0, 10)) repairs(h, emit);
  for (const h of [...firstHeads, ...[...seen.values()].slice(firstHeads.length)]) slotVariants(h, emit);
  return [...seen.values()];
}

/** The lowest score threshold letting at most 10 % of `oos` through, and the exact clips above it. */
function bestThreshold(
  cs: Clip[],
  os: Clip[],
  heard: (c: Clip) => string,
  score: (c: Clip) => number,
): { threshold90: number; exactAt90: number } {
  const oosScores = os
    .filter((c) => heard(c) !== '')
    .map(score)
    .sort((a, b) => b - a);
  const allowed = Math.floor(os.length * 0.1);
  const threshold = oosScores.length > allowed ? oosScores[allowed]! + 1e-9 : Number.NEGATIVE_INFINITY;
  return {
    threshold90: +threshold.toFixed(2),
    exactAt90: cs.filter((c) => heard(c) === c.text && score(c) >= threshold).length,
  };
}

// --- audio and decoding ---

const tmp = mkdtempSync(join(tmpdir(), 'sling-bench-voice-nbest-'));
const speech = new NoisySpeech(120, true);
interface Clip {
  id: string;
  text: string;
  snr: number;
  oos: boolean;
  /** Speech frames (espeak-ng speaks from its first sample; the end is the last loud sample). */
  speechFrames: number;
}
const clips: Clip[] = [];
const clipDir = join(tmp, 'clips');
mkdirSync(clipDir);
const pocketsphinx = (args: string[], dict = join(voiceDir, 'grammar.dict')) =>
  execFileSync(
    'nice',
    [
      ...['-n', '10', 'pocketsphinx_batch', '-hmm', DEFAULT_HMM, ...args],
      ...['-dict', dict, '-adcin', 'yes', '-cepdir', clipDir, '-cepext', '.wav'],
      ...['-dither', 'yes', '-seed', '1', '-logfn', '/dev/null'],
    ],
    { maxBuffer: 1 << 26 },
  );
const hypsegs = (file: string) => {
  const heard = new Map<string, ReturnType<typeof parseHypSeg>>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const seg = parseHypSeg(line);
    if (seg) heard.set(seg.utterance, seg);
  }
  return heard;
};

const rows: Row[] = [];
try {
  for (const snr of SNRS) {
    const sets: [string[], boolean][] = [
      [heldOut, false],
      [oosHeldOut, true],
    ];
    for (const [sentences, oos] of sets) {
      for (const [si, text] of sentences.entries()) {
        for (const [vi, voice] of VOICES.entries()) {
          const wpm = SPEEDS[(si + vi) % SPEEDS.length]!;
          const { samples, speechEnd } = await speech.render(text, voice, wpm, snr);
          const id = `${oos ? 'o' : 'c'}_${snr}_${si}_${vi}`;
          const padded = new Float32Array(samples.length + 2 * PAD);
          padded.set(samples, PAD);
          writeFileSync(join(clipDir, `${id}.wav`), encodeWav(padded, RATE));
          const speechFrames = (speechEnd - 0.6 * RATE) / 160;
          clips.push({ id, text: oos ? '' : spokenWords(text).join(' '), snr, oos, speechFrames });
        }
      }
    }
  }
  writeFileSync(join(tmp, 'ctl'), `${clips.map((c) => c.id).join('\n')}\n`);

  // Pass 1: trigram with N-best.
  const nbestDir = join(tmp, 'nbest');
  mkdirSync(nbestDir);
  let t = performance.now();
  pocketsphinx([
    ...['-lm', join(voiceDir, 'grammar.lm'), '-fwdflat', 'no', '-ctl', join(tmp, 'ctl')],
    ...['-nbest', String(nBest), '-nbestdir', nbestDir, '-hypseg', join(tmp, 'pass1')],
  ]);
  const pass1Seconds = (performance.now() - t) / 1000;
  // The phone loop, for the rejection score a grammar decode gets (pocketsphinx.ts confidenceFromScores).
  pocketsphinx(
    ['-jsgf', join(voiceDir, 'loop.jsgf'), '-ctl', join(tmp, 'ctl'), '-hypseg', join(tmp, 'loop')],
    join(voiceDir, 'loop.dict'),
  );
  const loop = hypsegs(join(tmp, 'loop'));
  const pass1 = hypsegs(join(tmp, 'pass1'));
  const nbest = new Map<string, string[][]>();
  for (const f of readdirSync(nbestDir)) {
    // Lines: "<s> words </s> score".
    const list = readFileSync(join(nbestDir, f), 'utf8')
      .split('\n')
      .map((l) =>
        hypothesisWords(
          l
            .replace(/\s-?\d+\s*$/, '')
            .trim()
            .split(/\s+/)
            .filter(Boolean),
        ),
      )
      .filter((w) => w.length > 0);
    // The lattice's N-best is scored apart from the search's own best path: that comes first.
    const id = f.replace(/\.hyp$/, '');
    nbest.set(id, [hypothesisWords(pass1.get(id)?.words ?? []), ...list]);
  }

  const oneBest = (c: Clip) => asSentence(hypothesisWords(pass1.get(c.id)?.words ?? []))?.join(' ') ?? '';
  const shippedConfident = (c: Clip) => {
    const seg = pass1.get(c.id);
    return seg !== undefined && coverageConfidence(seg, c.speechFrames).confidence >= MIN_CONFIDENCE;
  };
  for (const snr of SNRS) {
    const cs = clips.filter((c) => c.snr === snr && !c.oos);
    const os = clips.filter((c) => c.snr === snr && c.oos);
    rows.push({
      method: 'trigram 1-best (shipped)',
      exactConfident: cs.filter((c) => oneBest(c) === c.text && shippedConfident(c)).length,
      oosConfident: os.filter((c) => oneBest(c) !== '' && shippedConfident(c)).length,
      snr,
      exact: cs.filter((c) => oneBest(c) === c.text).length,
      clips: cs.length,
      oosGrammarSentence: os.filter((c) => oneBest(c) !== '').length,
      oosClips: os.length,
      seconds: +pass1Seconds.toFixed(1),
    });
    rows.push({
      method: `trigram ${nBest}-best contains`,
      snr,
      exact: cs.filter((c) => (nbest.get(c.id) ?? []).some((h) => asSentence(h)?.join(' ') === c.text))
        .length,
      clips: cs.length,
      oosGrammarSentence: os.filter((c) => (nbest.get(c.id) ?? []).some((h) => asSentence(h))).length,
      oosClips: os.length,
    });
  }

  // Pass 2 for each cap: per-utterance FSG of the candidates.
  for (const cap of caps) {
    const fsgDir = join(tmp, `fsg${cap}`);
    mkdirSync(fsgDir);
    const withList: Clip[] = [];
    const lists = new Map<string, string[][]>();
    const generateMs: number[] = [];
    for (const c of clips) {
      const began = performance.now();
      const list = candidates(nbest.get(c.id) ?? [], cap);
      generateMs.push(performance.now() - began);
      lists.set(c.id, list);
      if (list.length === 0) continue;
      writeFileSync(join(fsgDir, `${c.id}.fsg`), sentencesFsg(`cand_${c.id}`, list));
      withList.push(c);
    }
    writeFileSync(join(tmp, `ctl${cap}`), `${withList.map((c) => c.id).join('\n')}\n`);
    writeFileSync(
      join(tmp, `fsgctl${cap}`),
      `${withList.map((c) => join(fsgDir, `${c.id}.fsg`)).join('\n')}\n`,
    );
    t = performance.now();
    pocketsphinx([
      ...['-ctl', join(tmp, `ctl${cap}`), '-fsgctl', join(tmp, `fsgctl${cap}`)],
      ...['-hypseg', join(tmp, `pass2_${cap}`)],
    ]);
    const seconds = (performance.now() - t) / 1000;
    const pass2 = hypsegs(join(tmp, `pass2_${cap}`));
    const heard = (c: Clip) => hypothesisWords(pass2.get(c.id)?.words ?? []).join(' ');
    const confident = (c: Clip) => {
      const seg = pass2.get(c.id);
      return seg !== undefined && confidenceFromScores(seg, loop.get(c.id)).confidence >= MIN_CONFIDENCE;
    };
    for (const snr of SNRS) {
      const cs = clips.filter((c) => c.snr === snr && !c.oos);
      const os = clips.filter((c) => c.snr === snr && c.oos);
      const sizes = cs.map((c) => lists.get(c.id)!.length).sort((a, b) => a - b);
      rows.push({
        method: `pass 2, cap ${cap}`,
        snr,
        exact: cs.filter((c) => heard(c) === c.text).length,
        clips: cs.length,
        oracle: cs.filter((c) => lists.get(c.id)!.some((s) => s.join(' ') === c.text)).length,
        oosGrammarSentence: os.filter((c) => heard(c) !== '').length,
        oosClips: os.length,
        exactConfident: cs.filter((c) => heard(c) === c.text && confident(c)).length,
        oosConfident: os.filter((c) => heard(c) !== '' && confident(c)).length,
        // Gate: pass 2 only corrects what the shipped path accepts (1-best a grammar sentence, coverage).
        exactGated: cs.filter((c) => heard(c) === c.text && oneBest(c) !== '' && shippedConfident(c)).length,
        oosGated: os.filter((c) => heard(c) !== '' && oneBest(c) !== '' && shippedConfident(c)).length,
        // Optimistic bound (threshold chosen on these very clips): the per-frame score threshold at which
        // at most 10 % of out-of-scope clips pass, and the exact recognitions that still pass it.
        ...bestThreshold(cs, os, heard, (c) => {
          const seg = pass2.get(c.id);
          return seg ? confidenceFromScores(seg, loop.get(c.id)).perFrame : Number.NEGATIVE_INFINITY;
        }),
        listP50: sizes[Math.floor(sizes.length / 2)] ?? 0,
        seconds: +seconds.toFixed(1),
        msPerClip: +((1000 * seconds) / withList.length).toFixed(0),
        generateP50Ms: +[...generateMs].sort((a, b) => a - b)[Math.floor(generateMs.length / 2)]!.toFixed(0),
        generateP95Ms: +[...generateMs]
          .sort((a, b) => a - b)
          [Math.floor(generateMs.length * 0.95)]!.toFixed(0),
      });
    }
    for (const c of clips.filter((c) => !c.oos && heard(c) !== c.text && c.snr === 20))
      console.log(
        `cap ${cap} miss: "${c.text}" → "${heard(c)}" (1-best "${oneBest(c)}") nbest: ${(
          nbest.get(c.id) ?? []
        )
          .slice(0, 4)
          .map((h) => h.join(' '))
          .join(' / ')} list ${lists.get(c.id)!.length}`,
      );
  }
} finally {
  speech.close();
  rmSync(tmp, { recursive: true, force: true });
}

writeResult('voice-nbest', rows, {
  loadAverage: loadavg().map((l) => +l.toFixed(2)),
  cores: cpus().length,
  heldOutCommands: heldOut.length,
  heldOutOutOfScope: oosHeldOut.length,
  nBest,
  note: 'exact = decoded word string equals the spoken sentence; oracle = right sentence among the candidates; oosGrammarSentence = out-of-scope clips that still yield a grammar sentence (before confidence/contrast); seconds under load, nice 10',
});
