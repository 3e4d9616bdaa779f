import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { f16round } from '@petamoriken/float16';
import * as ort from 'onnxruntime-node';
import { loadBuiltinEntities } from '../agent/nlu/builtins.ts';
import { buildModel } from '../models/factory/build.ts';
import {
  labelByTeachers,
  loadTeacher,
  magnitudeMasks,
  prunableNames,
  pruneChannels,
  sparsityOf,
  teacherTargets,
} from '../models/factory/compress.ts';
import type { Example } from '../models/factory/dataset.ts';
import { buildOnnx, quantizeModel } from '../models/factory/export.ts';
import { featurize } from '../models/factory/features.ts';
import type { Metrics } from '../models/factory/metrics.ts';
import { forward, type Params } from '../models/factory/model.ts';
import { dequantize, packInt4, quantizePerChannel, unpackInt4 } from '../models/factory/quantize.ts';
import { tokenize } from '../models/factory/text.ts';
import {
  type Prepared,
  prepare,
  type SoftTargets,
  softLoss,
  type TrainedModel,
  type TrainInput,
  trainModel,
} from '../models/factory/train.ts';
import { variantTexts } from '../models/factory/variants.ts';
import { homeSpec, smallHomeInput } from './helpers/nlu.ts';

const specFile = homeSpec;
const sentences = [
  'could you turn on the lamp in the front room please',
  'dim the lounge lights to fifty percent',
  'move the robot backwards two meters',
  'halt',
  'put on hey jude in the bedroom',
];

let input: TrainInput;
let teacher: TrainedModel;

/** Small, fast settings: 4096 buckets, a few epochs. */
const smallInput = (): TrainInput =>
  smallHomeInput({ perTemplate: 3, seed: 3, hyper: { hidden: 48, epochs: 3, patience: 3 } });

async function onnxOutputs(
  onnx: Uint8Array,
  model: Pick<TrainedModel, 'config'>,
  text: string,
  inp: TrainInput,
) {
  const session = await ort.InferenceSession.create(onnx, {
    graphOptimizationLevel: 'basic',
    extra: { session: { disable_quant_qdq: '1' } },
  });
  const f = featurize(tokenize(text), inp.features, inp.gazetteer);
  const feeds: Record<string, ort.Tensor> = {
    ids: new ort.Tensor('int32', f.ids, [f.length, f.width]),
    weights: new ort.Tensor('float32', f.weights, [f.length, f.width]),
  };
  if (model.config.gazDim > 0) feeds.gaz = new ort.Tensor('float32', f.gaz, [f.length, model.config.gazDim]);
  const out = await session.run(feeds);
  await session.release();
  return {
    f,
    intentLogits: out.intent_logits!.data as Float32Array,
    emissions: out.emissions!.data as Float32Array,
  };
}

const maxDiff = (a: Float32Array, b: Float32Array) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

/** Mean soft loss (T 2) of a model against the teacher on these sentences. */
function meanSoftLoss(
  m: TrainedModel,
  examples: Example[],
  targets: (intents: readonly string[], tags: readonly string[]) => (d: Prepared) => SoftTargets,
): number {
  const data = prepare(examples, teacher.intents, teacher.tags, input);
  const teach = targets(teacher.intents, teacher.tags);
  return (
    data.reduce((sum, d) => {
      const a = forward(m.config, m.params, d.f);
      return sum + softLoss(a, teach(d), a.T, teacher.tags.length, 2);
    }, 0) / data.length
  );
}

