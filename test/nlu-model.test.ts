import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadParser, ModelLoadError, type OnnxParser } from '../agent/nlu/index.ts';
import { buildModel } from '../models/factory/build.ts';
import { buildOnnx, quantizeModel } from '../models/factory/export.ts';
import { featurize } from '../models/factory/features.ts';
import { forward } from '../models/factory/model.ts';
import { tokenize } from '../models/factory/text.ts';
import type { TrainedModel } from '../models/factory/train.ts';

const spec = new URL('./fixtures/nlu/home.yaml', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'sling-nlu-'));
let model: TrainedModel;
let parser: OnnxParser;

/** Held-out paraphrases: wordings and combinations the templates never produce verbatim. */
const heldOut = [
  'could you turn on the lamp in the front room please',
  'could you switch the bathroom lamp on',
  'switch the kitchen lamp off please',
  'dim the lounge lights to fifty percent',
  'move the robot backwards',
  'halt',
  'put on hey jude in the bedroom',
];

describe('nlu model: small spec end to end', { timeout: 120_000 }, () => {
  before(async () => {
    ({ model } = buildModel({ source: spec, out: dir, seed: 3, keepFp32: true }));
    parser = await loadParser(dir);
  });
  after(async () => {
    await parser?.release();
    rmSync(dir, { recursive: true, force: true });
  });

  test('ships self-test sentences, one per intent, that the installed model parses as recorded', async () => {
    const selfTest = parser.manifest.selfTest ?? [];
    const intents = parser.manifest.intents.filter((i) => i !== parser.manifest.noneIntent);
    assert.deepEqual(selfTest.map((s) => s.intent).sort(), [...intents].sort());
    for (const { text, intent } of selfTest) assert.equal((await parser.parse(text)).intent, intent, text);
  });

  test('held-out paraphrases get the right intent, slot values and offsets', async () => {
    const r = await Promise.all(heldOut.map((t) => parser.parse(t)));
    assert.deepEqual(
      r.map((x) => x.intent),
      ['light.on', 'light.on', 'light.off', 'light.dim', 'robot.move', 'robot.stop', 'music.play'],
    );
    assert.deepEqual(
      r[0]!.slots.map((s) => [s.name, s.value, s.text, s.start, s.end]),
      [['room', 'living_room', 'front room', 34, 44]],
    );
    assert.deepEqual(
      r[3]!.slots.map((s) => [s.name, s.value, s.start, s.end]),
      [
        ['room', 'living_room', 8, 14],
        ['level', '50', 25, 30],
      ],
    );
    assert.deepEqual(
      r[4]!.slots.map((s) => [s.name, s.value]),
      [['direction', 'backward']],
    );
    const song = r[6]!.slots.find((s) => s.name === 'song');
    assert.equal(song?.text, 'hey jude');
    assert.equal(r[6]!.slots.find((s) => s.name === 'room')?.value, 'bedroom');
  });

  test('offsets refer to the original text (case, punctuation, extra spaces)', async () => {
    const text = '  Turn ON the  Kitchen, lights!';
    const r = await parser.parse(text);
    assert.equal(r.intent, 'light.on');
    const room = r.slots.find((s) => s.name === 'room')!;
    assert.equal(text.slice(room.start, room.end), 'Kitchen');
    assert.equal(room.value, 'kitchen');
  });

  test('bad input is refused or not understood, never thrown', async () => {
    for (const text of ['', '   ', '?!...', '🙂🙂', 'x'.repeat(10_000)]) {
      const r = await parser.parse(text);
      assert.equal(r.intent, null, text.slice(0, 20));
      assert.ok(r.error, `error for ${JSON.stringify(text.slice(0, 20))}`);
    }
    const r = await parser.parse(undefined as unknown as string);
    assert.equal(r.error, 'input is not text');
    for (const text of ['what is the capital of peru', 'qzxv blorft wemple']) {
      assert.equal((await parser.parse(text)).intent, null, text);
    }
  });

  test('the int8 and fp32 ONNX graphs agree with the TypeScript forward pass', async () => {
    const fp32 = await loadParser(dir, { graph: 'fp32' });
    // both tables (int8 rows, fp32) go through the JS embedding bag
    assert.equal(parser.embeddingBag, 'js');
    assert.equal(fp32.embeddingBag, 'js');
    const quantized = { ...model.config, params: quantizeModel(model.config, model.params).params };
    const sentences = [
      ...heldOut,
      'go ahead',
      'lights off in the washroom',
      'play imagine',
      'set the lights in the kitchen to 80',
    ];
    let worst = 0;
    for (const text of sentences) {
      const tokens = tokenize(text);
      const f = featurize(tokens, parser.manifest.features, parser.manifest.gazetteer);
      for (const [onnx, params] of [
        [parser, quantized.params],
        [fp32, model.params],
      ] as const) {
        const ts = forward(model.config, params, f);
        const raw = await onnx.run(tokens);
        const argmax = (a: Float32Array) => a.indexOf(Math.max(...a));
        assert.equal(argmax(raw.intentLogits), argmax(ts.intentLogits), text);
        ts.intentLogits.forEach((v, i) => {
          worst = Math.max(worst, Math.abs(v - raw.intentLogits[i]!));
        });
        ts.emissions.forEach((v, i) => {
          worst = Math.max(worst, Math.abs(v - raw.emissions[i]!));
        });
      }
    }
    await fp32.release();
    // float32 summation order differs between onnxruntime and the TS loops; nothing else may
    assert.ok(worst < 1e-3, `max |logit difference| ${worst}`);
  });

  test('export is deterministic and int8 is smaller than fp32', () => {
    const a = buildOnnx(model.config, model.params, 'int8');
    assert.deepEqual(a, buildOnnx(model.config, model.params, 'int8'));
    assert.ok(a.byteLength * 3 < buildOnnx(model.config, model.params, 'fp32').byteLength);
  });

  test('a tampered, truncated or missing model file is refused', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'sling-nlu-bad-'));
    try {
      copyFileSync(join(dir, 'manifest.json'), join(bad, 'manifest.json'));
      await assert.rejects(
        loadParser(bad),
        (e: Error) => e instanceof ModelLoadError && /model\.onnx/.test(e.message),
      );
      const onnx = readFileSync(join(dir, 'model.onnx'));
      writeFileSync(join(bad, 'model.onnx'), onnx.subarray(0, onnx.length - 10));
      await assert.rejects(loadParser(bad), /truncated/);
      const flipped = Buffer.from(onnx);
      flipped[flipped.length - 5]! ^= 1;
      writeFileSync(join(bad, 'model.onnx'), flipped);
      await assert.rejects(loadParser(bad), /sha256 .* does not match/);
      writeFileSync(join(bad, 'manifest.json'), '{"format": "other"}');
      await assert.rejects(loadParser(bad), /not a sling-nlu v1 manifest/);
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });
});
