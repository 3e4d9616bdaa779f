import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { contrastVariants, sentencesFsg } from '../../agent/ingress/voice/contrast.ts';
import {
  confidenceFromScores,
  coverageConfidence,
  hypothesisWords,
  parseHypSeg,
} from '../../agent/ingress/voice/pocketsphinx.ts';
import { ClauseEnds, continuing } from '../../models/factory/voice/clauses.ts';
import { contrastTable } from '../../models/factory/voice/contrasts.ts';
import { buildDictionary, ipaToArpabet } from '../../models/factory/voice/dictionary.ts';
import { buildJsgf, spokenVariants, spokenWords, templateToJsgf } from '../../models/factory/voice/jsgf.ts';
import {
  grammarAccepts,
  inlinedSize,
  languageModel,
  longestGrammarSpan,
  parseJsgfRules,
} from '../../models/factory/voice/ngram.ts';
import { numberToWords, wordsToNumbers } from '../../models/factory/voice/numbers.ts';
import { commandLeads, readVoiceSpec } from '../../models/factory/voice/spec.ts';
import { buildFixtureGrammar, voiceFixtureSpec } from '../helpers/speech.ts';

const slot = (t: string) => `<slot_${t}>`;

test('template syntax becomes JSGF: alternatives, optionals, slots, glued suffixes, annotated spans', () => {
  assert.equal(
    templateToJsgf('(drive|move) [the robot] {direction}', slot),
    '( drive | move ) [ the robot ] <slot_direction>',
  );
  assert.equal(
    templateToJsgf('turn on the {room:from_room} light[s]', slot),
    'turn on the <slot_room> ( light | lights )',
  );
  assert.equal(
    templateToJsgf('drive [two meters](distance) please!', slot),
    'drive (two meters | <slot_distance>) please',
  );
  assert.equal(templateToJsgf('set it to 30%', slot), 'set it to thirty percent');
  assert.throws(() => templateToJsgf('(drive|move [the robot]', slot), /unclosed/);
});

test('numbers are spoken words and come back as digits', () => {
  assert.equal(numberToWords('30'), 'thirty');
  assert.equal(numberToWords('2.5'), 'two point five');
  assert.equal(numberToWords('115'), 'one hundred fifteen');
  assert.deepEqual(spokenWords('Dim to 30 %'), ['dim', 'to', 'thirty', 'percent']);
  assert.equal(wordsToNumbers('dim to thirty five percent'), 'dim to 35 percent');
  assert.equal(wordsToNumbers('drive two point five meters'), 'drive 2.5 meters');
  assert.equal(wordsToNumbers('one hundred and five degrees'), '105 degrees');
  assert.equal(wordsToNumbers('two three'), '2 3');
});

test('the grammar covers every intent, connects two commands, and numeric samples use the number rule', () => {
  const g = buildJsgf({
    slots: { room: ['kitchen', 'living room', 'room 2'], pct: ['30 percent', '5 %', 'half', 'fifty'] },
    intents: { 'light.dim': ['dim the {room} light to {pct}'], stop: ['stop'] },
    numericSlots: ['pct'],
  });
  assert.match(g.jsgf, /<intent_light_dim> = \( dim the <slot_room> light to <slot_pct> \);/);
  assert.match(g.jsgf, /<slot_pct> = \( half \) \| \( <number> \[ \( percent \) \] \);/);
  assert.match(
    g.jsgf,
    /<slot_room> = \( kitchen \) \| \( living room \) \| \( room two \);/,
    'list values stay literal',
  );
  assert.match(g.jsgf, /public <command> = <one> \[ \( then \| and then \| and \) <one> \];/);
  assert.ok(g.words.includes('ninety') && g.words.includes('living') && !g.words.includes('<number>'));
  assert.throws(
    () => buildJsgf({ slots: {}, intents: { x: ['go {nowhere}'] } }),
    /intent x: unknown slot type "nowhere"/,
  );
});

test('the dictionary takes CMUdict pronunciations and guesses the rest with espeak-ng', async () => {
  assert.equal(ipaToArpabet('slˈɪŋ'), 'S L IH NG');
  assert.equal(ipaToArpabet('θˈɜːməstˌæt'), 'TH ER M AH S T AE T');
  const d = await buildDictionary(['kitchen', 'zigbee', 'the']);
  assert.deepEqual(d.guessed, ['zigbee']);
  assert.match(d.text, /^kitchen K IH CH AH N$/m);
  assert.match(d.text, /^the\(2\) DH IY$/m);
  assert.match(d.text, /^zigbee Z IH G B IY$/m);
});