describe('model compression', { timeout: 180_000 }, () => {
  before(async () => {
    await loadBuiltinEntities();
    input = smallInput();
    teacher = trainModel({ ...input, hyper: { ...input.hyper, hidden: 64 } });
  });

  test('soft loss gradient matches finite differences', () => {
    const tags = 4;
    const T = 3;
    const student: SoftTargets = {
      intentLogits: Float32Array.from([0.3, -1.2, 2.0]),
      emissions: Float32Array.from({ length: T * tags }, (_, i) => Math.sin(i)),
    };
    const target: SoftTargets = {
      intentLogits: Float32Array.from([1.0, 0.1, -0.5]),
      emissions: Float32Array.from({ length: T * tags }, (_, i) => Math.cos(i * 1.7)),
    };
    const dLogits = new Float32Array(3);
    const dEm = new Float32Array(T * tags);
    softLoss(student, target, T, tags, 2, { dLogits, dEm, weight: 1 });
    const eps = 1e-3;
    for (const [arr, grad] of [
      [student.intentLogits, dLogits],
      [student.emissions, dEm],
    ] as const) {
      for (let i = 0; i < arr.length; i++) {
        const v = arr[i]!;
        arr[i] = v + eps;
        const up = softLoss(student, target, T, tags, 2);
        arr[i] = v - eps;
        const down = softLoss(student, target, T, tags, 2);
        arr[i] = v;
        assert.ok(Math.abs((up - down) / (2 * eps) - grad[i]!) < 1e-3, `gradient ${i}`);
      }
    }
  });

  test('distillation lowers the student loss against the teacher', () => {
    const student = { ...input.hyper, hidden: 16 };
    const scratch = trainModel({ ...input, hyper: student });
    const targets = (intents: readonly string[], tags: readonly string[]) =>
      teacherTargets([{ ...teacher, features: input.features, gazetteer: input.gazetteer }], intents, tags);
    const distilled = trainModel({
      ...input,
      hyper: student,
      distill: { teacher: targets, temperature: 2, alpha: 0.7 },
    });
    const lossOf = (m: TrainedModel) => meanSoftLoss(m, input.train, targets);
    const before = lossOf(scratch);
    const afterDistill = lossOf(distilled);
    assert.ok(afterDistill < before, `distilled ${afterDistill} vs scratch ${before}`);
  });

  test('augmented variants are new sentences, seeded, and the teacher labels them', () => {
    const variants = variantTexts(input.train, 2, 5);
    assert.deepEqual(variants, variantTexts(input.train, 2, 5));
    const inScope = input.train.filter((e) => e.intent !== null).length;
    assert.ok(variants.length > inScope * 1.5, `${variants.length} variants of ${inScope} sentences`);
    const known = new Set(input.train.map((e) => e.text.toLowerCase()));
    assert.equal(variants.filter((v) => known.has(v.text.toLowerCase())).length, 0);
    assert.equal(new Set(variants.map((v) => v.text.toLowerCase())).size, variants.length);
    const ops = new Set(variants.flatMap((v) => v.ops));
    for (const op of ['frame', 'filler', 'typo', 'asr', 'drop', 'slot']) assert.ok(ops.has(op as never), op);

    const t = { ...teacher, features: input.features, gazetteer: input.gazetteer };
    const labelled = labelByTeachers([t], variants);
    assert.equal(labelled.examples.length + labelled.dropped, variants.length);
    // small edits rarely change what was asked: the teacher mostly keeps the source intent
    assert.ok(labelled.sameIntent > labelled.examples.length * 0.8, `${labelled.sameIntent} same intent`);
    for (const e of labelled.examples) {
      assert.ok(teacher.intents.includes(e.intent!));
      for (const span of e.spans)
        assert.ok(span.start >= 0 && span.end <= e.text.length && span.start < span.end);
    }
    assert.ok(labelled.examples.some((e) => e.spans.length > 0));
  });

  test('teacher-labelled augmentation brings the student closer to the teacher on unseen variants', () => {
    const student = { ...input.hyper, hidden: 16 };
    const t = { ...teacher, features: input.features, gazetteer: input.gazetteer };
    const targets = (intents: readonly string[], tags: readonly string[]) =>
      teacherTargets([t], intents, tags);
    const distill = { teacher: targets, temperature: 2, alpha: 0.5 };
    const plain = trainModel({ ...input, hyper: student, distill });
    const extra = labelByTeachers([t], variantTexts(input.train, 2, 5)).examples;
    const augmented = trainModel({ ...input, train: [...input.train, ...extra], hyper: student, distill });
    // variants from another seed: neither student saw them
    const unseen = labelByTeachers([t], variantTexts(input.train, 1, 99)).examples;
    const lossOf = (m: TrainedModel) => meanSoftLoss(m, unseen, targets);
    assert.ok(lossOf(augmented) < lossOf(plain), `augmented ${lossOf(augmented)} vs plain ${lossOf(plain)}`);
  });

  test('int4 packing round-trips every value, odd counts included', () => {
    const q = Int8Array.from({ length: 33 }, (_, i) => (i % 16) - 8);
    const packed = packInt4(q);
    assert.equal(packed.length, 17);
    assert.deepEqual(unpackInt4(packed, q.length), q);
  });

  test('4-bit scales: clipping search never adds error, fp16 scales are exact halves', () => {
    const rows = 64;
    const cols = 32;
    let x = 1;
    // heavy-tailed values, like a trained embedding: one outlier per row wastes max-abs levels
    const w = Float32Array.from({ length: rows * cols }, (_, i) => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      const u = x / 2 ** 31 - 0.5;
      return i % cols === 0 ? u * 8 : u;
    });
    const error = (q: ReturnType<typeof quantizePerChannel>) =>
      dequantize(q, [rows, cols]).reduce((sum, v, i) => sum + (v - w[i]!) ** 2, 0);
    const levels = (bits: 4 | 8) => {
      const q = quantizePerChannel(w, [rows, cols], 0, bits);
      assert.ok(q.q.every((v) => Math.abs(v) <= (bits === 4 ? 7 : 127)));
      return q;
    };
    const searched = levels(4);
    // max-abs scaling is the first candidate of the search: the chosen one is at least as good
    const maxAbs = quantizePerChannel(w, [rows, cols], 0, 8);
    const plainInt4 = { ...maxAbs, scales: maxAbs.scales.map((s) => (s * 127) / 7) };
    plainInt4.q = Int8Array.from(w, (v, i) =>
      Math.max(-7, Math.min(7, Math.round(v / plainInt4.scales[Math.floor(i / cols)]!))),
    );
    assert.ok(error(searched) <= error(plainInt4) + 1e-9, `${error(searched)} vs ${error(plainInt4)}`);
    const half = quantizePerChannel(w, [rows, cols], 0, 4, true);
    for (const s of half.scales) {
      assert.equal(f16round(s), s);
      assert.ok(s > 0);
    }
  });

  test('magnitude pruning reaches the requested sparsity and fine-tuning keeps it', () => {
    const masks = magnitudeMasks(teacher.params, 0.6);
    const tuned = trainModel({
      ...input,
      hyper: { ...input.hyper, hidden: 64, epochs: 1 },
      init: { config: teacher.config, params: teacher.params },
      masks,
    });
    for (const name of prunableNames(tuned.params)) {
      const s = sparsityOf(tuned.params, [name]);
      const requested = Math.floor(tuned.params[name]!.length * 0.6) / tuned.params[name]!.length;
      assert.ok(s >= requested && s < 0.61, `${name}: sparsity ${s}`);
    }
    assert.ok(sparsityOf(tuned.params) > 0.599, `overall sparsity ${sparsityOf(tuned.params)}`);
    // the fine-tuned model still does the job on its own training sentences
    assert.ok(tuned.devMetrics.intentAccuracy > 0.9, `intent ${tuned.devMetrics.intentAccuracy}`);
  });

  test('structured pruning removes exactly the dead channels without changing outputs', () => {
    const config = teacher.config;
    const H = config.hidden;
    const params: Params = Object.fromEntries(
      Object.entries(teacher.params).map(([k, v]) => [k, new Float32Array(v)]),
    );
    const dead = [3, 17, 40];
    // a channel with no weights in or out (all layers and heads) contributes nothing anywhere
    config.dilations.forEach((_, l) => {
      const w = params[`conv${l}.w`]!;
      for (let i = 0; i < w.length; i++) if (dead.includes(i % H)) w[i] = 0;
      for (const h of dead) params[`conv${l}.b`]![h] = -1; // relu(negative) = 0 with no input
      if (l > 0) {
        // inputs from the dead channel
        const cin = H;
        for (let j = 0; j < config.kernel; j++)
          for (const c of dead) for (let h = 0; h < H; h++) w[(j * cin + c) * H + h] = 0;
      }
    });
    for (const [name, rowsPer] of [
      ['intent.w', [0, H]],
      ['slot.pw', [0, H]],
      ['slot.w', [0]],
    ] as const) {
      const cols = name === 'intent.w' ? config.intents : config.tags;
      for (const h of dead)
        for (const off of rowsPer) params[name]!.fill(0, (off + h) * cols, (off + h + 1) * cols);
    }
    const pruned = pruneChannels(config, params, H - dead.length);
    assert.equal(pruned.config.hidden, H - dead.length);
    assert.deepEqual(
      dead.filter((h) => pruned.kept.includes(h)),
      [],
    );
    for (const text of sentences) {
      const f = featurize(tokenize(text), input.features, input.gazetteer);
      const full = forward(config, params, f);
      const small = forward(pruned.config, pruned.params, f);
      assert.ok(maxDiff(full.intentLogits, small.intentLogits) < 1e-4, text);
      assert.ok(maxDiff(full.emissions, small.emissions) < 1e-4, text);
    }
  });

  test('the int4-embedding ONNX graph agrees with the TS forward pass within 1e-3', async () => {
    const quantized = quantizeModel(teacher.config, teacher.params, { embeddingBits: 4 });
    const onnx = buildOnnx(teacher.config, teacher.params, 'int8', { embeddingBits: 4 });
    const int8 = buildOnnx(teacher.config, teacher.params, 'int8');
    // the 4-bit table roughly halves the file (the table dominates it)
    assert.ok(onnx.byteLength < int8.byteLength * 0.75, `${onnx.byteLength} vs ${int8.byteLength}`);
    // int4 values + one fp16 scale per row: the table costs buckets × (dim / 2 + 2) bytes
    const { buckets, dim } = teacher.config;
    const rest = buildOnnx(
      { ...teacher.config, buckets: 1 },
      { ...teacher.params, emb: new Float32Array(dim) },
      'int8',
      {
        embeddingBits: 4,
      },
    ).byteLength;
    assert.ok(onnx.byteLength - rest <= (buckets - 1) * (dim / 2 + 2) + 64, `${onnx.byteLength - rest}`);
    for (const text of sentences) {
      const out = await onnxOutputs(onnx, teacher, text, input);
      const ref = forward(teacher.config, quantized.params, out.f);
      assert.ok(maxDiff(out.intentLogits, ref.intentLogits) < 1e-3, text);
      assert.ok(maxDiff(out.emissions, ref.emissions) < 1e-3, text);
    }
  });
});

