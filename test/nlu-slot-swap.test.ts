import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { variantsAsTheirSources } from '../models/factory/build.ts';
import type { Example } from '../models/factory/dataset.ts';
import { slotGazetteer } from '../models/factory/slot-gazetteer.ts';
import { substituteSlotValues } from '../models/factory/slot-swap.ts';

/** "play <track> by <artist>" with distinct values, and one sentence without slots. */
function sentences(): Example[] {
  const tracks = ['hey jude', 'yellow submarine', 'let it be', 'help', 'something', 'because'];
  const artists = ['the beatles', 'nina simone', 'queen', 'abba', 'muse', 'blur'];
  const out: Example[] = tracks.map((track, i) => {
    const text = `play ${track} by ${artists[i]}`;
    const a = text.lastIndexOf(artists[i]!);
    return {
      text,
      intent: 'PlayMusic',
      spans: [
        { slot: 'track', start: 5, end: 5 + track.length },
        { slot: 'artist', start: a, end: text.length },
      ],
    };
  });
  out.push({ text: 'what is the weather', intent: 'GetWeather', spans: [] });
  return out;
}

describe('slot-value augmentation and the leave-out gazetteer', () => {
  test('substituted copies keep the sentence frame and take values of the same slot', () => {
    const examples = sentences();
    const copies = substituteSlotValues(examples, 2, 1);
    assert.equal(copies.length, examples.length * 2);
    const values = (slot: string) =>
      new Set(
        examples.flatMap((e) =>
          e.spans.filter((s) => s.slot === slot).map((s) => e.text.slice(s.start, s.end)),
        ),
      );
    let changed = 0;
    for (const c of copies) {
      assert.equal(c.intent, 'PlayMusic');
      const [track, artist] = c.spans;
      assert.ok(values('track').has(c.text.slice(track!.start, track!.end)), c.text);
      assert.ok(values('artist').has(c.text.slice(artist!.start, artist!.end)), c.text);
      assert.equal(
        c.text,
        `play ${c.text.slice(track!.start, track!.end)} by ${c.text.slice(artist!.start)}`,
      );
      if (!examples.some((e) => e.text === c.text)) changed++;
    }
    assert.ok(
      changed > copies.length / 2,
      `${changed} of ${copies.length} copies differ from every original`,
    );
    assert.deepEqual(substituteSlotValues(examples, 2, 1), copies, 'seeded');
  });

  test('a training sentence never sees its own values unless another fold has them', () => {
    const examples = sentences();
    const extra = substituteSlotValues(examples, 1, 2);
    const g = slotGazetteer(examples, { folds: 3, minValues: 5, seed: 1 }, extra);
    assert.deepEqual(g.full.names, ['artist', 'track']);
    assert.equal(g.full.phrases[1]!.length, 6);
    assert.ok(g.full.phrases[1]!.includes('hey jude'));
    for (const e of examples.slice(0, 6)) {
      const own = g.forExample(e);
      const track = e.text.slice(e.spans[0]!.start, e.spans[0]!.end);
      assert.ok(!own.phrases[1]!.includes(track), `${track} leaked into its own sentence's gazetteer`);
    }
    // augmented copies give no values of their own and get a fold like the originals
    assert.ok(extra.every((e) => g.forExample(e) !== g.full));
    // sentences the gazetteer was not built from (dev, run time) see every value
    assert.equal(g.forExample({ text: 'play help', intent: 'PlayMusic', spans: [] }), g.full);
  });

  test("a teacher-labelled variant is featurized with its source sentence's leave-out gazetteer", () => {
    const examples = sentences();
    const g = slotGazetteer(examples, { folds: 3, minValues: 5, seed: 1 }, []);
    // a variant that keeps its source's track: with the full gazetteer its own value would be flagged
    const variants = examples.slice(0, 6).map((e) => ({ ...e, text: `um ${e.text}` }));
    const routed = variantsAsTheirSources(g.forExample, variants, examples.slice(0, 6))!;
    variants.forEach((v, i) => {
      const source = examples[i]!;
      const track = source.text.slice(source.spans[0]!.start, source.spans[0]!.end);
      assert.equal(routed(v), g.forExample(source));
      assert.ok(!routed(v).phrases[1]!.includes(track), `${track} flagged in its own variant`);
    });
    assert.equal(g.forExample(variants[0]!), g.full, 'unrouted, a variant would see every value');
    assert.equal(routed(examples[0]!), g.forExample(examples[0]!), 'training sentences keep their fold');
    assert.equal(variantsAsTheirSources(undefined, variants, examples), undefined);
  });
});
