/**
 * Gradients of one shard of a batch: the same code runs on the training thread and in gradient workers.
 *
 * A batch is always cut into the same number of shards (Hyper.shards) whatever the number of threads, each
 * shard accumulates into its own gradient buffer, and the buffers are summed in shard order; the dropout noise
 * of a sentence is seeded from (seed, step, position in the batch), not from a shared stream. So one thread or
 * several compute exactly the same floats in the same order: the same seed gives the same bytes.
 */
import type { SentenceFeatures } from './features.ts';
import {
  backward,
  type CrfCache,
  crfLoss,
  forward,
  type ModelConfig,
  type Params,
  softmax,
} from './model.ts';
import { mulberry32 } from './rng.ts';
import { type SoftTargets, softLoss } from './soft-loss.ts';

/** What a shard needs of one training sentence (plain data: it is cloned into workers). */
export interface ShardSentence {
  f: SentenceFeatures;
  tags: Int32Array;
  intent: number;
  /** Out-of-scope sentences have no tags to fit. */
  inScope: boolean;
  /** Teacher outputs when distilling. */
  soft?: SoftTargets;
}

export interface ShardSettings {
  config: ModelConfig;
  seed: number;
  embDropout: number;
  hiddenDropout: number;
  wordDropout: number;
  /** Knowledge distillation: temperature and weight of the soft loss (absent: gold labels only). */
  distill?: { temperature: number; alpha: number };
  /** Multiplies the intent cross-entropy and its gradient (default 1). */
  intentWeight?: number;
  /** Intent target (1 − e)·one-hot + e/K instead of one-hot (default 0). */
  labelSmoothing?: number;
}

/** [from, to) of shard `s` of a batch of `n` sentences cut into `shards`. */
export function shardRange(n: number, shards: number, s: number): [number, number] {
  const size = Math.ceil(n / shards);
  return [Math.min(n, s * size), Math.min(n, (s + 1) * size)];
}

/** Seed of the dropout noise of the sentence at `position` of the batch of update `step`. */
export function noiseSeed(seed: number, step: number, position: number): number {
  return (
    (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) ^ Math.imul(step, 0x85ebca6b) ^ (position * 0xc2b2ae35)) >>> 0
  );
}

/**
 * Forward + backward of the sentences `batch[from..to)`, accumulated into `grads` (embedding rows into
 * `touched`, in first-touch order). Returns the summed loss.
 */
export function shardGradients(
  settings: ShardSettings,
  params: Params,
  data: readonly ShardSentence[],
  batch: ArrayLike<number>,
  range: [number, number],
  step: number,
  cache: CrfCache,
  grads: Params,
  touched: Set<number>,
): number {
  const { config, distill } = settings;
  const hard = distill ? 1 - distill.alpha : 1;
  const tags = config.tags;
  const intentWeight = settings.intentWeight ?? 1;
  const smoothing = settings.labelSmoothing ?? 0;
  let loss = 0;
  for (let j = range[0]; j < range[1]; j++) {
    const d = data[batch[j]!]!;
    const noise = {
      rng: mulberry32(noiseSeed(settings.seed, step, j)),
      embDropout: settings.embDropout,
      hiddenDropout: settings.hiddenDropout,
      wordDropout: settings.wordDropout,
    };
    const a = forward(config, params, d.f, noise);
    const probs = softmax(a.intentLogits);
    if (smoothing === 0 && intentWeight === 1) {
      loss -= hard * Math.log(Math.max(probs[d.intent]!, 1e-12));
      probs[d.intent]! -= 1;
      if (hard !== 1) for (let o = 0; o < probs.length; o++) probs[o]! *= hard;
    } else intentLoss(probs, d.intent, smoothing, hard * intentWeight, (l) => (loss += l));
    const dEm = new Float32Array(a.emissions.length);
    if (d.inScope) loss += hard * crfLoss(a.emissions, a.T, tags, d.tags, params, cache, dEm, grads, hard);
    if (distill && d.soft) {
      loss +=
        distill.alpha *
        softLoss(a, d.soft, a.T, tags, distill.temperature, { dLogits: probs, dEm, weight: distill.alpha });
    }
    backward(config, params, d.f, a, probs, dEm, grads, touched);
  }
  return loss;
}

/**
 * Intent cross-entropy against the smoothed target q = (1 − e)·one-hot(gold) + e/K, times `weight`: adds the loss
 * through `add` and turns `probs` (the softmax) into its gradient, weight · (probs − q).
 */
export function intentLoss(
  probs: Float32Array,
  gold: number,
  smoothing: number,
  weight: number,
  add: (loss: number) => void,
): void {
  const K = probs.length;
  let loss = 0;
  for (let o = 0; o < K; o++) {
    const q = (o === gold ? 1 - smoothing : 0) + smoothing / K;
    if (q > 0) loss -= q * Math.log(Math.max(probs[o]!, 1e-12));
    probs[o] = weight * (probs[o]! - q);
  }
  add(weight * loss);
}
