import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { coverageLine, GrammarCoverage } from '../../agent/ingress/voice/coverage.ts';
import { projectRoot } from '../../agent/paths.ts';
import { buildJsgf } from '../../models/factory/voice/jsgf.ts';
import { parseJsgfRules } from '../../models/factory/voice/ngram.ts';
import { runProcess } from '../helpers/process.ts';

const built = buildJsgf({
  slots: { distance: ['2 metres', 'a metre'] },
  intents: { move: ['(drive|go) forward {distance}'], light: ['turn on the light'] },
  numericSlots: ['distance'],
});
const grammar = parseJsgfRules(built.jsgf);
const pronunciations = new Map([
  ...built.words.map((w): [string, string[]] => [w, [w.toUpperCase()]]),
  ['meter', ['METRE']],
  ['meters', ['METRES']],
]);
const check = (text: string) => new GrammarCoverage(grammar, pronunciations).of(text);

test('a sentence is said when it, or words that sound the same, make a grammar sentence', () => {
  assert.deepEqual(check('go forward 2 metres'), {
    text: 'go forward 2 metres',
    words: ['go', 'forward', 'two', 'metres'],
    sayable: true,
    unknownWords: [],
  });
  const sameSound = check('drive forward two meters');
  assert.equal(sameSound.sayable, true);
  assert.equal(
    sameSound.as,
    'drive forward two metres',
    'the grammar spells it "metres": the recogniser hears sounds',
  );
  assert.match(coverageLine(sameSound), /^ok +drive forward two meters \(as "drive forward two metres"\)$/);
  // A word the grammar never uses, said as one it does (its pronunciation from CMUdict).
  const other = new GrammarCoverage(grammar, pronunciations, new Map([['metter', ['METRE']]])).of(
    'go forward a metter',
  );
  assert.deepEqual([other.sayable, other.as, other.unknownWords], [true, 'go forward a metre', ['metter']]);
  assert.equal(check('go forward a metter').sayable, false, 'without its pronunciation it is not a word');
});

test('a sentence the grammar cannot say names the words it never uses and the longest part it can say', () => {
  const c = check('please turn on the light in the hall');
  assert.equal(c.sayable, false);
  assert.deepEqual(c.unknownWords, ['please', 'in', 'hall']);
  assert.equal(c.longestPart, 'turn on the light');
  assert.equal(
    coverageLine(c),
    'missing  please turn on the light in the hall (words the grammar never uses: please, in, hall; the longest part it can say is "turn on the light")',
  );
  const none = check('forward the light');
  assert.equal(none.sayable, false);
  assert.equal(none.longestPart, undefined);
  assert.match(coverageLine(none), /no part of it is a command\)$/);
});

const sling = async (args: string[]) => {
  const r = await runProcess(process.execPath, [resolve(projectRoot, 'agent/sling.js'), ...args]);
  return { code: r.code, out: r.stdout, err: r.stderr };
};

test('sling voice check reads the configured grammar: exit 0 when all can be said, 1 when one cannot', async () => {
  const ok = await sling([
    'voice',
    'check',
    'hey robot could you turn left please',
    'drive at half speed',
    'go forward ten centimetres',
  ]);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /^ok +hey robot could you turn left please$/m);
  assert.match(
    ok.out,
    /^ok +go forward ten centimetres \(as "go forward ten centimeters"\)$/m,
    'CMUdict knows it',
  );
  assert.match(ok.out, /^all 3 can be said$/m);
  const dir = mkdtempSync(join(tmpdir(), 'sling-check-'));
  try {
    const file = join(dir, 'sentences.txt');
    writeFileSync(file, '# what our users say\nturn on the kitchen light\n\nsing me a song\n');
    const json = await sling(['voice', 'check', '--file', file, '--json']);
    assert.equal(json.code, 1);
    const lines = json.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => [l.text, l.sayable]),
      [
        ['turn on the kitchen light', true],
        ['sing me a song', false],
      ],
    );
    const missingFile = await sling(['voice', 'check', '--file', join(dir, 'nope.txt')]);
    assert.equal(missingFile.code, 1);
    assert.match(missingFile.err, /cannot read .*nope\.txt/);
    const badGrammar = await sling(['voice', 'check', 'stop', '--grammar', dir]);
    assert.equal(badGrammar.code, 1);
    assert.match(badGrammar.err, /cannot read the voice grammar in .*npm run build:voice/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
