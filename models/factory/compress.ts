/**
 * Compression steps of the factory: teachers for knowledge distillation (trained in the run or read back from
 * a model directory), magnitude pruning masks, and structured pruning of hidden channels. Pure model math; the
 * order of the steps and what the manifest records live in build.ts.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Float16Array } from '@petamoriken/float16';
import type { Manifest } from './artifact.ts';
import type { Example } from './dataset.ts';
import { bioSpans, viterbi } from './decode.ts';
import { type FeatureSettings, featurize, type Gazetteer } from './features.ts';
import { computeMetrics } from './metrics.ts';
import { forward, type ModelConfig, type Params, paramShapes, softmax } from './model.ts';
import { DataType, onnxModelType } from './onnx-proto.ts';
import { unpackInt4 } from './quantize.ts';
import { tokenize } from './text.ts';
import {
  crfOf,
  NONE_INTENT,
  type Prepared,
  type SoftTargets,
  type TrainedModel,
  type TrainInput,
  topIntent,
} from './train.ts';
import type { Variant } from './variants.ts';

/** A model that can label sentences for a student: its own features, intents and tags. */
export interface Teacher {
  config: ModelConfig;
  params: Params;
  intents: string[];
  tags: string[];
  features: FeatureSettings;
  gazetteer: Gazetteer;
  /** Out-of-scope threshold on the top real intent's probability (what the teacher ships with). */
  threshold?: number;
}

/** Weight matrices pruning applies to (biases and CRF parameters are tiny and stay dense). */
export function prunableNames(params: Params): string[] {
  return Object.keys(params).filter((n) => n === 'emb' || n.endsWith('.w') || n.endsWith('.pw'));
}

/** 0/1 masks keeping the largest-magnitude (1 − sparsity) of each tensor's weights. */
export function magnitudeMasks(params: Params, sparsity: number, names = prunableNames(params)): Params {
  if (!(sparsity >= 0 && sparsity < 1)) throw new Error(`sparsity must be in [0, 1), got ${sparsity}`);
  const masks: Params = {};
  for (const name of names) {
    const p = params[name]!;
    const drop = Math.floor(p.length * sparsity);
    const mask = new Float32Array(p.length).fill(1);
    if (drop > 0) {
      // the drop-th smallest magnitude; typed-array sort (numeric, fast on the 1.5M-weight table)
      const threshold = Float32Array.from(p, Math.abs).sort()[drop - 1]!;
      let dropped = 0;
      for (let i = 0; i < p.length && dropped < drop; i++) {
        if (Math.abs(p[i]!) < threshold) {
          mask[i] = 0;
          dropped++;
        }
      }
      // weights equal to the threshold, in index order, until exactly `drop` are gone
      for (let i = 0; i < p.length && dropped < drop; i++) {
        if (mask[i] === 1 && Math.abs(p[i]!) === threshold) {
          mask[i] = 0;
          dropped++;
        }
      }
    }
    masks[name] = mask;
  }
  return masks;
}

/** Fraction of exactly-zero weights over the given tensors. */
export function sparsityOf(params: Params, names = prunableNames(params)): number {
  let zeros = 0;
  let total = 0;
  for (const name of names) {
    const p = params[name]!;
    total += p.length;
    for (const v of p) if (v === 0) zeros++;
  }
  return total === 0 ? 0 : zeros / total;
}

/**
 * Structured pruning: drops the hidden channels with the smallest weight norm. The residual connections tie
 * channel h of every layer together, so a channel is removed from all layers and from the heads at once; the
 * result is a genuinely narrower network (smaller file, less compute).
 */