test('the model build writes grammar, dictionary, phone loop and a manifest', async () => {
  const dir = await buildFixtureGrammar();
  const manifest = JSON.parse(readFileSync(join(dir, 'voice.json'), 'utf8'));
  assert.equal(manifest.intents, 5);
  const dict = readFileSync(join(dir, 'grammar.dict'), 'utf8');
  for (const word of readFileSync(join(dir, 'grammar.jsgf'), 'utf8').match(/\blounge\b|\bbedroom\b/g) ?? []) {
    assert.match(dict, new RegExp(`^${word} `, 'm'));
  }
  assert.match(readFileSync(join(dir, 'loop.dict'), 'utf8'), /^ph_zh ZH$/m);
});

test('hypseg lines parse; fillers are dropped; confidence needs score and coverage', () => {
  const g = parseHypSeg(
    'u1 S 0 T -4434 A -4000 L -337 0 -1074 0 <sil> 20 -505 0 turn 40 -489 0 on 60 -1140 0 the(2) 80 -586 0 (NULL) 100',
  );
  assert.ok(g);
  assert.deepEqual(hypothesisWords(g.words), ['turn', 'on', 'the']);
  assert.equal(g.frames, 100);
  const loop = parseHypSeg('u1 S 0 T 0 A -4500 L 0 0 0 0 <sil> 38 0 0 ph_t 98 0 0 <sil> 100');
  assert.ok(loop);
  const good = confidenceFromScores(g, loop);
  assert.ok(good.confidence > 0.9, `coverage ${good.coverage}, per frame ${good.perFrame}`);
  const poorScore = confidenceFromScores({ ...g, acoustic: -6000 }, loop);
  assert.ok(poorScore.confidence < 0.1, 'grammar 15/frame worse than the phone loop');
  const shortWord = parseHypSeg('u1 S 0 T 0 A -4000 L 0 0 0 0 <sil> 60 0 0 stop 80 0 0 <sil> 100');
  assert.ok(
    confidenceFromScores(shortWord!, loop).confidence < 0.1,
    '"stop" explains a quarter of the speech',
  );
  assert.equal(parseHypSeg('garbage'), undefined);
  // Against the VAD's speech span instead of a phone loop: words over 60 of 80 speech frames pass, 20 do not.
  assert.ok(coverageConfidence(g, 80).confidence > 0.9);
  assert.ok(coverageConfidence(shortWord!, 80).confidence < 0.1);
});

test('the trigram model is valid ARPA over the grammar sentences; the matcher accepts exactly the grammar', () => {
  const g = buildJsgf({
    slots: { room: ['kitchen', 'living room'] },
    intents: { on: ['turn on the {room} light[s]'], stop: ['stop [the robot]'] },
  });
  const arpa = languageModel(g.jsgf, g.words, g.connectives, 2000);
  const counts = /ngram 1=(\d+)\nngram 2=(\d+)\nngram 3=(\d+)/.exec(arpa);
  assert.ok(counts, 'ARPA header');
  const section = (n: number) => arpa.split(`\\${n}-grams:\n`)[1]!.split('\n\n')[0]!.split('\n');
  assert.equal(section(1).length, Number(counts[1]));
  assert.equal(section(2).length, Number(counts[2]));
  assert.equal(section(3).length, Number(counts[3]));
  assert.ok(section(2).some((l) => / turn on$| turn on /.test(l)));
  assert.ok(!section(2).some((l) => / on turn( |$)/.test(l)), 'never-said word orders get no bigram');
  const { rules, root } = parseJsgfRules(g.jsgf);
  const accepts = (s: string) => grammarAccepts(rules, root, s.split(' '));
  assert.ok(accepts('turn on the living room lights'));
  assert.ok(accepts('stop the robot then turn on the kitchen light'));
  assert.ok(!accepts('turn on the light'), 'the room is required');
  assert.ok(!accepts('turn on the kitchen light then'), 'a dangling connective is not a sentence');
  assert.equal(inlinedSize(g.jsgf) > 10, true);
  assert.deepEqual(longestGrammarSpan(rules, root, 'uh turn on the kitchen light out'.split(' ')), {
    start: 1,
    end: 6,
  });
  assert.equal(longestGrammarSpan(rules, root, 'tell me a joke'.split(' ')), undefined);
});

