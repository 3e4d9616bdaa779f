/** Training loop: Adam (lazy on the embedding table), dropout, early stopping on dev, threshold calibration. */
import { type Example, type TaggedExample, tagExample } from './dataset.ts';
import { bioSpans, viterbi } from './decode.ts';
import {
  type FeatureSettings,
  featurize,
  type Gazetteer,
  gazetteerDim,
  type SentenceFeatures,
} from './features.ts';
import { defaultWorkers, ShardedGradients, shareParams } from './gradient-workers.ts';
import { allowedStarts, allowedTransitions, bioTags } from './labels.ts';
import { computeMetrics, type Judged, type Metrics } from './metrics.ts';
import {
  backward,
  crfCache,
  crfLoss,
  forward,
  initParams,
  type ModelConfig,
  type Params,
  paramShapes,
  softmax,
} from './model.ts';
import { syntheticNegatives } from './negatives.ts';
import { mulberry32, shuffleInPlace } from './rng.ts';
import type { ShardSentence } from './shards.ts';
import type { SoftTargets } from './soft-loss.ts';

/** The label every out-of-scope training sentence gets; never reported as an intent. */
export const NONE_INTENT = '<none>';

export interface Hyper {
  dim: number;
  hidden: number;
  dilations: number[];
  kernel: number;
  epochs: number;
  batch: number;
  lr: number;
  patience: number;
  embDropout: number;
  hiddenDropout: number;
  wordDropout: number;
  clip: number;
  /** Learning rate multiplier per epoch after the second. */
  lrDecay: number;
  /** Evaluate and keep an exponential moving average of the weights (0 = off). */
  ema: number;
  /**
   * Each batch is cut into this many shards whose gradients are summed in order: worker threads share the
   * shards, and the result does not depend on how many threads there are.
   */
  shards: number;
  /** Weight of the intent cross-entropy against the CRF NLL (absent: 1). */
  intentWeight?: number;
  /** Label smoothing of the intent target (absent: 0). */
  labelSmoothing?: number;
}

export const defaultHyper: Hyper = {
  dim: 48,
  hidden: 96,
  dilations: [1, 2, 4],
  kernel: 3,
  epochs: 30,
  batch: 16,
  lr: 0.002,
  patience: 4,
  embDropout: 0.2,
  hiddenDropout: 0.2,
  wordDropout: 0.15,
  clip: 5,
  lrDecay: 0.85,
  ema: 0.998,
  shards: 2,
};

export interface TrainInput {
  train: Example[];
  dev?: Example[];
  gazetteer: Gazetteer;
  features: FeatureSettings;
  hyper: Hyper;
  seed: number;
  progress?: (line: string, final: boolean) => void;
  /** Start from these weights (fine-tuning after pruning) instead of a fresh initialisation. */
  init?: { config: ModelConfig; params: Params };
  /** 0/1 per weight: pruned weights stay zero through every update. */
  masks?: Params;
  /** Knowledge distillation: also fit the teacher's soft intent and per-token tag distributions. */
  distill?: Distillation;
  /** The gazetteer a training sentence is featurized with (leave-out folds); default `gazetteer`. */
  gazetteerFor?: (example: Example) => Gazetteer;
  /** Threads computing gradients (default: both cores of a 2-core machine); never changes the result. */
  workers?: number;
}

export interface Distillation {
  /** Given the student's intents and tags, the teacher's outputs for a sentence indexed like them. */
  teacher: (intents: readonly string[], tags: readonly string[]) => (d: Prepared) => SoftTargets;
  /** Softmax temperature of both distributions (Hinton et al.: gradients scaled by T). */
  temperature: number;
  /** Weight of the soft loss; the hard (gold) loss gets 1 - alpha. */
  alpha: number;
}

export interface Prepared {
  tagged: TaggedExample;
  f: SentenceFeatures;
  tags: Int32Array;
  intent: number;
}

export interface TrainedModel {
  config: ModelConfig;
  params: Params;
  intents: string[];
  tags: string[];
  slots: string[];
  threshold: number;
  /** How the threshold splits its calibration set (absent: not trained here, e.g. read back from a directory). */
  calibration?: Calibration;
  devMetrics: Metrics;
  epochsRun: number;
  bestEpoch: number;
  trainSeconds: number;
  /** Gradient threads: at most `max`; batches computed with the workers out of all (the rest: one thread). */
  threads?: { max: number; parallelBatches: number; batches: number };
}