export function pruneChannels(
  config: ModelConfig,
  params: Params,
  keep: number,
): { config: ModelConfig; params: Params; kept: number[] } {
  const H = config.hidden;
  if (!(keep >= 1 && keep <= H)) throw new Error(`keep must be 1..${H} channels, got ${keep}`);
  const shapes = paramShapes(config);
  const norm = new Float64Array(H);
  config.dilations.forEach((_, l) => {
    const [K, cin] = shapes[`conv${l}.w`]!;
    const w = params[`conv${l}.w`]!;
    for (let j = 0; j < K!; j++)
      for (let c = 0; c < cin!; c++) for (let h = 0; h < H; h++) norm[h]! += w[(j * cin! + c) * H + h]! ** 2;
  });
  const rowsNorm = (name: string, rowsPerChannel: number[]) => {
    const cols = shapes[name]![1]!;
    const w = params[name]!;
    for (let h = 0; h < H; h++)
      for (const offset of rowsPerChannel)
        for (let o = 0; o < cols; o++) norm[h]! += w[(offset + h) * cols + o]! ** 2;
  };
  rowsNorm('intent.w', [0, H]);
  rowsNorm('slot.pw', [0, H]);
  rowsNorm('slot.w', [0]);
  const kept = Array.from(norm.keys())
    .sort((a, b) => norm[b]! - norm[a]! || a - b)
    .slice(0, keep)
    .sort((a, b) => a - b);
  const next: ModelConfig = { ...config, hidden: keep };
  const out: Params = { ...params };
  config.dilations.forEach((_, l) => {
    const [K, cin] = shapes[`conv${l}.w`]!;
    const inputs = l === 0 ? Array.from({ length: cin! }, (_, c) => c) : kept;
    const w = params[`conv${l}.w`]!;
    const nw = new Float32Array(K! * inputs.length * keep);
    for (let j = 0; j < K!; j++) {
      for (let ci = 0; ci < inputs.length; ci++) {
        for (let hi = 0; hi < keep; hi++)
          nw[(j * inputs.length + ci) * keep + hi] = w[(j * cin! + inputs[ci]!) * H + kept[hi]!]!;
      }
    }
    out[`conv${l}.w`] = nw;
    out[`conv${l}.b`] = Float32Array.from(kept, (h) => params[`conv${l}.b`]![h]!);
  });
  const selectRows = (name: string, rows: number[]) => {
    const cols = shapes[name]![1]!;
    const w = params[name]!;
    const nw = new Float32Array(rows.length * cols);
    for (let i = 0; i < rows.length; i++)
      nw.set(w.subarray(rows[i]! * cols, (rows[i]! + 1) * cols), i * cols);
    out[name] = nw;
  };
  const pooledRows = [...kept, ...kept.map((h) => H + h)];
  selectRows('intent.w', pooledRows);
  selectRows('slot.pw', pooledRows);
  selectRows('slot.w', kept);
  return { config: next, params: out, kept };
}

/** Soft targets of a teacher ensemble (mean logits and emissions), indexed like the student. */
export function teacherTargets(
  teachers: readonly Teacher[],
  intents: readonly string[],
  tags: readonly string[],
): (d: Prepared) => SoftTargets {
  const maps = teachers.map((t) => {
    const index = (names: readonly string[], own: readonly string[], what: string) =>
      names.map((n) => {
        const i = own.indexOf(n);
        if (i < 0)
          throw new Error(`distillation: the teacher has no ${what} "${n}" (trained on other data?)`);
        return i;
      });
    return { intents: index(intents, t.intents, 'intent'), tags: index(tags, t.tags, 'tag') };
  });
  return (d) => {
    const T = d.tagged.tokens.length;
    const intentLogits = new Float32Array(intents.length);
    const emissions = new Float32Array(T * tags.length);
    teachers.forEach((teacher, k) => {
      const f = featurize(d.tagged.tokens, teacher.features, teacher.gazetteer);
      const a = forward(teacher.config, teacher.params, f);
      const map = maps[k]!;
      const n = teacher.tags.length;
      map.intents.forEach((ti, i) => {
        intentLogits[i]! += a.intentLogits[ti]! / teachers.length;
      });
      for (let t = 0; t < T; t++)
        map.tags.forEach((ti, j) => {
          emissions[t * tags.length + j]! += a.emissions[t * n + ti]! / teachers.length;
        });
    });
    return { intentLogits, emissions };
  };
}

/** Reads a built model directory back into weights for the TS forward pass (int8/int4 dequantized). */
export function loadTeacher(dir: string): Teacher {
  const manifest = JSON.parse(readFileSync(resolve(dir, 'manifest.json'), 'utf8')) as Manifest;
  const fp32 = manifest.extraFiles?.find((f) => f.file === 'model.fp32.onnx');
  const bytes = readFileSync(resolve(dir, fp32 ? fp32.file : manifest.model.file));
  const decoded = onnxModelType().decode(bytes) as unknown as {
    graph: { initializer: { name: string; dims: unknown[]; data_type: number; raw_data: Uint8Array }[] };
  };
  const inits = new Map(decoded.graph.initializer.map((t) => [t.name, t]));
  const raw = (name: string) => Uint8Array.from(inits.get(name)!.raw_data); // aligned copy
  const floats = (name: string) =>
    inits.get(name)!.data_type === DataType.FLOAT16
      ? Float32Array.from(new Float16Array(raw(name).buffer))
      : new Float32Array(raw(name).buffer);
  const config = manifest.config;
  const params: Params = {};
  for (const [name, shape] of Object.entries(paramShapes(config))) {
    if (name.startsWith('crf.')) continue;
    let values: Float32Array;
    if (inits.has(name)) values = floats(name);
    else {
      const q = inits.get(`${name}.q`);
      if (!q) throw new Error(`${dir}: the graph has no weight ${name}`);
      const scales = floats(`${name}.scale`);
      const data = raw(`${name}.q`);
      const count = shape.reduce((a, b) => a * b, 1);
      const ints = q.data_type === DataType.INT4 ? unpackInt4(data, count) : new Int8Array(data.buffer);
      // stored layout: conv [out][in][k] (scale per axis 0); emb per row; heads per column (last axis)
      const dims = q.dims.map(Number);
      const inner = dims.slice(name.startsWith('conv') || name === 'emb' ? 1 : 2).reduce((a, b) => a * b, 1);
      const channels = scales.length;
      values = Float32Array.from(ints, (v, i) => v * scales[Math.floor(i / inner) % channels]!);
    }
    if (name.startsWith('conv') && name.endsWith('.w')) values = fromConvLayout(values, shape);
    params[name] = values;
  }
  params['crf.trans'] = Float32Array.from(manifest.crf.transitions);
  params['crf.start'] = Float32Array.from(manifest.crf.start);
  params['crf.end'] = Float32Array.from(manifest.crf.end);
  return {
    config,
    params,
    intents: manifest.intents,
    tags: manifest.tags,
    features: manifest.features,
    gazetteer: manifest.gazetteer,
    threshold: manifest.threshold,
  };
}