describe('sling train compression options end to end', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sling-compress-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('--teacher reuse, augmentation, pruning and int4 are recorded in the manifest', async () => {
    await loadBuiltinEntities();
    const hyper = { dim: 16, hidden: 32, dilations: [1, 2], epochs: 2, patience: 2 };
    const features = { buckets: 4096 };
    const teacherDir = join(dir, 'teacher');
    buildModel({ source: specFile, out: teacherDir, seed: 3, hyper, features });
    // a teacher read back from its directory computes what its int8 graph computes
    const loaded = loadTeacher(teacherDir);
    const out = await onnxOutputs(
      (await import('node:fs')).readFileSync(join(teacherDir, 'model.onnx')),
      loaded,
      sentences[0]!,
      { ...smallInput(), features: loaded.features },
    );
    const ref = forward(loaded.config, loaded.params, out.f);
    assert.ok(maxDiff(out.intentLogits, ref.intentLogits) < 1e-3);

    const { manifest } = buildModel({
      source: specFile,
      out: join(dir, 'student'),
      seed: 3,
      hyper: { ...hyper, hidden: 24 },
      features,
      compress: {
        teacher: teacherDir,
        keepChannels: 16,
        sparsity: 0.5,
        pruneEpochs: 1,
        embeddingBits: 4,
        teacherAugment: 1,
      },
    });
    assert.equal(manifest.model.opset, 21);
    assert.equal(manifest.config.hidden, 16);
    const c = manifest.compression as {
      distillation: { teacher: { source: string } };
      pruning: { sparsity?: number; measuredSparsity?: number }[];
      quantization: { embeddingBits: number };
      teacherAugmentation: { variants: number; kept: number; droppedOutOfScope: number };
    };
    assert.ok(c.teacherAugmentation.kept > 0);
    assert.equal(
      c.teacherAugmentation.kept + c.teacherAugmentation.droppedOutOfScope,
      c.teacherAugmentation.variants,
    );

    // --init: prune and fine-tune the built teacher itself instead of training a new model
    const tuned = buildModel({
      source: specFile,
      out: join(dir, 'pruned'),
      seed: 3,
      hyper,
      features,
      compress: { init: teacherDir, keepChannels: 16, pruneEpochs: 1 },
    }).manifest;
    assert.equal(tuned.config.hidden, 16);
    const t = tuned.compression as {
      init: { from: string; dev: { intentAccuracy: number } };
      pruning: { hidden: { from: number; to: number } }[];
    };
    assert.equal(t.init.from, teacherDir);
    assert.deepEqual(t.pruning[0]!.hidden, { from: 32, to: 16 });
    assert.ok(tuned.training.epochs <= 1, `fine-tuning only: ${tuned.training.epochs} epochs`);
    assert.throws(
      () =>
        buildModel({
          source: specFile,
          out: join(dir, 'x'),
          hyper,
          features: { buckets: 2048 },
          compress: { init: teacherDir },
        }),
      /other features \(buckets 4096\)/,
    );
    assert.equal(c.distillation.teacher.source, teacherDir);
    assert.equal(c.pruning.length, 2);
    assert.ok(c.pruning[1]!.measuredSparsity! >= 0.5);
    assert.equal(c.quantization.embeddingBits, 4);
  });

  test('--fine-tune: born-again from itself in one run, kept only when dev improves, same bytes per seed', async () => {
    await loadBuiltinEntities();
    const hyper = { dim: 16, hidden: 24, dilations: [1, 2], epochs: 2, patience: 2 };
    const build = (out: string) =>
      buildModel({
        source: specFile,
        out: join(dir, out),
        seed: 5,
        hyper,
        features: { buckets: 4096 },
        compress: { fineTuneEpochs: 1, teacherAugment: 1 },
      }).manifest;
    const manifest = build('born-again');
    const c = manifest.compression as {
      fineTune: {
        teacher: string;
        epochs: number;
        baseEpochs: number;
        before: Metrics;
        after: Metrics;
        kept: string;
      };
      teacherAugmentation: { kept: number };
    };
    assert.equal(c.fineTune.teacher, 'itself');
    assert.equal(c.fineTune.baseEpochs, 2);
    assert.ok(c.teacherAugmentation.kept > 0);
    const score = (m: Metrics) => m.intentAccuracy + m.slotF1 + m.exactMatch;
    const keptTuned = c.fineTune.kept === 'fine-tuned';
    assert.equal(keptTuned, score(c.fineTune.after) > score(c.fineTune.before));
    const kept = keptTuned ? c.fineTune.after : c.fineTune.before;
    assert.equal(score(manifest.metrics.dev.int8), score(kept)); // judged as shipped: quantized
    assert.equal(build('born-again-again').model.sha256, manifest.model.sha256);
  });
});