test('sling doctor reports voice: optional when disabled, a failure with the fix when enabled and incomplete', async () => {
  const { checkVoice } = await import('../../agent/ingress/voice/doctor.ts');
  const { resolveConfig } = await import('../../agent/config/load.ts');
  const config = (voice: object) => resolveConfig({ name: 't', text: JSON.stringify({ voice }) });
  const ok = checkVoice(config({ grammar: await buildFixtureGrammar() }));
  assert.equal(ok.status, 'pass', ok.detail);
  const off = checkVoice(config({ grammar: '/nonexistent/voice' }));
  assert.equal(off.status, 'warn');
  assert.match(off.detail, /optional, disabled; missing: voice grammar \/nonexistent\/voice/);
  const on = checkVoice(config({ enabled: true, grammar: '/nonexistent/voice' }));
  assert.equal(on.status, 'fail');
  assert.equal(on.fix, 'npm run build:voice');
});

test('contrasts: opposites and other values of one list slot; variants swap one word; FSG accepts exactly them', () => {
  const spec = readVoiceSpec(voiceFixtureSpec);
  const table = contrastTable(spec, buildJsgf(spec).words);
  assert.deepEqual(table.on, ['off']);
  assert.deepEqual(table.forward, ['back', 'backward']);
  assert.ok(table.kitchen?.includes('bedroom'), 'values of one list slot contrast');
  const variants = contrastVariants('turn on the kitchen light'.split(' '), table);
  assert.ok(variants.some((v) => v.join(' ') === 'turn off the kitchen light'));
  assert.ok(
    variants.every(
      (v) =>
        v.length === 5 && v.filter((w, i) => w !== 'turn on the kitchen light'.split(' ')[i]).length === 1,
    ),
  );
  const withVerbs = contrastTable(
    { ...spec, intents: { x: ['grab it', 'drop it', 'start the fan', 'stop the fan'] } },
    [...buildJsgf(spec).words, 'grab', 'drop', 'start', 'stop'],
  );
  assert.deepEqual(withVerbs.grab, ['drop']);
  assert.deepEqual(withVerbs.drop, ['grab']);
  assert.deepEqual(withVerbs.start, ['stop'], 'a start heard is checked against stop');
  assert.equal(withVerbs.stop, undefined, 'a stop heard is never held back');
  const fsg = sentencesFsg('c', [['turn', 'off'], ['stop']]);
  assert.match(fsg, /^FSG_BEGIN c\nNUM_STATES 3\nSTART_STATE 0\nFINAL_STATE 1\n/);
  assert.match(
    fsg,
    /TRANSITION 0 2 0\.500000 turn\nTRANSITION 2 1 1\.000000 off\nTRANSITION 0 1 0\.500000 stop\n/,
  );
});

test('unit abbreviations are spoken in full and, without a vowel, spelled as text-to-speech reads them', () => {
  assert.deepEqual(
    spokenVariants('drive back 30 cm').map((v) => v.join(' ')),
    ['drive back thirty centimeters', 'drive back thirty c m'],
  );
  assert.deepEqual(
    spokenVariants('speed 0.4 m/s').map((v) => v.join(' ')),
    ['speed zero point four meters per second', 'speed zero point four m slash s'],
  );
  assert.deepEqual(
    spokenVariants('turn 90 deg').map((v) => v.join(' ')),
    ['turn ninety degrees'],
  );
  assert.deepEqual(
    spokenVariants('set it to 50%').map((v) => v.join(' ')),
    ['set it to fifty percent'],
  );
  assert.equal(
    templateToJsgf('drive [30 cm](distance)', (t) => `<slot_${t}>`),
    'drive (( thirty centimeters | thirty c m ) | <slot_distance>)',
  );
});

test('a heard command is finished when the grammar lets its last clause go on only with a polite word', () => {
  const { rules, root } = parseJsgfRules(`#JSGF V1.0;
grammar t;
<n> = one [and a half] | two;
<one> = ( move forward <n> [meters] [please] ) | ( pick it up [please] ) | ( turn left [ninety degrees] );
public <command> = <one> [ ( then | and then | and ) <one> ];
`);
  const ends = ClauseEnds.of(rules, root);
  assert.ok(ends);
  const finished = (s: string) => ends.finished(s.split(' '));
  assert.equal(finished('pick it up'), true, 'only "please" or a new clause can follow');
  assert.equal(finished('pick it up please'), true);
  assert.equal(finished('move forward one'), false, '"and a half" or "meters" would change it');
  assert.equal(finished('move forward one and a half meters'), true);
  assert.equal(finished('turn left'), false, 'an angle may follow');
  assert.equal(finished('turn left ninety degrees'), true);
  assert.equal(finished('turn left then pick it up'), true, 'the last clause decides');
  assert.equal(finished('pick it up and then turn left'), false);
  assert.equal(
    finished('move forward one and then pick it up'),
    true,
    '"and" inside a number, then a connective',
  );
  assert.equal(finished('move forward'), false, 'not a command at all');
  assert.equal(finished('and then pick it up'), true, 'a command continued with a connective');
  const noClauses = parseJsgfRules('#JSGF V1.0;\ngrammar t;\npublic <command> = stop | go;\n');
  assert.equal(ClauseEnds.of(noClauses.rules, noClauses.root), undefined, 'a grammar without <one> clauses');
});

