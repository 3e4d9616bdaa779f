import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  defaultCalibration,
  differingFrames,
  parseHypSeg,
  requiredContrastMargin,
} from '../../agent/ingress/voice/pocketsphinx.ts';
import {
  guessedContrast,
  NearSentences,
  type SecondPassSettings,
} from '../../agent/ingress/voice/second-pass.ts';
import { typedForm } from '../../agent/ingress/voice/typed-form.ts';
import { fromProjectRoot } from '../../agent/paths.ts';
import {
  dfaAccepts,
  dfaFsg,
  nearSentences,
  nearSentencesByPhones,
  ruleDfa,
  sentencesDfa,
} from '../../models/factory/voice/fsg.ts';
import { grammarAccepts, parseJsgfRules, sampleSentence } from '../../models/factory/voice/ngram.ts';

const grammar = `#JSGF V1.0;
grammar t;
<room> = kitchen | living room | bedroom;
<light> = (turn | switch) (on | off) the <room> light [please];
<move> = [please] (go | drive) (forward | back) <n> meters;
<n> = one | two | three;
<one> = <light> | <move>;
public <command> = <one> [ (then | and then) <one> ];
`;
const { rules, root } = parseJsgfRules(grammar);
const w = (s: string) => s.split(' ');
/** Second-pass settings of the tests: one edit per 4 heard words, word edits only. */
const settings: SecondPassSettings = {
  wordsPerEdit: 4,
  maxEdits: 1,
  maxCandidates: 100,
  maxRivalMargin: 30,
  phoneEditShare: 0,
  lattice: 'off',
};

test('the word automaton accepts exactly the grammar sentences, and is minimal', () => {
  const dfa = ruleDfa(rules, root);
  for (const s of [
    'turn on the kitchen light',
    'switch off the living room light please',
    'go back two meters then turn on the bedroom light',
    'please drive forward three meters and then go back one meters',
  ])
    assert.ok(dfaAccepts(dfa, w(s)), s);
  for (const s of [
    'turn on the kitchen',
    'turn on the light',
    'go back two meters then',
    'please please go forward one meters',
    '',
  ])
    assert.ok(!dfaAccepts(dfa, s ? w(s) : []), s);
  // "turn on" and "switch off" lead to the same future: shared, so the light sentences need few states.
  const light = ruleDfa(rules, 'light');
  assert.ok(light.final.length <= 8, `light rule: ${light.final.length} states`);
});

test('the automaton agrees with the grammar matcher on sampled sentences of the default world', () => {
  const jsgf = parseJsgfRules(readFileSync(fromProjectRoot('models/default/voice/grammar.jsgf'), 'utf8'));
  const dfa = ruleDfa(jsgf.rules, 'intent_light_on');
  let seed = 3;
  const rng = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  for (let i = 0; i < 200; i++) {
    const sentence = sampleSentence(jsgf.rules, 'intent_light_on', rng);
    assert.ok(dfaAccepts(dfa, sentence), sentence.join(' '));
    // A word swapped for one the rule never says is not a sentence of it.
    const broken = [...sentence];
    broken[Math.floor(rng() * broken.length)] = 'gripper';
    assert.equal(dfaAccepts(dfa, broken), grammarAccepts(jsgf.rules, 'intent_light_on', broken));
  }
});

test('near sentences: within the edit budget, closest first, capped', () => {
  const dfa = ruleDfa(rules, root);
  const near = nearSentences(dfa, w('turn on the kitchen lights'), 1, 10);
  assert.deepEqual(near[0], { words: w('turn on the kitchen light'), distance: 1 });
  assert.ok(near.every((n) => n.distance <= 1));
  assert.deepEqual(
    nearSentences(dfa, w('turn on the kitchen light'), 1, 100)
      .map((n) => n.words.join(' '))
      .sort(),
    [
      'switch on the kitchen light',
      'turn off the kitchen light',
      'turn on the bedroom light',
      'turn on the kitchen light',
      'turn on the kitchen light please',
    ],
  );
  assert.equal(nearSentences(dfa, w('turn on the kitchen light'), 1, 2).length, 2);
  assert.equal(nearSentences(dfa, w('tell me a joke'), 1, 10).length, 0);
  // A multi-word slot value is two edits from another.
  assert.ok(
    !nearSentences(dfa, w('turn on the living room light'), 1, 100).some((n) => n.words.includes('kitchen')),
  );
});

