import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decoderSchema } from '../../agent/ingress/voice/decoder.ts';
import { VoiceEngine } from '../../agent/ingress/voice/engine.ts';
import { latticeSentences, parseHtkLattice } from '../../agent/ingress/voice/lattice.ts';
import { DEFAULT_HMM } from '../../agent/ingress/voice/pocketsphinx.ts';
import { encodeWav } from '../../agent/ingress/voice/wav.ts';
import { ruleDfa } from '../../models/factory/voice/fsg.ts';
import { ArpaTrigram, buildArpa, parseJsgfRules } from '../../models/factory/voice/ngram.ts';
import { buildFixtureGrammar, paddedSpeech, speech, trigramCopy, withSilence } from '../helpers/speech.ts';

const grammar = `#JSGF V1.0;
grammar t;
<room> = kitchen | bedroom;
public <command> = turn (on | off) the <room> light;
`;
const { rules, root } = parseJsgfRules(grammar);
const dfa = ruleDfa(rules, root);
const vocabulary = ['turn', 'on', 'off', 'of', 'the', 'kitchen', 'bedroom', 'light'];
const lm = new ArpaTrigram(
  buildArpa(
    [
      ['turn', 'on', 'the', 'kitchen', 'light'],
      ['turn', 'off', 'the', 'bedroom', 'light'],
    ],
    vocabulary,
  ),
);

/**
 * A hand-made lattice in pocketsphinx's HTK layout: "turn {on, off, of} the {kitchen, bedroom} light", with a
 * silence (!NULL) node before the end. "of" fits the audio best but is no grammar word; then "on", then "off".
 */
function lattice(links = true): string {
  const nodes = [
    '!SENT_START',
    'turn',
    'on',
    'off',
    'of',
    'the',
    'kitchen',
    'bedroom',
    'light',
    '!NULL',
    '!SENT_END',
  ];
  const arcs: [number, number, number][] = [
    [0, 1, -10],
    [1, 2, -20],
    [1, 3, -24],
    [1, 4, -5],
    [2, 5, -10],
    [3, 5, -10],
    [4, 5, -10],
    [5, 6, -10],
    [5, 7, -30],
    [6, 8, -10],
    [7, 8, -10],
    [8, 9, -3],
    [9, 10, -1],
  ];
  const shown = links ? arcs : arcs.slice(0, -1);
  return [
    'VERSION=1.0',
    'start=0',
    'end=10',
    `N=${nodes.length}\tL=${arcs.length}`,
    ...nodes.map((w, i) => `I=${i}\tt=${(i / 10).toFixed(2)}\tW=${w}\tv=1`),
    ...shown.map(([s, e, a], j) => `J=${j}\tS=${s}\tE=${e}\ta=${a}\tp=0.5`),
  ].join('\n');
}

test('an HTK lattice is read with its words, links and ends; a lattice cut short is not', () => {
  const l = parseHtkLattice(lattice());
  assert.ok(l);
  assert.equal(l.start, 0);
  assert.equal(l.end, 10);
  assert.equal(l.words[1], 'turn');
  // Sentence boundaries and silence are no words.
  assert.equal(l.words[0], null);
  assert.equal(l.words[9], null);
  assert.deepEqual(l.links[1]!.map((x) => x.to).sort(), [2, 3, 4]);
  // Being written when read: fewer links than the header promises.
  assert.equal(parseHtkLattice(lattice(false)), undefined);
  assert.equal(parseHtkLattice('not a lattice'), undefined);
});

test('the lattice gives its grammar sentences best first, never a path the grammar cannot say', () => {
  const l = parseHtkLattice(lattice())!;
  const best = latticeSentences(l, dfa, lm, 10, 0).map((s) => s.join(' '));
  // Acoustics alone (weight 0): "of" is best but not grammar; "on" beats "off", "kitchen" beats "bedroom".
  assert.deepEqual(best, [
    'turn on the kitchen light',
    'turn off the kitchen light',
    'turn on the bedroom light',
    'turn off the bedroom light',
  ]);
  assert.deepEqual(
    latticeSentences(l, dfa, lm, 2, 0).map((s) => s.join(' ')),
    best.slice(0, 2),
  );
  // The language model weighs in: "turn off the bedroom light" was seen, "turn off the kitchen light" not.
  const weighted = latticeSentences(l, dfa, lm, 10, 20).map((s) => s.join(' '));
  assert.ok(
    weighted.indexOf('turn off the bedroom light') < weighted.indexOf('turn off the kitchen light'),
    weighted.join(' / '),
  );
});

