import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  defaultCalibration,
  differingFrames,
  parseHypSeg,
  requiredContrastMargin,
} from '../../agent/ingress/voice/pocketsphinx.ts';
import { NearSentences } from '../../agent/ingress/voice/second-pass.ts';
import { typedForm } from '../../agent/ingress/voice/typed-form.ts';
import { fromProjectRoot } from '../../agent/paths.ts';
import { dfaAccepts, nearSentences, ruleDfa } from '../../models/factory/voice/fsg.ts';
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
  const s = { wordsPerEdit: 4, maxEdits: 1, maxCandidates: 100, maxRivalMargin: 30 };
  assert.equal(NearSentences.edits(3, s), 0);
  assert.equal(NearSentences.edits(4, s), 1);
  assert.equal(NearSentences.edits(12, s), 1);
  assert.equal(NearSentences.edits(8, { ...s, maxEdits: 2 }), 2);
  assert.deepEqual(near.candidates(w('go back two'), s), []);
  assert.deepEqual(
    near.candidates(w('go back too meters'), s).map((c) => c.join(' ')),
    ['go back one meters', 'go back two meters', 'go back three meters'],
  );
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