test('any command may open with up to two leads and close with a tail; <one> stays the bare commands', () => {
  const g = buildJsgf({
    slots: { room: ['kitchen'], speed: ['half speed', '30 percent'] },
    intents: { on: ['turn on the {room} light'], stop: ['stop'], go: ['go {speed}'] },
    numericSlots: ['speed'],
    leads: ['hey robot', 'could you', 'uh', 'Could you'],
    tails: ['please'],
    slotLeads: { speed: ['at'] },
  });
  assert.match(g.jsgf, /<lead> = \( hey robot \) \| \( could you \) \| \( uh \);/, 'spoken words, once each');
  assert.match(g.jsgf, /public <command> = <clause> \[ \( then \| and then \| and \) <clause> \];/);
  const { rules, root } = parseJsgfRules(g.jsgf);
  const accepts = (s: string, rule = root) => grammarAccepts(rules, rule, s.split(' '));
  for (const s of [
    'hey robot could you turn on the kitchen light please',
    'uh stop then could you turn on the kitchen light',
    'stop please and then uh stop',
    'go at half speed',
    'could you go at thirty percent',
  ])
    assert.equal(accepts(s), true, s);
  for (const s of [
    'hey robot uh could you stop',
    'could you',
    'turn on please the kitchen light',
    'please stop please please',
    'go at',
  ])
    assert.equal(accepts(s), false, s);
  assert.equal(accepts('uh stop', 'one'), false, '<one>, which enrollment prompts sample, has no frame');
  const ends = ClauseEnds.of(rules, root)!;
  assert.equal(
    ends.finished('could you stop'.split(' ')),
    true,
    'a lead starts the clause, a tail may close it',
  );
  assert.equal(ends.finished('could you turn on the kitchen'.split(' ')), false);
  const cont = continuing({ rules, root });
  assert.equal(grammarAccepts(cont.rules, cont.root, 'and then could you stop'.split(' ')), true);
  // Frames are not sampled: the language model is the one of the bare commands.
  const bare = buildJsgf({
    slots: { room: ['kitchen'], speed: ['half speed', '30 percent'] },
    intents: { on: ['turn on the {room} light'], stop: ['stop'], go: ['go {speed}'] },
    numericSlots: ['speed'],
  });
  assert.equal(
    languageModel(g.jsgf, bare.words, g.connectives, 500),
    languageModel(bare.jsgf, bare.words, bare.connectives, 500),
  );
});

test("leads: the words of the spec's opening frame groups, not other openings nor every NLU frame", () => {
  const leads = commandLeads([
    '[please|hey robot|now] (drive|go) {direction}',
    '[uh|okay] stop',
    '[the] lights on',
    "[it's|it is] cold",
    '[kitchen](room) light on',
  ]);
  assert.deepEqual(leads.sort(), ['hey robot', 'now', 'okay', 'please', 'uh']);
});

test('a command may start with the connective a speaker paused before; its text is the command alone', () => {
  const grammar = parseJsgfRules(`#JSGF V1.0;
grammar t;
<one> = ( pick it up ) | ( go home ) | ( and so on );
public <command> = <one> [ ( then | and then | and ) <one> ];
`);
  const accepts = (g: typeof grammar, s: string) => grammarAccepts(g.rules, g.root, s.split(' '));
  assert.equal(accepts(grammar, 'and then go home'), false, 'the grammar as written');
  const cont = continuing(grammar);
  for (const s of ['and then go home', 'then go home', 'and go home', 'go home', 'pick it up then go home'])
    assert.equal(accepts(cont, s), true, s);
  for (const s of ['then', 'then then go home', 'go home and', 'pick it up then go home then go home'])
    assert.equal(accepts(cont, s), false, s);
  assert.equal(accepts(grammar, 'and then go home'), false, 'the original is not changed in place');
  const ends = ClauseEnds.of(cont.rules, cont.root)!;
  assert.deepEqual(ends.withoutLeadingConnective('and then go home'.split(' ')), ['go', 'home']);
  assert.deepEqual(
    ends.withoutLeadingConnective('and so on'.split(' ')),
    ['and', 'so', 'on'],
    'a clause may start with "and"',
  );
  assert.deepEqual(ends.withoutLeadingConnective(['then']), ['then']);
  const other = parseJsgfRules('#JSGF V1.0;\ngrammar t;\npublic <command> = stop | go;\n');
  assert.equal(continuing(other), other, 'another shape is left as it was');
});