test('the second pass edits only hypotheses long enough to keep most of their words', () => {
  const near = new NearSentences(rules, root);
  const s = settings;
  assert.equal(NearSentences.edits(3, s), 0);
  assert.equal(NearSentences.edits(4, s), 1);
  assert.equal(NearSentences.edits(12, s), 1);
  assert.equal(NearSentences.edits(8, { ...s, maxEdits: 2 }), 2);
  assert.deepEqual(near.candidates(w('go back two'), s), []);
  assert.deepEqual(
    near.candidates(w('go back too meters'), s).map((c) => c.words.join(' ')),
    ['go back one meters', 'go back two meters', 'go back three meters'],
  );
});

// A few CMUdict pronunciations: enough for the test grammar's words (a list of pairs: "then" is one).
const PHONES: [string, string][] = Object.entries({
  turn: 'T ER N',
  switch: 'S W IH CH',
  on: 'AA N',
  off: 'AO F',
  the: 'DH AH',
  kitchen: 'K IH CH AH N',
  living: 'L IH V IH NG',
  room: 'R UW M',
  bedroom: 'B EH D R UW M',
  light: 'L AY T',
  please: 'P L IY Z',
  go: 'G OW',
  drive: 'D R AY V',
  forward: 'F AO R W ER D',
  back: 'B AE K',
  one: 'W AH N',
  two: 'T UW',
  three: 'TH R IY',
  meters: 'M IY T ER Z',
  and: 'AH N D',
  brighten: 'B R AY T AH N',
  to: 'T UW',
  tell: 'T EH L',
  me: 'M IY',
  a: 'AH',
  joke: 'JH OW K',
  bag: 'B AE G',
  lights: 'L AY T S',
});
PHONES.push(['then', 'DH EH N']);
const pronunciations = new Map(PHONES.map(([k, v]) => [k, v.split(' ')]));
const phonesOf = (s: string) => w(s).flatMap((x) => pronunciations.get(x)!);

test('sentences that sound close: within the phone edit budget, closest first, capped', () => {
  const dfa = ruleDfa(rules, root);
  const sounds = (x: string) => pronunciations.get(x);
  // "drive back" misheard as "brighten back": three word edits away from nothing, two phones from "drive".
  const near = nearSentencesByPhones(dfa, sounds, phonesOf('brighten back two meters'), 4, 10);
  assert.deepEqual(near[0]?.words, w('drive back two meters'));
  assert.ok(near.every((n, i) => n.distance <= 4 && (i === 0 || near[i - 1]!.distance <= n.distance)));
  assert.equal(nearSentencesByPhones(dfa, sounds, phonesOf('tell me a joke'), 3, 10).length, 0);
  assert.equal(nearSentencesByPhones(dfa, sounds, phonesOf('turn on the kitchen light'), 6, 3).length, 3);
  // The work bound cuts the walk short but still returns the exact sentence found at distance 0.
  assert.deepEqual(
    nearSentencesByPhones(dfa, sounds, phonesOf('turn on the kitchen light'), 6, 100, 200)[0],
    { words: w('turn on the kitchen light'), distance: 0 },
  );
});