export function prepare(
  examples: readonly Example[],
  intents: string[],
  tags: string[],
  input: TrainInput,
): Prepared[] {
  const tagIndex = new Map(tags.map((t, i) => [t, i]));
  const intentIndex = new Map(intents.map((t, i) => [t, i]));
  return examples
    .map((example) => tagExample(example))
    .filter((tagged) => tagged.tokens.length > 0)
    .map((tagged) => ({
      tagged,
      f: featurize(tagged.tokens, input.features, input.gazetteerFor?.(tagged.example) ?? input.gazetteer),
      tags: Int32Array.from(tagged.tags, (t) => tagIndex.get(t) ?? 0),
      intent: intentIndex.get(tagged.example.intent ?? NONE_INTENT) ?? -1,
    }));
}

export { type SoftTargets, softLoss } from './soft-loss.ts';

/** Inference with the TS forward pass (the ONNX graph computes the same). */
export interface Prediction {
  probs: Float32Array;
  tags: number[];
  emissions: Float32Array;
  intentLogits: Float32Array;
}

export function predict(
  model: Pick<TrainedModel, 'config' | 'params' | 'tags'>,
  f: SentenceFeatures,
): Prediction {
  const a = forward(model.config, model.params, f);
  const crf = crfOf(model);
  return {
    probs: softmax(a.intentLogits),
    tags: viterbi(a.emissions, a.T, crf),
    emissions: a.emissions,
    intentLogits: a.intentLogits,
  };
}

export function crfOf(model: Pick<TrainedModel, 'params' | 'tags'>) {
  return {
    tags: model.tags.length,
    transitions: model.params['crf.trans']!,
    start: model.params['crf.start']!,
    end: model.params['crf.end']!,
    allowed: allowedTransitions(model.tags),
    allowedStart: allowedStarts(model.tags),
  };
}

/** Top real intent (never the none class) and its probability. */
export function topIntent(
  probs: Float32Array,
  intents: readonly string[],
): { index: number; confidence: number } {
  let index = -1;
  for (let i = 0; i < probs.length; i++) {
    if (intents[i] === NONE_INTENT) continue;
    if (index < 0 || probs[i]! > probs[index]!) index = i;
  }
  return { index, confidence: index < 0 ? 0 : probs[index]! };
}

export function judge(
  model: TrainedModel,
  data: readonly Prepared[],
  threshold: number,
  /** Receives each sentence's prediction (dev loss without a second forward pass). */
  onPrediction?: (pred: Prediction, d: Prepared) => void,
): Judged[] {
  return data.map((d) => {
    const pred = predict(model, d.f);
    onPrediction?.(pred, d);
    const top = topIntent(pred.probs, model.intents);
    const toSpans = (tags: readonly string[]) =>
      bioSpans(tags).map((s) => ({ slot: s.slot, start: s.first, end: s.last }));
    return {
      goldIntent: d.tagged.example.intent,
      predIntent: model.intents[top.index] ?? null,
      understood: top.confidence >= threshold,
      goldSpans: toSpans(d.tagged.tags),
      predSpans: toSpans(pred.tags.map((t) => model.tags[t]!)),
    };
  });
}

/**
 * Threshold on the top intent's probability that best separates in-scope sentences the model gets right from
 * the rest, by balanced error: the share of right in-scope sentences refused plus the share of the others
 * accepted. Counting errors instead let the size of the synthetic negative set decide how much a false accept
 * weighs (models/README.md, "Threshold calibration").
 */
export function calibrateThreshold(scores: { confidence: number; positive: boolean }[]): number {
  const sorted = [...scores].sort((a, b) => a.confidence - b.confidence);
  const positives = sorted.filter((s) => s.positive).length;
  const negatives = sorted.length - positives;
  // cost[i] (balanced error × positives × negatives, an integer): threshold just above sorted[i - 1]
  let refused = 0;
  let accepted = negatives;
  const cost = [accepted * positives];
  for (const s of sorted) {
    if (s.positive) refused++;
    else accepted--;
    cost.push(refused * negatives + accepted * positives);
  }
  const min = Math.min(...cost);
  const cut = (i: number) =>
    i === 0 ? 0 : i === sorted.length ? 1 : (sorted[i - 1]!.confidence + sorted[i]!.confidence) / 2;
  // the widest run of best cuts
  let best = { from: 0, to: 0 };
  for (let i = 0; i < cost.length; i++) {
    if (cost[i] !== min) continue;
    let j = i;
    while (j + 1 < cost.length && cost[j + 1] === min) j++;
    if (cut(j) - cut(i) >= cut(best.to) - cut(best.from) || cost[best.from] !== min)
      best = { from: i, to: j };
    i = j;
  }
  // a third of the way up: the in-scope sentences here come from the same templates as training, so real
  // paraphrases score lower than they do; leave them more room than the negatives
  return cut(best.from) + (cut(best.to) - cut(best.from)) / 3;
}

