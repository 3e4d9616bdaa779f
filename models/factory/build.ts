/** spec.yaml | train.jsonl → trained, quantized model directory. The one entry point `sling train` calls. */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { type Manifest, NORMALIZATION, type SlotInfo, sha256, writeModelDir } from './artifact.ts';
import { type Example, readJsonl } from './dataset.ts';
import { buildOnnx, quantizeModel } from './export.ts';
import { defaultFeatureSettings, type FeatureSettings, type Gazetteer } from './features.ts';
import { computeMetrics, type Judged } from './metrics.ts';
import { expandSpec, loadSpec, slotNameTypes, specGazetteer } from './spec.ts';
import { tokenize } from './text.ts';
import {
  defaultHyper,
  type Hyper,
  judge,
  NONE_INTENT,
  prepare,
  type TrainedModel,
  trainModel,
} from './train.ts';

export interface BuildOptions {
  source: string;
  dev?: string;
  out: string;
  seed?: number;
  hyper?: Partial<Hyper>;
  features?: Partial<FeatureSettings>;
  /** Also write model.fp32.onnx (for comparisons); the int8 model.onnx is what runs. */
  keepFp32?: boolean;
  progress?: (line: string, final: boolean) => void;
}

export interface BuildResult {
  manifest: Manifest;
  model: TrainedModel;
}

export const defaultLimits = { maxChars: 512, maxTokens: 64 };

/** Below this many training sentences the encoder is narrower and shallower (measured: see models/README.md). */
export const smallDataSentences = 3000;
export const smallSpecHyper: Partial<Hyper> = { hidden: 64, dilations: [1, 2] };

interface Source {
  train: Example[];
  gazetteer: Gazetteer;
  slots: Record<string, SlotInfo>;
  lists: Record<string, Record<string, string>>;
  hash: string;
}

function loadSource(file: string, seed: number): Source {
  const raw = readFileSync(file, 'utf8');
  if (file.endsWith('.jsonl')) {
    return {
      train: readJsonl(file),
      gazetteer: { names: [], phrases: [] },
      slots: {},
      lists: {},
      hash: sha256(raw),
    };
  }
  const spec = loadSpec(file);
  const train = expandSpec(spec, seed);
  const slots: Record<string, SlotInfo> = {};
  for (const [name, type] of Object.entries(slotNameTypes(spec))) {
    const decl = spec.slots.get(type)!;
    slots[name] = { type: decl.kind === 'builtin' ? decl.type : decl.name, kind: decl.kind };
  }
  const lists: Record<string, Record<string, string>> = {};
  for (const decl of spec.slots.values()) {
    if (decl.kind !== 'list') continue;
    const map: Record<string, string> = {};
    const norm = (s: string) =>
      tokenize(s)
        .map((t) => t.norm)
        .join(' ');
    for (const [canonical, synonyms] of Object.entries(decl.values)) {
      map[norm(canonical.replace(/_/g, ' '))] ??= canonical;
      for (const s of synonyms) map[norm(s)] = canonical;
    }
    lists[decl.name] = map;
  }
  return { train, gazetteer: specGazetteer(spec), slots, lists, hash: sha256(raw) };
}

/** One sentence per intent that the int8 model got right and understood (at most 40 in all). */
function selfTestSentences(
  data: readonly { tagged: { example: { text: string } } }[],
  judged: readonly Judged[],
): { text: string; intent: string }[] {
  const chosen = new Map<string, string>();
  judged.forEach((j, i) => {
    if (chosen.size >= 40 || !j.understood || j.goldIntent === null || j.goldIntent === NONE_INTENT) return;
    if (j.predIntent === j.goldIntent && !chosen.has(j.goldIntent))
      chosen.set(j.goldIntent, data[i]!.tagged.example.text);
  });
  return [...chosen].map(([intent, text]) => ({ text, intent }));
}

export function buildModel(options: BuildOptions): BuildResult {
  const seed = options.seed ?? 1;
  const source = loadSource(options.source, seed);
  const dev = options.dev ? readJsonl(options.dev) : undefined;
  const features = { ...defaultFeatureSettings, ...options.features };
  // a home-sized spec needs less capacity than a benchmark and must train in seconds
  const small = source.train.length < smallDataSentences ? smallSpecHyper : {};
  const hyper = { ...defaultHyper, ...small, ...options.hyper };
  const input = {
    train: source.train,
    dev,
    gazetteer: source.gazetteer,
    features,
    hyper,
    seed,
    progress: options.progress,
  };
  const model = trainModel(input);
  const quantized = quantizeModel(model.config, model.params);
  const devSet = prepare(dev ?? source.train, model.intents, model.tags, input);
  const fp32Metrics = computeMetrics(judge(model, devSet, model.threshold));
  const int8Judged = judge({ ...model, params: quantized.params }, devSet, model.threshold);
  const int8Metrics = computeMetrics(int8Judged);
  const onnx = buildOnnx(model.config, model.params, 'int8');
  const fp32Onnx = options.keepFp32 ? buildOnnx(model.config, model.params, 'fp32') : undefined;
  const manifest = writeModelDir({
    dir: options.out,
    model,
    onnx,
    fp32Onnx,
    manifest: {
      name: basename(options.out),
      seed,
      trainingData: { sha256: source.hash, examples: source.train.length, source: basename(options.source) },
      normalization: NORMALIZATION,
      features,
      gazetteer: source.gazetteer,
      config: model.config,
      hyper,
      intents: model.intents,
      noneIntent: NONE_INTENT,
      tags: model.tags,
      threshold: model.threshold,
      quantization: {
        scheme:
          'int8 symmetric, per output channel (DequantizeLinear axis); embedding per row (gathered, then scaled)',
        weights: Object.fromEntries(
          Object.entries(quantized.tensors).map(([name, q]) => [
            name,
            { axis: q.axis, channels: q.scales.length },
          ]),
        ),
      },
      slots: source.slots,
      lists: source.lists,
      limits: defaultLimits,
      training: { epochs: model.epochsRun, bestEpoch: model.bestEpoch, seconds: model.trainSeconds },
      metrics: { dev: { fp32: fp32Metrics, int8: int8Metrics } },
      selfTest: selfTestSentences(devSet, int8Judged),
    },
  });
  return { manifest, model };
}