test('second-pass candidates: word edits first, then sentences found only by their phones', () => {
  const near = new NearSentences(rules, root, pronunciations);
  const s = { ...settings, phoneEditShare: 0.25 };
  // "back two" heard as "bag to": two words changed, one phone.
  const misheard = near.candidates(w('go bag to meters'), s);
  assert.deepEqual(
    misheard.map((c) => [c.words.join(' '), c.soundsOnly]),
    [['go back two meters', true]],
  );
  // Word-edit neighbours come first and are not marked.
  const edited = near.candidates(w('turn on the kitchen lights'), s);
  assert.deepEqual(edited[0], { words: w('turn on the kitchen light'), soundsOnly: false });
  const firstBySound = edited.findIndex((c) => c.soundsOnly);
  assert.ok(firstBySound > edited.findLastIndex((c) => !c.soundsOnly), JSON.stringify(edited));
  // Short hypotheses get no second pass, by words or by sounds.
  assert.deepEqual(near.candidates(w('brighten back'), s), []);
  // Without pronunciations only word edits count.
  assert.deepEqual(new NearSentences(rules, root).candidates(w('go bag to meters'), s), []);
});

test('second-pass candidates: the lattice sentences come last, marked, also for short hypotheses', () => {
  const near = new NearSentences(rules, root);
  const s = { ...settings, maxCandidates: 3, lattice: 'always' as const };
  const fromLattice = ['turn on the kitchen light', 'switch off the bedroom light', 'go back two meters'].map(
    w,
  );
  // Too short for a word edit: only the lattice's sentences.
  assert.deepEqual(
    near.candidates(w('brighten back'), s, fromLattice).map((c) => [c.words.join(' '), c.latticeOnly]),
    fromLattice.map((f) => [f.join(' '), true]),
  );
  // A sentence that is also a word edit is not marked; the list stops at maxCandidates.
  assert.deepEqual(
    near
      .candidates(w('turn on the kitchen lights'), s, fromLattice)
      .map((c) => [c.words.join(' '), c.latticeOnly]),
    [
      ['turn on the kitchen light', undefined],
      ['switch off the bedroom light', true],
      ['go back two meters', true],
    ],
  );
  assert.equal(
    near.candidates(w('turn on the kitchen lights'), { ...s, maxCandidates: 2 }, fromLattice).length,
    2,
  );
});

test('a sentence list as one minimal automaton: the same sentences, each equally likely', () => {
  const list = ['go to the kitchen', 'go to the bedroom', 'come to the kitchen', 'go'].map(w);
  const dfa = sentencesDfa(list);
  for (const s of list) assert.ok(dfaAccepts(dfa, s));
  assert.ok(!dfaAccepts(dfa, w('go to')) && !dfaAccepts(dfa, w('come to the bedroom')));
  const fsg = dfaFsg('t', dfa);
  assert.match(fsg, /^FSG_BEGIN t\nNUM_STATES \d+\nSTART_STATE 0\nFINAL_STATE \d+\n/);
  // Probability of each sentence = product of its arcs' probabilities.
  const arcs = [...fsg.matchAll(/TRANSITION (\d+) (\d+) ([\d.]+)(?: (\S+))?/g)].map((m) => ({
    from: Number(m[1]),
    to: Number(m[2]),
    p: Number(m[3]),
    word: m[4],
  }));
  const final = Number(/FINAL_STATE (\d+)/.exec(fsg)![1]);
  for (const s of list) {
    let state = 0;
    let p = 1;
    for (const word of s) {
      const arc = arcs.find((a) => a.from === state && a.word === word)!;
      p *= arc.p;
      state = arc.to;
    }
    p *= arcs.find((a) => a.from === state && a.to === final && a.word === undefined)!.p;
    assert.ok(Math.abs(p - 1 / list.length) < 1e-4, `${s.join(' ')}: ${p}`);
  }
  // Shared words: fewer word arcs than the list has words.
  assert.ok(arcs.filter((a) => a.word).length < list.flat().length);
});

test('differing frames: the frames of the aligned words that the other word string lacks', () => {
  const seg = parseHypSeg(
    'u1 S 0 T -900 A -800 L -100 0 -10 0 <sil> 10 -200 0 turn 30 -100 0 on(2) 40 -300 0 kitchen 80 -50 0 light 100 -10 0 <sil> 120',
  )!;
  assert.equal(differingFrames(seg, w('turn on kitchen light')), 0);
  assert.equal(differingFrames(seg, w('turn off kitchen light')), 10); // "on", frames 30-40
  assert.equal(differingFrames(seg, w('turn on bedroom light')), 40);
  assert.equal(differingFrames(seg, w('turn on kitchen')), 20); // "light", up to the final silence
});

