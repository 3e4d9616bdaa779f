import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadBuiltinEntities } from '../agent/nlu/builtins.ts';
import { loadParser, ModelLoadError, type OnnxParser } from '../agent/nlu/index.ts';
import { fromProjectRoot } from '../agent/paths.ts';
import { intentSlotsOf } from '../models/factory/build.ts';
import { IntentSlotAgreement, ViterbiDecoder } from '../models/factory/decode.ts';
import { allowedStarts, allowedTransitions, bioTags } from '../models/factory/labels.ts';
import { mulberry32 } from '../models/factory/rng.ts';
import { expandSpec, loadSpec } from '../models/factory/spec.ts';

const tags = bioTags(['a', 'b', 'c']);
const intents = ['<none>', 'x', 'y', 'z'];
const intentSlots = { x: ['a'], y: ['b', 'c'], z: ['a', 'c'] };

/** Every BIO-valid path of `length` tokens. */
function allPaths(length: number, allowed: Uint8Array, starts: Uint8Array): number[][] {
  const n = tags.length;
  let paths: number[][] = [...Array(n).keys()].filter((j) => starts[j]).map((j) => [j]);
  for (let t = 1; t < length; t++) {
    paths = paths.flatMap((p) =>
      [...Array(n).keys()].filter((j) => allowed[p.at(-1)! * n + j]).map((j) => [...p, j]),
    );
  }
  return paths;
}

describe('intent–slot agreement decoding', () => {
  test('picks the agreeing (intent, path) with the highest log p(intent) + path score (brute force)', () => {
    const n = tags.length;
    const rng = mulberry32(11);
    const crf = {
      tags: n,
      transitions: Float32Array.from({ length: n * n }, () => rng() * 2 - 1),
      start: Float32Array.from({ length: n }, () => rng() - 0.5),
      end: Float32Array.from({ length: n }, () => rng() - 0.5),
      allowed: allowedTransitions(tags),
      allowedStart: allowedStarts(tags),
    };
    const decoder = new ViterbiDecoder(crf);
    const agreement = new IntentSlotAgreement(intents, tags, intentSlots, '<none>');
    const score = (e: Float32Array, p: number[]) =>
      p.reduce((s, j, t) => s + e[t * n + j]! + (t > 0 ? crf.transitions[p[t - 1]! * n + j]! : 0), 0) +
      crf.start[p[0]!]! +
      crf.end[p.at(-1)!]!;
    const slotOf = (j: number) => tags[j]!.slice(2);
    let changed = 0;
    for (let trial = 0; trial < 300; trial++) {
      const length = 1 + (trial % 4);
      const emissions = Float32Array.from({ length: length * n }, () => (rng() * 2 - 1) * 3);
      const logits = Float32Array.from(intents, () => (rng() * 2 - 1) * 2);
      const probs = logits.map(Math.exp);
      const sum = probs.reduce((a, b) => a + b, 0);
      for (let i = 0; i < probs.length; i++) probs[i]! /= sum;
      const free = decoder.decode(emissions, length);
      assert.ok(Math.abs(decoder.lastScore - score(emissions, free)) < 1e-4, 'lastScore is the path score');
      let best = { score: -Infinity, intent: -1, path: [] as number[] };
      for (let i = 1; i < intents.length; i++) {
        const mine = new Set(intentSlots[intents[i] as 'x']);
        for (const p of allPaths(length, crf.allowed, crf.allowedStart)) {
          if (!p.every((j) => j === 0 || mine.has(slotOf(j)))) continue;
          const s = Math.log(probs[i]!) + score(emissions, p);
          if (s > best.score) best = { score: s, intent: i, path: p };
        }
      }
      const chosen = agreement.choose(probs, emissions, length, decoder, free);
      const top = [1, 2, 3].reduce((a, b) => (probs[b]! > probs[a]! ? b : a));
      const got = chosen ?? { intent: top, path: free };
      if (chosen) changed++;
      const gotScore = Math.log(probs[got.intent]!) + score(emissions, got.path);
      assert.ok(Math.abs(gotScore - best.score) < 1e-4, `trial ${trial}: ${gotScore} vs best ${best.score}`);
      assert.ok(agreement.agrees(got.intent, got.path));
    }
    // the random cases must exercise the constrained search, not only the agreeing shortcut
    assert.ok(changed > 50, `${changed} of 300 changed`);
  });

  test("the manifest's table is each intent's slots in the training sentences", () => {
    const table = intentSlotsOf(expandSpec(loadSpec(fromProjectRoot('test/fixtures/nlu/home.yaml')), 5));
    assert.ok(table['robot.move']!.includes('direction'));
    assert.ok(!table['robot.move']!.includes('room'));
    assert.deepEqual(table['robot.move'], [...table['robot.move']!].sort());
  });
});