/** Calibration sentences: in-scope ones the model gets right, the rest, and which side of the threshold each is. */
export interface Calibration {
  right: number;
  others: number;
  /** Right in-scope sentences below the threshold (refused). */
  refusedRight: number;
  /** Other sentences at or above it (accepted: negatives, or in-scope ones with the wrong intent). */
  acceptedOthers: number;
}

export function calibrationOf(
  scores: readonly { confidence: number; positive: boolean }[],
  threshold: number,
): Calibration {
  const right = scores.filter((s) => s.positive);
  const others = scores.filter((s) => !s.positive);
  return {
    right: right.length,
    others: others.length,
    refusedRight: right.filter((s) => s.confidence < threshold).length,
    acceptedOthers: others.filter((s) => s.confidence >= threshold).length,
  };
}

const minEpochSentences = 400;

export function trainModel(input: TrainInput): TrainedModel {
  const started = performance.now();
  const { hyper, seed } = input;
  const rng = mulberry32(seed);
  let dev = input.dev;
  let train = input.train;
  if (!dev) ({ train, dev } = holdOutDev(train, seed));
  const vocabulary = [
    ...new Set(train.flatMap((e) => e.text.toLowerCase().split(/\s+/)).filter((w) => w.length > 0)),
  ].sort();
  const trainNegatives = syntheticNegatives(
    vocabulary,
    0,
    seed,
    Math.max(60, Math.min(600, train.length / 20)),
  );
  const devNegatives = syntheticNegatives(vocabulary, 1, seed, Math.max(60, Math.min(300, dev.length / 2)));
  const intents = [
    ...new Set(train.map((e) => e.intent).filter((i): i is string => i !== null)),
    NONE_INTENT,
  ].sort();
  const slots = [...new Set([...train, ...dev].flatMap((e) => e.spans.map((s) => s.slot)))].sort();
  const tags = bioTags(slots);
  const config: ModelConfig = {
    buckets: input.features.buckets,
    dim: hyper.dim,
    gazDim: gazetteerDim(input.gazetteer),
    hidden: hyper.hidden,
    kernel: hyper.kernel,
    dilations: hyper.dilations,
    intents: intents.length,
    tags: tags.length,
  };
  const data = prepare([...balance(train), ...trainNegatives], intents, tags, input);
  const devData = prepare(dev, intents, tags, input);
  const calibration = prepare([...dev, ...devNegatives], intents, tags, input);
  if (input.init) config.hidden = input.init.config.hidden; // structured pruning may have narrowed it
  if (input.init) {
    const same = JSON.stringify({ ...input.init.config }) === JSON.stringify(config);
    if (!same)
      throw new Error('fine-tuning: the initial weights were trained on other intents, tags or sizes');
  }
  const initial = input.init ? cloneParams(input.init.params) : initParams(config, rng);
  // workers read the weights from shared memory; one thread needs no sharing
  const workersWanted = input.workers ?? defaultWorkers(Math.max(1, hyper.shards));
  const params = workersWanted > 1 ? shareParams(initial) : initial;
  const masks = input.masks;
  if (masks) applyMasks(params, masks);
  const m: Params = {};
  const v: Params = {};
  for (const [name, p] of Object.entries(params)) {
    m[name] = new Float32Array(p.length);
    v[name] = new Float32Array(p.length);
  }
  const allowed = allowedTransitions(tags);
  const allowedStart = allowedStarts(tags);
  // Polyak averaging: the averaged weights are what dev scores and what ships
  const ema = hyper.ema > 0 ? cloneParams(params) : params;
  const model: TrainedModel = {
    config,
    params: ema,
    intents,
    tags,
    slots,
    threshold: 0,
    devMetrics: computeMetrics([]),
    epochsRun: 0,
    bestEpoch: 0,
    trainSeconds: 0,
  };
  const distill = input.distill;
  // teacher outputs once per sentence, before the workers get their copy of the data
  const teacherOf = distill?.teacher(intents, tags);
  const shardData: ShardSentence[] = data.map((d) => ({
    f: d.f,
    tags: d.tags,
    intent: d.intent,
    inScope: d.tagged.example.intent !== null,
    soft: teacherOf?.(d),
  }));
  const shards = Math.max(1, hyper.shards);
  const threads = Math.max(1, Math.min(shards, input.workers ?? defaultWorkers(shards)));
  const sharded = new ShardedGradients(
    params,
    {
      config,
      seed,
      embDropout: hyper.embDropout,
      hiddenDropout: hyper.hiddenDropout,
      wordDropout: hyper.wordDropout,
      distill: distill && { temperature: distill.temperature, alpha: distill.alpha },
      intentWeight: hyper.intentWeight,
      labelSmoothing: hyper.labelSmoothing,
    },
    shardData,
    shards,
    threads,
    allowed,
    allowedStart,
    hyper.batch,
    input.workers === undefined,
  );
  const grads = sharded.grads[0]!;
  const b1 = 0.9;
  const b2 = 0.999;
  const eps = 1e-8;
  let step = 0;
  let best: { score: number; devLoss: number; params: Params; metrics: Metrics; epoch: number } | undefined;
  let stale = 0;
  // tiny specs: an epoch is at least minEpochSentences draws, so early stopping sees enough updates
  const order = Array.from({ length: Math.max(data.length, minEpochSentences) }, (_, i) => i % data.length);
  const D = config.dim;
  const epochTimes: number[] = [];
  try {
    for (let epoch = 1; epoch <= hyper.epochs; epoch++) {
      const epochStart = performance.now();
      shuffleInPlace(order, rng);
      let lossSum = 0;
      let cache = crfCache(params, allowed, allowedStart, tags.length);
      for (let b0 = 0; b0 < order.length; b0 += hyper.batch) {
        const batch = order.slice(b0, b0 + hyper.batch);
        const result = sharded.compute(batch, step, cache);
        lossSum += result.loss;
        const touched = result.touched;
        // gradient of the batch mean, clipped by global norm
        const scale = 1 / batch.length;
        let norm = 0;
        for (const [name, g] of Object.entries(grads)) {
          if (name === 'emb') {
            for (const row of touched) {
              for (let d = 0; d < D; d++) {
                g[row * D + d]! *= scale;
                norm += g[row * D + d]! ** 2;
              }
            }
          } else {
            for (let i = 0; i < g.length; i++) {
              g[i]! *= scale;
              norm += g[i]! ** 2;
            }
          }
        }
        const clip = Math.sqrt(norm) > hyper.clip ? hyper.clip / Math.sqrt(norm) : 1;
        step++;
        const base = hyper.lr * hyper.lrDecay ** Math.max(0, epoch - 2);
        const lr = (base * Math.sqrt(1 - b2 ** step)) / (1 - b1 ** step);
        const update = (name: string, i: number) => {
          const g = grads[name]![i]! * clip;
          const mi = b1 * m[name]![i]! + (1 - b1) * g;
          const vi = b2 * v[name]![i]! + (1 - b2) * g * g;
          m[name]![i] = mi;
          v[name]![i] = vi;
          params[name]![i]! -= (lr * mi) / (Math.sqrt(vi) + eps);
          grads[name]![i] = 0;
        };
        for (const name of Object.keys(params)) {
          if (name === 'emb') {
            for (const row of touched) for (let d = 0; d < D; d++) update(name, row * D + d);
          } else {
            for (let i = 0; i < params[name]!.length; i++) update(name, i);
          }
        }
        if (masks) applyMasks(params, masks);
        if (ema !== params) {
          // horizon at most one epoch, so small specs (few steps) are not averaged towards their first epochs
          const d = Math.min(hyper.ema, 1 - hyper.batch / order.length, (1 + step) / (10 + step));
          for (const name of Object.keys(params)) {
            const e = ema[name]!;
            const p = params[name]!;
            for (let i = 0; i < p.length; i++) e[i] = d * e[i]! + (1 - d) * p[i]!;
          }
        }
        cache = crfCache(params, allowed, allowedStart, tags.length);
        if (input.progress && (b0 / hyper.batch) % 50 === 0) {
          const done = (b0 + batch.length) / order.length;
          const elapsed = (performance.now() - epochStart) / 1000;
          const perEpoch = epochTimes.length > 0 ? epochTimes.at(-1)! : elapsed / Math.max(done, 1e-6);
          const eta = perEpoch * (1 - done) + perEpoch * (hyper.epochs - epoch);
          input.progress(
            `epoch ${epoch}/${hyper.epochs} ${(done * 100).toFixed(0).padStart(3)}%  loss ${(lossSum / (b0 + batch.length)).toFixed(4)}  ETA ≤ ${formatSeconds(eta)}`,
            false,
          );
        }
      }
      epochTimes.push((performance.now() - epochStart) / 1000);
      // ties (common on small specs, where dev is soon perfect) go to the more confident model
      let devLoss = 0;
      const metrics = computeMetrics(
        judge(model, devData, 0, (pred, d) => {
          devLoss -= Math.log(Math.max(pred.probs[d.intent] ?? 1, 1e-12));
        }),
      );
      const score = metrics.intentAccuracy + metrics.slotF1 + metrics.exactMatch;
      model.epochsRun = epoch;
      const improved =
        !best ||
        score > best.score + 1e-9 ||
        (Math.abs(score - best.score) <= 1e-9 && devLoss < best.devLoss);
      if (improved) {
        best = { score, devLoss, params: cloneParams(ema), metrics, epoch };
        stale = 0;
      } else stale++;
      input.progress?.(
        `epoch ${epoch}/${hyper.epochs}  loss ${(lossSum / order.length).toFixed(4)}  dev intent ${(metrics.intentAccuracy * 100).toFixed(2)}%  slot F1 ${(metrics.slotF1 * 100).toFixed(2)}  exact ${(metrics.exactMatch * 100).toFixed(2)}%  ${epochTimes.at(-1)!.toFixed(1)}s${improved ? '  *' : ''}  ETA ≤ ${formatSeconds(epochTimes.at(-1)! * (hyper.epochs - epoch))}`,
        true,
      );
      if (stale >= hyper.patience || (metrics.intentAccuracy === 1 && metrics.exactMatch === 1 && epoch >= 8))
        break;
    }
  } finally {
    sharded.close();
    model.threads = {
      max: threads,
      parallelBatches: sharded.timing.parallelBatches,
      batches: sharded.timing.batches,
    };
  }
  model.params = best!.params;
  model.devMetrics = best!.metrics;
  model.bestEpoch = best!.epoch;
  const scores = calibration.map((d) => {
    const top = topIntent(predict(model, d.f).probs, intents);
    const positive = d.tagged.example.intent !== null && intents[top.index] === d.tagged.example.intent;
    return { confidence: top.confidence, positive };
  });
  model.threshold = calibrateThreshold(scores);
  model.calibration = calibrationOf(scores, model.threshold);
  model.trainSeconds = (performance.now() - started) / 1000;
  return model;
}