test('heard decimals reach the parser as digits, whole numbers as words', () => {
  assert.equal(typedForm('move forward one point five meters'), 'move forward 1.5 meters');
  assert.equal(typedForm('speed zero point four meters per second'), 'speed 0.4 meters per second');
  assert.equal(typedForm('go one hundred and two point five meters'), 'go 102.5 meters');
  assert.equal(typedForm('drive forward two meters and turn left'), 'drive forward two meters and turn left');
  assert.equal(typedForm('the point is moot'), 'the point is moot');
  assert.equal(typedForm('point five meters'), 'point five meters');
  assert.equal(typedForm('speed zero point four m slash s'), 'speed 0.4 meters per second');
  assert.equal(typedForm('drive back thirty c m'), 'drive back thirty centimeters');
  assert.equal(typedForm('set it to twenty degrees c'), 'set it to twenty degrees celsius');
  assert.equal(typedForm('the c m key'), 'the c m key');
});

test('the contrast margin a heard sentence needs depends on the word heard where its rival differs', () => {
  const c = { ...defaultCalibration, contrastMargin: 500, contrastMarginByWord: { on: 430, off: 0 } };
  assert.equal(requiredContrastMargin(w('turn on the light'), w('turn off the light'), c), 430);
  assert.equal(requiredContrastMargin(w('turn off the light'), w('turn on the light'), c), 0);
  assert.equal(requiredContrastMargin(w('go to the kitchen'), w('go to the bedroom'), c), 500);
});

test('a word string is near the grammar when one edit makes it a sentence', () => {
  const near = new NearSentences(rules, root);
  assert.ok(near.nearGrammar(w('flip off the kitchen light')));
  assert.ok(near.nearGrammar(w('turn off the kitchen light')));
  assert.ok(!near.nearGrammar(w('flip off the kitchen lamp')));
});

test('a rule that refers to itself is refused with its name (not a finite-state grammar)', () => {
  const loop = parseJsgfRules('#JSGF V1.0;\ngrammar t;\n<a> = go [<a>];\npublic <s> = <a>;\n');
  assert.throws(() => ruleDfa(loop.rules, loop.root), /rule <a> refers to itself/);
});

test('a second-pass edit may not bring in a direction, room or on/off the first pass did not hear', () => {
  const contrasts = JSON.parse(readFileSync(fromProjectRoot('models/default/voice/voice.json'), 'utf8'))
    .contrasts as Record<string, string[]>;
  const words = (s: string) => s.split(' ');
  // measured with an enrolled model: "drive at full speed" became a 1 m reverse move
  assert.deepEqual(guessedContrast(words('drive at full speed'), words('drive back full speed'), contrasts), {
    word: 'back',
  });
  assert.deepEqual(
    guessedContrast(words('turn the lights in the'), words('turn on the lights in the kitchen'), contrasts),
    { word: 'on' },
  );
  assert.deepEqual(
    guessedContrast(words('turn on the kitchen lights'), words('turn off the kitchen lights'), contrasts),
    { word: 'off', replaced: 'on' },
    'a heard rival replaced: a close call that may be asked back',
  );
  assert.deepEqual(guessedContrast(words('go to the kitchen'), words('go to the bedroom'), contrasts), {
    word: 'bedroom',
    replaced: 'kitchen',
  });
  // a spelling of a heard word, or an edit elsewhere, is no guess
  assert.equal(
    guessedContrast(words('move forwards two meters'), words('move forward two meters'), contrasts),
    undefined,
  );
  assert.equal(
    guessedContrast(
      words('dim the kitchen light to thirty per cent'),
      words('dim the kitchen light to thirty percent'),
      contrasts,
    ),
    undefined,
  );
  assert.equal(
    guessedContrast(words('please drive forward to meters'), words('drive forward two meters'), contrasts),
    undefined,
  );
});