/** ONNX Conv layout [out][in][kernel] → training layout [kernel][in][out]. */
function fromConvLayout(w: Float32Array, shape: number[]): Float32Array {
  const [kernel, cin, h] = shape as [number, number, number];
  const out = new Float32Array(w.length);
  for (let j = 0; j < kernel; j++)
    for (let c = 0; c < cin; c++)
      for (let o = 0; o < h; o++) out[(j * cin + c) * h + o] = w[(o * cin + c) * kernel + j]!;
  return out;
}

/** A copy of `params` with every weight whose mask is 0 set to zero. */
export function applyMasksCopy(params: Params, masks: Params): Params {
  const out: Params = { ...params };
  for (const [name, mask] of Object.entries(masks))
    out[name] = params[name]!.map((v, i) => (mask[i] === 0 ? 0 : v));
  return out;
}

/** Teacher-labelled augmented sentences, and how many were dropped (out of scope or unsure). */
export interface TeacherLabelled {
  examples: Example[];
  /** The training sentence each kept example was made from (parallel to `examples`). */
  sources: Example[];
  dropped: number;
  /** Kept sentences whose teacher intent is the intent of the sentence they were made from. */
  sameIntent: number;
}

/**
 * Labels unlabelled sentences with a teacher ensemble: intent = top real intent of the mean logits, slots =
 * Viterbi over the mean emissions with the first teacher's CRF. Sentences the ensemble calls out of scope
 * (below `minConfidence`, default the first teacher's threshold) are dropped rather than taught as in-scope.
 */
export function labelByTeachers(
  teachers: readonly Teacher[],
  texts: readonly Variant[],
  minConfidence = teachers[0]?.threshold ?? 0.5,
): TeacherLabelled {
  const first = teachers[0]!;
  const targets = teacherTargets(teachers, first.intents, first.tags);
  const crf = crfOf({ params: first.params, tags: first.tags });
  const examples: Example[] = [];
  const sources: Example[] = [];
  let dropped = 0;
  let sameIntent = 0;
  for (const { text, source } of texts) {
    const tokens = tokenize(text);
    if (tokens.length === 0) {
      dropped++;
      continue;
    }
    // teacherTargets featurizes per teacher from the tokens; the student's own features are not needed here
    const soft = targets({ tagged: { tokens } } as unknown as Prepared);
    const top = topIntent(softmax(soft.intentLogits), first.intents);
    if (top.index < 0 || first.intents[top.index] === NONE_INTENT || top.confidence < minConfidence) {
      dropped++;
      continue;
    }
    const tags = viterbi(soft.emissions, tokens.length, crf).map((t) => first.tags[t]!);
    const spans = bioSpans(tags).map((s) => ({
      slot: s.slot,
      start: tokens[s.first]!.start,
      end: tokens[s.last]!.end,
    }));
    const intent = first.intents[top.index]!;
    if (intent === source.intent) sameIntent++;
    examples.push({ text, intent, spans });
    sources.push(source);
  }
  return { examples, sources, dropped, sameIntent };
}

/**
 * A built model directory as a trained model to prune and fine-tune (`sling train --init`). Its features must be
 * the ones this run computes, or its weights would be read through other hash buckets.
 */
export function loadTrainedModel(dir: string, input: Pick<TrainInput, 'features'>): TrainedModel {
  const t = loadTeacher(dir);
  const differs = (Object.keys(input.features) as (keyof FeatureSettings)[]).filter(
    (k) => t.features[k] !== input.features[k],
  );
  if (differs.length > 0)
    throw new Error(
      `--init ${dir}: the model was built with other features (${differs.map((k) => `${k} ${t.features[k]}`).join(', ')}); pass the same --buckets`,
    );
  return {
    config: t.config,
    params: t.params,
    intents: t.intents,
    tags: t.tags,
    slots: [...new Set(t.tags.filter((x) => x !== 'O').map((x) => x.slice(2)))].sort(),
    threshold: t.threshold ?? 0.5,
    devMetrics: computeMetrics([]),
    epochsRun: 0,
    bestEpoch: 0,
    trainSeconds: 0,
  };
}