/**
 * No dev set: a seeded tenth of the template expansions of intents with 20 or more sentences is held out for
 * early stopping and the threshold; the sentences the user wrote (`written`) and intents with a handful of
 * sentences are all trained on. Nothing to hold out: dev is the training set.
 */
export function holdOutDev(examples: Example[], seed: number): { train: Example[]; dev: Example[] } {
  const counts = new Map<string | null, number>();
  for (const e of examples) counts.set(e.intent, (counts.get(e.intent) ?? 0) + 1);
  const pick = mulberry32(seed + 1);
  const held = examples.map((e) => !e.written && (counts.get(e.intent) ?? 0) >= 20 && pick() < 0.1);
  const dev = examples.filter((_, i) => held[i]);
  if (dev.length === 0) return { train: examples, dev: examples };
  return { train: examples.filter((_, i) => !held[i]), dev };
}

/** Repeats the sentences of rare intents (a spec may give five examples next to hundreds of expansions). */
export function balance(examples: readonly Example[]): Example[] {
  const byIntent = new Map<string | null, Example[]>();
  for (const e of examples) byIntent.set(e.intent, [...(byIntent.get(e.intent) ?? []), e]);
  const sizes = [...byIntent.values()].map((l) => l.length).sort((a, b) => a - b);
  const floor = Math.max(20, Math.floor(sizes[sizes.length >> 1]! / 4));
  const out = [...examples];
  for (const list of byIntent.values()) {
    for (let i = list.length; i < floor; i++) out.push(list[i % list.length]!);
  }
  return out;
}

/** Zeroes every weight whose mask is 0 (tensors without a mask are left alone). */
export function applyMasks(params: Params, masks: Params): void {
  for (const [name, mask] of Object.entries(masks)) {
    const p = params[name]!;
    for (let i = 0; i < p.length; i++) if (mask[i] === 0) p[i] = 0;
  }
}

export function cloneParams(p: Params): Params {
  return Object.fromEntries(Object.entries(p).map(([k, a]) => [k, new Float32Array(a)]));
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  return s >= 60 ? `${Math.floor(s / 60)}m${Math.round(s % 60)}s` : `${s.toFixed(0)}s`;
}

export { paramShapes };
