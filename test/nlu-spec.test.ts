import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { registerBuiltin } from '../agent/decide/entities/registry.ts';
import { spansFromBio, tagExample } from '../models/factory/dataset.ts';
import { expandSpec, parseSpec, SpecError } from '../models/factory/spec.ts';
import { parseTemplate } from '../models/factory/template.ts';
import { tokenize } from '../models/factory/text.ts';
import { holdOutDev } from '../models/factory/train.ts';

const spansOf = (e: { text: string; spans: { start: number; end: number; slot: string }[] }) =>
  e.spans.map((s) => [s.slot, e.text.slice(s.start, s.end)]);

describe('intent spec', () => {
  test('templates expand alternatives, optional words and slot references with spans', () => {
    const spec = parseSpec(`
slots:
  room: { type: list, values: { living_room: [living room, lounge], kitchen: [kitchen] } }
intents:
  light.on:
    templates:
      - (turn|switch) on [the] {room} light
      - "{room:where} lamp on"
`);
    const out = expandSpec(spec);
    assert.equal(out.length, 2 * 2 * 3 + 3);
    const first = out.find((e) => e.text === 'turn on the living room light')!;
    assert.deepEqual(spansOf(first), [['room', 'living room']]);
    assert.deepEqual(spansOf(out.find((e) => e.text === 'lounge lamp on')!), [['where', 'lounge']]);
    assert.ok(out.every((e) => e.intent === 'light.on'));
  });

  test('sentences written under examples are marked, and never held out as dev', () => {
    const spec = parseSpec(`
slots:
  room: { type: list, values: { kitchen: [kitchen], hall: [hall, hallway], study: [study, office] } }
intents:
  light.on:
    examples: [lights on, "turn on the [kitchen](room) light", "(switch|put) on the [hall](room) lamp"]
    templates:
      - (turn|switch|put|flip) on [the] {room} (light|lamp|lights|lamps)
`);
    const out = expandSpec(spec);
    const written = out.filter((e) => e.written).map((e) => e.text);
    assert.deepEqual(written.sort(), [
      'lights on',
      'put on the hall lamp',
      'switch on the hall lamp',
      'turn on the kitchen light',
    ]);
    assert.ok(out.length > 40);
    for (let seed = 1; seed <= 20; seed++) {
      const { train, dev } = holdOutDev(out, seed);
      assert.ok(dev.length > 0 && dev.every((e) => !e.written), `seed ${seed}`);
      assert.equal(train.length + dev.length, out.length);
      for (const text of written)
        assert.ok(
          train.some((e) => e.text === text),
          `seed ${seed}: ${text}`,
        );
    }
  });

  test('examples carry inline annotations; max caps huge expansions deterministically', () => {
    const spec = parseSpec(`
slots:
  song: { type: open, examples: [a, b, c, d, e, f, g, h, i, j] }
intents:
  play:
    examples: ["play [yellow submarine](song) now"]
    templates: ["(play|put on|start) [the song|the track|some] {song} [(now|please|today)] [loud]"]
    max: 25
`);
    const a = expandSpec(spec, 7);
    assert.deepEqual(spansOf(a[0]!), [['song', 'yellow submarine']]);
    assert.equal(a.length, 1 + 25);
    assert.deepEqual(a, expandSpec(spec, 7));
    assert.notDeepEqual(a, expandSpec(spec, 8));
  });

  test('builtin slots expand through the registry', () => {
    registerBuiltin({
      name: 'builtin.test_digit',
      sample: (rng) => String(Math.floor(rng() * 10)),
      resolve: (text) => (/^\d$/.test(text) ? Number(text) : undefined),
    });
    const spec = parseSpec(`
slots:
  n: { type: builtin.test_digit }
intents:
  count: { templates: ["count to {n}"], max: 5 }
`);
    const out = expandSpec(spec);
    assert.ok(out.length >= 3 && out.length <= 5);
    for (const e of out) assert.match(e.text, /^count to \d$/);
  });

  test('malformed specs report file, line and reason', () => {
    const cases: [string, number, RegExp][] = [
      ['intents:\n  a:\n    templates: ["(open the door"]\n', 3, /missing "\)"/],
      ['intents:\n  a:\n    examples:\n      - go\n      - "go to {place}"\n', 5, /unknown slot "place"/],
      [
        'slots:\n  d: { type: builtin.nope }\nintents:\n  a: { examples: [x] }\n',
        2,
        /unknown builtin type "builtin.nope"/,
      ],
      ['slots:\n  r:\n    type: list\nintents:\n  a: { examples: [x] }\n', 3, /needs "values"/],
      ['intents:\n  a:\n    exmaples: [x]\n', 3, /unknown key "exmaples"/],
      ['intents:\n  a:\n    max: 10\n', 2, /at least one example/],
      ['intents: [a, b]\n', 1, /intents/],
      ['intents:\n  a: { examples: [x]\n', 3, /YAML/],
    ];
    for (const [source, line, reason] of cases) {
      assert.throws(
        () => parseSpec(source, 'spec.yaml'),
        (e: Error) =>
          e instanceof SpecError &&
          e.line === line &&
          reason.test(e.message) &&
          e.message.startsWith(`spec.yaml:${line}:`),
        source,
      );
    }
  });

  test('template syntax errors are precise', () => {
    assert.throws(() => parseTemplate('a | b'), /unexpected "\|"/);
    assert.throws(() => parseTemplate('{room'), /missing "}"/);
    assert.throws(() => parseTemplate('[a (b|c)](room)'), /plain text/);
    assert.deepEqual(parseTemplate('[two meters](distance)'), {
      kind: 'annotated',
      text: 'two meters',
      type: 'distance',
      name: 'distance',
    });
  });
});

describe('text and BIO', () => {
  test('tokens keep original offsets; normalisation folds case, accents and quotes', () => {
    const text = ' Play  “Clásicos’s”, NOW!';
    const tokens = tokenize(text);
    assert.deepEqual(
      tokens.map((t) => [t.norm, text.slice(t.start, t.end)]),
      [
        ['play', 'Play'],
        ["clasicos's", 'Clásicos’s'],
        ['now', 'NOW'],
      ],
    );
    assert.deepEqual(
      tokenize('a - b').map((t) => t.norm),
      ['a', '-', 'b'],
    );
  });

  test('BIO tags round-trip through spans', () => {
    const { text, spans } = spansFromBio(
      ['play', 'the', 'beatles', 'on', 'spotify'],
      ['O', 'B-artist', 'I-artist', 'O', 'B-service'],
    );
    assert.equal(text, 'play the beatles on spotify');
    assert.deepEqual(tagExample({ text, intent: 'x', spans }).tags, [
      'O',
      'B-artist',
      'I-artist',
      'O',
      'B-service',
    ]);
  });
});