describe('the parser with an agreement table', () => {
  let dir: string;
  let plain: OnnxParser;
  let agreeing: OnnxParser;
  let strict: OnnxParser;
  const probe = 'dim the kitchen light to 30 percent';
  const sentences = [
    'dim the kitchen light to 30 percent',
    'drive forward two meters',
    'turn left 90 degrees',
    'set the thermostat to 21 degrees',
    'what is the temperature in the kitchen',
  ];
  before(async () => {
    await loadBuiltinEntities();
    dir = mkdtempSync(join(tmpdir(), 'sling-agreement-'));
    const src = fromProjectRoot('models/default');
    const write = (name: string, table: Record<string, string[]>) => {
      cpSync(src, join(dir, name), { recursive: true });
      const file = join(dir, name, 'manifest.json');
      const m = JSON.parse(readFileSync(file, 'utf8'));
      m.intentSlots = table;
      writeFileSync(file, JSON.stringify(m));
      return join(dir, name);
    };
    const manifest = JSON.parse(readFileSync(join(src, 'manifest.json'), 'utf8'));
    // a table that allows every slot with every intent, and one that forbids the top intent of `probe` any slot
    const full: Record<string, string[]> = {};
    for (const intent of manifest.intents) full[intent] = Object.keys(manifest.slots);
    plain = await loadParser(src);
    agreeing = await loadParser(write('full', full));
    const top = (await plain.parse(probe)).topIntent!;
    strict = await loadParser(write('strict', { ...full, [top]: [] }));
  });
  after(async () => {
    await Promise.all([plain, agreeing, strict].map((p) => p?.release()));
    rmSync(dir, { recursive: true, force: true });
  });

  test('when every pair agrees the parse is unchanged', async () => {
    for (const s of sentences) {
      const a = await plain.parse(s);
      const b = await agreeing.parse(s);
      assert.deepEqual({ ...b, timing: undefined }, { ...a, timing: undefined }, s);
    }
  });

  test('an intent is never returned with slots its table does not allow', async () => {
    const before = await plain.parse(probe);
    assert.ok(before.slots.length > 0);
    const after = await strict.parse(probe);
    // either another intent takes the slots, or the forbidden one keeps none
    if (after.topIntent === before.topIntent) assert.equal(after.slots.length, 0);
    else assert.ok(after.slots.length > 0);
    assert.notDeepEqual(
      { intent: after.topIntent, slots: after.slots.map((s) => s.name) },
      { intent: before.topIntent, slots: before.slots.map((s) => s.name) },
    );
    assert.equal(
      after.alternatives.some((a) => a.intent === after.topIntent),
      false,
    );
  });
});

describe('a malformed agreement table in the manifest', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sling-agreement-bad-'));
    cpSync(fromProjectRoot('models/default'), dir, { recursive: true });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('is refused at load with what is wrong, not a crash or a silently ignored entry', async () => {
    const file = join(dir, 'manifest.json');
    const manifest = JSON.parse(readFileSync(fromProjectRoot('models/default/manifest.json'), 'utf8'));
    const intent = manifest.intents.find((i: string) => i !== manifest.noneIntent) as string;
    const slot = (manifest.tags as string[]).find((t) => t !== 'O')!.slice(2);
    const cases: [unknown, RegExp][] = [
      [[slot], /must map intent names/],
      [{ [intent]: 5 }, new RegExp(`of "${intent}" must be a list of slot names`)],
      [{ [intent]: [slot, 7] }, /must be a list of slot names/],
      [{ 'no.such.intent': [slot] }, /names intent "no\.such\.intent", which the model does not have/],
      [{ [intent]: [slot, 'no_such_slot'] }, /names slot "no_such_slot", which the model does not tag/],
    ];
    for (const [table, reason] of cases) {
      writeFileSync(file, JSON.stringify({ ...manifest, intentSlots: table }));
      await assert.rejects(
        loadParser(dir),
        (e: Error) => e instanceof ModelLoadError && /intentSlots/.test(e.message) && reason.test(e.message),
        JSON.stringify(table),
      );
    }
    // a well-formed one loads
    writeFileSync(file, JSON.stringify({ ...manifest, intentSlots: { [intent]: [slot] } }));
    const parser = await loadParser(dir);
    await parser.release();
  });
});
