/**
 * Post-training compression of a built model directory (no training data needed): int4 embedding, magnitude
 * pruning and structured channel pruning applied to its weights, written as a new model directory. Without
 * fine-tuning this is the lower bound of what `sling train --sparsity/--keep-channels` reaches; bench:compress
 * uses it to measure the frontier of the committed SNIPS model.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Manifest, writeModelDir } from './artifact.ts';
import { applyMasksCopy, loadTeacher, magnitudeMasks, pruneChannels, sparsityOf } from './compress.ts';
import { buildOnnx, graphOpset, quantizeModel } from './export.ts';
import { featurize } from './features.ts';
import { forward, softmax } from './model.ts';
import { tokenize } from './text.ts';
import { type TrainedModel, topIntent } from './train.ts';

export interface RecompressOptions {
  embeddingBits?: 4 | 8;
  sparsity?: number;
  keepChannels?: number;
}

export function recompressModelDir(src: string, out: string, options: RecompressOptions): Manifest {
  const manifest = JSON.parse(readFileSync(resolve(src, 'manifest.json'), 'utf8')) as Manifest;
  const teacher = loadTeacher(src);
  let config = teacher.config;
  let params = teacher.params;
  const steps: Record<string, unknown>[] = [];
  if (options.keepChannels !== undefined && options.keepChannels < config.hidden) {
    const pruned = pruneChannels(config, params, options.keepChannels);
    steps.push({
      kind: 'structured: hidden channels, no fine-tuning',
      hidden: { from: config.hidden, to: pruned.config.hidden },
    });
    config = pruned.config;
    params = pruned.params;
  }
  if (options.sparsity !== undefined && options.sparsity > 0) {
    params = applyMasksCopy(params, magnitudeMasks(params, options.sparsity));
    steps.push({
      kind: 'magnitude, no fine-tuning',
      sparsity: options.sparsity,
      measuredSparsity: sparsityOf(params),
    });
  }
  const quantizeOptions = { embeddingBits: options.embeddingBits ?? 8 } as const;
  const onnx = buildOnnx(config, params, 'int8', quantizeOptions);
  const model = { config, params } as unknown as TrainedModel;
  const { model: _m, extraFiles: _e, crf: _c, format: _f, version: _v, createdAt: _d, ...rest } = manifest;
  // self-test sentences were checked on the source model: keep those the compressed one still gets right
  const shipped = quantizeModel(config, params, quantizeOptions).params;
  const selfTest = manifest.selfTest?.filter(({ text, intent }) => {
    const f = featurize(tokenize(text), manifest.features, manifest.gazetteer);
    const top = topIntent(softmax(forward(config, shipped, f).intentLogits), manifest.intents);
    return manifest.intents[top.index] === intent && top.confidence >= manifest.threshold;
  });
  return writeModelDir({
    dir: out,
    model,
    onnx,
    opset: graphOpset(quantizeOptions),
    manifest: {
      ...rest,
      config,
      ...(selfTest ? { selfTest } : {}),
      compression: {
        ...(manifest.compression ?? {}),
        postTraining: { from: src, steps, embeddingBits: quantizeOptions.embeddingBits },
      },
    },
  });
}