test('the trigram model read back from ARPA is a distribution after every history', () => {
  for (const [w1, w2] of [
    ['<s>', '<s>'],
    ['<s>', 'turn'],
    ['turn', 'on'],
    ['kitchen', 'light'],
    ['of', 'bedroom'],
  ] as const) {
    const total = [...vocabulary, '</s>'].reduce((sum, w) => sum + Math.exp(lm.logProb(w1, w2, w)), 0);
    assert.ok(Math.abs(total - 1) < 0.01, `${w1} ${w2}: ${total}`);
  }
  assert.ok(lm.logProb('turn', 'on', 'the') > lm.logProb('turn', 'on', 'kitchen'));
  assert.throws(() => new ArpaTrigram('hello'), /no 1-grams/);
});

// Real decoder output: espeak-ng speech decoded by pocketsphinx_batch with the fixture grammar's trigram model.
let grammarDir: string;
let work: string;
before(async () => {
  grammarDir = trigramCopy(await buildFixtureGrammar());
  work = mkdtempSync(join(tmpdir(), 'sling-lattice-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

test("pocketsphinx's own lattice of a spoken command spells it as a grammar sentence", async () => {
  const samples = await paddedSpeech('switch off the bedroom light');
  writeFileSync(join(work, 'u1.wav'), encodeWav(samples, 16000));
  writeFileSync(join(work, 'ctl'), 'u1\n');
  execFileSync('pocketsphinx_batch', [
    ...[
      '-hmm',
      DEFAULT_HMM,
      '-lm',
      join(grammarDir, 'grammar.lm'),
      '-dict',
      join(grammarDir, 'grammar.dict'),
    ],
    ...['-adcin', 'yes', '-cepdir', work, '-cepext', '.wav', '-ctl', join(work, 'ctl'), '-fwdflat', 'no'],
    ...['-outlatdir', work, '-outlatfmt', 'htk', '-hypseg', join(work, 'hyp'), '-logfn', '/dev/null'],
  ]);
  const l = parseHtkLattice(readFileSync(join(work, 'u1.lat'), 'utf8'));
  assert.ok(l, 'lattice parsed');
  const jsgf = parseJsgfRules(readFileSync(join(grammarDir, 'grammar.jsgf'), 'utf8'));
  const model = new ArpaTrigram(readFileSync(join(grammarDir, 'grammar.lm'), 'utf8'));
  const sentences = latticeSentences(l, ruleDfa(jsgf.rules, jsgf.root), model, 10, 12).map((s) =>
    s.join(' '),
  );
  assert.equal(sentences[0], 'switch off the bedroom light', sentences.join(' / '));
  assert.ok(sentences.length > 1, 'rivals too');
});

test('the recogniser takes lattice sentences into its second pass when told to, and only then (off by default)', async () => {
  const told = await VoiceEngine.open({
    grammarDir,
    minConfidence: 0.5,
    decoder: decoderSchema.parse({ secondPass: { rescoreSentences: true, lattice: 'always' } }),
  });
  // `enrolled` uses lattices only with an enrolled acoustic model; this one is Debian's.
  const debian = await VoiceEngine.open({
    grammarDir,
    minConfidence: 0.5,
    decoder: decoderSchema.parse({ secondPass: { rescoreSentences: true, lattice: 'enrolled' } }),
  });
  try {
    const command = await speech('turn on the kitchen light');
    const audio = withSilence([command.samples], command.sampleRate);
    const [heard] = await told.listenFile(audio);
    assert.equal(heard?.recognition.text, 'turn on the kitchen light');
    assert.ok(heard?.recognition.accepted, heard?.recognition.reason);
    assert.ok(
      Number(heard?.recognition.detail?.latticeSentences) >= 1,
      JSON.stringify(heard?.recognition.detail),
    );
    assert.equal(decoderSchema.parse({}).secondPass.lattice, 'off');
    const [plain] = await debian.listenFile(audio);
    assert.equal(plain?.recognition.text, 'turn on the kitchen light');
    assert.equal(plain?.recognition.detail?.latticeSentences, undefined);
  } finally {
    await told.close();
    await debian.close();
  }
});
