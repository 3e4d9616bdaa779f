/** spec.yaml | train.jsonl → trained, quantized model directory. The one entry point `sling train` calls. */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { type Manifest, NORMALIZATION, type SlotInfo, sha256, writeModelDir } from './artifact.ts';
import {
  labelByTeachers,
  loadTeacher,
  loadTrainedModel,
  magnitudeMasks,
  pruneChannels,
  sparsityOf,
  type Teacher,
  teacherTargets,
} from './compress.ts';
import { type Example, readJsonl } from './dataset.ts';
import { buildOnnx, graphOpset, quantizeModel } from './export.ts';
import { defaultFeatureSettings, type FeatureSettings, type Gazetteer } from './features.ts';
import { computeMetrics, type Judged, type Metrics } from './metrics.ts';
import { defaultSlotGazetteer, slotGazetteer } from './slot-gazetteer.ts';
import { substituteSlotValues } from './slot-swap.ts';
import { expandSpec, loadSpec, slotNameTypes, specGazetteer } from './spec.ts';
import { tokenize } from './text.ts';
import {
  defaultHyper,
  type Hyper,
  judge,
  NONE_INTENT,
  prepare,
  type TrainedModel,
  type TrainInput,
  trainModel,
} from './train.ts';
import { variantTexts } from './variants.ts';

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
  compress?: CompressOptions;
  /** Add this ratio of slot-value-substituted copies of the training sentences (slot-swap.ts). */
  slotSwap?: number;
  /** jsonl sources: flags from a gazetteer of the training slot values, with leave-out folds (slot-gazetteer.ts). */
  slotGazetteer?: boolean;
  /** Gradient threads (default: both cores of a 2-core machine); the model is the same bytes whatever it is. */
  workers?: number;
  /** Record each intent's training slots, so the parser pairs intents only with their own slots. */
  intentSlotAgreement?: boolean;
}

/** Compression steps of `sling train`, in the order they run (see models/README.md, "Compression"). */
export interface CompressOptions {
  /** Distil from this built model directory (same intents and tags). */
  teacher?: string;
  /** Train a teacher in this run with this many encoder channels (default: twice the student's). */
  teacherHidden?: number;
  /** Teacher ensemble size: differently seeded teachers, logits averaged (training one implies 1). */
  teacherSeeds?: number;
  /** Distillation temperature (default 2) and weight of the soft loss (default 0.5). */
  temperature?: number;
  alpha?: number;
  /** Structured pruning: keep this many hidden channels, then fine-tune. */
  keepChannels?: number;
  /** Magnitude pruning of the weight matrices to this sparsity, in `pruneSteps` steps each fine-tuned. */
  sparsity?: number;
  pruneSteps?: number;
  /** Fine-tuning epochs after each pruning step (default 2). */
  pruneEpochs?: number;
  /** 4: int4 embedding table (opset 21); default 8. */
  embeddingBits?: 4 | 8;
  /** Start from this built model directory's weights (same data and sizes) instead of training: prune it. */
  init?: string;
  /** Distillation only: this many variants per training sentence (variants.ts), labelled by the teacher(s). */
  teacherAugment?: number;
  /**
   * Born-again fine-tuning: after the model is trained (or read by `init`), fine-tune it this many epochs on
   * the soft outputs of `teacher` or, without one, of itself, plus the `teacherAugment` variants it labels.
   */
  fineTuneEpochs?: number;
  /** Learning rate of that fine-tuning as a fraction of the training one (default 0.5). */
  fineTuneLr?: number;
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
  let gazetteerFor: TrainInput['gazetteerFor'];
  // a home-sized spec needs less capacity than a benchmark and must train in seconds
  const small = source.train.length < smallDataSentences ? smallSpecHyper : {};
  const hyper = { ...defaultHyper, ...small, ...options.hyper };
  const augmented = options.slotSwap ? substituteSlotValues(source.train, options.slotSwap, seed) : [];
  if (options.slotGazetteer && options.source.endsWith('.jsonl')) {
    const learnt = slotGazetteer(source.train, { ...defaultSlotGazetteer, seed }, augmented);
    source.gazetteer = learnt.full;
    gazetteerFor = learnt.forExample;
  }
  const input: TrainInput = {
    train: [...source.train, ...augmented],
    dev,
    gazetteer: source.gazetteer,
    gazetteerFor,
    features,
    hyper,
    seed,
    progress: options.progress,
    workers: options.workers,
  };
  const { model, compression } = trainCompressed(input, options.compress ?? {}, dev, source.train);
  const quantizeOptions = { embeddingBits: options.compress?.embeddingBits ?? 8 } as const;
  const quantized = quantizeModel(model.config, model.params, quantizeOptions);
  const devSet = prepare(dev ?? source.train, model.intents, model.tags, input);
  const fp32Metrics = computeMetrics(judge(model, devSet, model.threshold));
  const int8Judged = judge({ ...model, params: quantized.params }, devSet, model.threshold);
  const int8Metrics = computeMetrics(int8Judged);
  if (quantizeOptions.embeddingBits === 4) {
    const int8Only = quantizeModel(model.config, model.params).params;
    compression.quantization = {
      embeddingBits: 4,
      scheme:
        'embedding table signed int4 (-7..7), one fp16 scale per row (clipping with the least squared error), DequantizeLinear at opset 21',
      devInt8: computeMetrics(judge({ ...model, params: int8Only }, devSet, model.threshold)),
      devInt4Embedding: int8Metrics,
      bytesInt8: buildOnnx(model.config, model.params, 'int8').byteLength,
    };
  }
  const onnx = buildOnnx(model.config, model.params, 'int8', quantizeOptions);
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
      ...(model.calibration ? { calibration: model.calibration } : {}),
      quantization: {
        scheme:
          quantizeOptions.embeddingBits === 4
            ? 'int8 symmetric, per output channel (DequantizeLinear axis); embedding int4, fp16 scale per row (opset 21)'
            : 'int8 symmetric, per output channel (DequantizeLinear axis); embedding per row (gathered, then scaled)',
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
      training: {
        epochs: model.epochsRun,
        bestEpoch: model.bestEpoch,
        seconds: model.trainSeconds,
        ...(model.threads ? { threads: model.threads } : {}),
      },
      metrics: { dev: { fp32: fp32Metrics, int8: int8Metrics } },
      selfTest: selfTestSentences(devSet, int8Judged),
      ...(Object.keys(compression).length > 0 ? { compression } : {}),
      ...(options.intentSlotAgreement ? { intentSlots: intentSlotsOf(source.train) } : {}),
    },
    opset: graphOpset(quantizeOptions),
  });
  return { manifest, model };
}

/** Each intent's slots in the training sentences, sorted (`Manifest.intentSlots`). */
export function intentSlotsOf(train: readonly Example[]): Record<string, string[]> {
  const slots = new Map<string, Set<string>>();
  for (const e of train) {
    if (e.intent === null) continue;
    const set = slots.get(e.intent) ?? new Set<string>();
    for (const span of e.spans) set.add(span.slot);
    slots.set(e.intent, set);
  }
  return Object.fromEntries(
    [...slots].sort(([a], [b]) => (a < b ? -1 : 1)).map(([i, s]) => [i, [...s].sort()]),
  );
}

/** What each compression step did and its measured effect on dev (recorded in the manifest). */
export type CompressionRecord = Record<string, unknown>;

function devMetrics(
  model: TrainedModel,
  input: TrainInput,
  dev: Example[] | undefined,
  train: Example[],
): Metrics {
  const devSet = prepare(dev ?? train, model.intents, model.tags, input);
  return computeMetrics(judge(model, devSet, model.threshold));
}

/** Teacher → (distilled) student → structured pruning → magnitude pruning, each step fine-tuned and measured. */
export function trainCompressed(
  input: TrainInput,
  options: CompressOptions,
  dev: Example[] | undefined,
  train: Example[],
): { model: TrainedModel; compression: CompressionRecord } {
  const compression: CompressionRecord = {};
  const say = (line: string) => input.progress?.(line, true);
  // --init: the compression steps start from a built model's weights instead of a freshly trained model
  const initial = options.init ? loadTrainedModel(options.init, input) : undefined;
  if (initial) compression.init = { from: options.init, dev: devMetrics(initial, input, dev, train) };
  if (options.fineTuneEpochs !== undefined && options.fineTuneEpochs > 0)
    return bornAgain(initial, input, options, dev, train, compression);
  const distilling =
    options.teacher !== undefined ||
    options.teacherHidden !== undefined ||
    options.teacherSeeds !== undefined;
  if (distilling) {
    const teachers: Teacher[] = [];
    let teacherInfo: Record<string, unknown>;
    if (options.teacher) {
      teachers.push(...options.teacher.split(',').map((dir) => loadTeacher(dir)));
      teacherInfo = { source: options.teacher, hidden: teachers[0]!.config.hidden };
    } else {
      const hidden = options.teacherHidden ?? input.hyper.hidden * 2;
      const seeds = options.teacherSeeds ?? 1;
      const devs: Metrics[] = [];
      for (let k = 0; k < seeds; k++) {
        say(`distillation: training teacher ${k + 1}/${seeds} (${hidden} channels)`);
        const t = trainModel({
          ...input,
          seed: input.seed + 1000 * (k + 1),
          hyper: { ...input.hyper, hidden },
        });
        teachers.push({ ...t, features: input.features, gazetteer: input.gazetteer });
        devs.push(devMetrics(t, input, dev, train));
      }
      teacherInfo = { source: 'trained in this run', hidden, seeds, dev: devs };
    }
    if (options.teacherAugment !== undefined && options.teacherAugment > 0) {
      const augmented = augmentWithTeachers(teachers, input, options.teacherAugment);
      compression.teacherAugmentation = augmented.record;
      input = augmented.input;
    }
    const temperature = options.temperature ?? 2;
    const alpha = options.alpha ?? 0.5;
    input = {
      ...input,
      distill: { teacher: (intents, tags) => teacherTargets(teachers, intents, tags), temperature, alpha },
    };
    if (!initial) say(`distillation: training the student (T ${temperature}, alpha ${alpha})`);
    const student = initial ?? trainModel(input);
    compression.distillation = {
      teacher: teacherInfo,
      temperature,
      alpha,
      ...(initial ? { studentFrom: options.init } : {}),
      studentDev: devMetrics(student, input, dev, train),
    };
    return prune(student, input, options, dev, train, compression);
  }
  return prune(initial ?? trainModel(input), input, options, dev, train, compression);
}

/**
 * Born-again fine-tuning: the trained (or `--init`) model labels variants of the training sentences and gives
 * soft targets (or `--teacher` does), then the model itself is fine-tuned on gold + soft labels + variants.
 * Dev decides, on the quantized weights that ship: when the fine-tuned model does not beat the start, the start is kept.
 */
function bornAgain(
  initial: TrainedModel | undefined,
  input: TrainInput,
  options: CompressOptions,
  dev: Example[] | undefined,
  train: Example[],
  compression: CompressionRecord,
): { model: TrainedModel; compression: CompressionRecord } {
  const say = (line: string) => input.progress?.(line, true);
  const base = initial ?? trainModel(input);
  const teachers: Teacher[] = options.teacher
    ? options.teacher.split(',').map((dir) => loadTeacher(dir))
    : [{ ...base, features: input.features, gazetteer: input.gazetteer }];
  let tuned = input;
  if (options.teacherAugment !== undefined && options.teacherAugment > 0) {
    const augmented = augmentWithTeachers(teachers, input, options.teacherAugment);
    compression.teacherAugmentation = augmented.record;
    tuned = augmented.input;
  }
  const temperature = options.temperature ?? 2;
  const alpha = options.alpha ?? 0.5;
  const epochs = options.fineTuneEpochs!;
  const lrScale = options.fineTuneLr ?? 0.5;
  say(`born-again fine-tuning: ${epochs} epochs at ${lrScale} × lr (T ${temperature}, alpha ${alpha})`);
  const fine = fineTune(
    {
      ...tuned,
      distill: { teacher: (intents, tags) => teacherTargets(teachers, intents, tags), temperature, alpha },
    },
    base,
    epochs,
    lrScale,
  );
  // judged as it ships: the quantized weights (int4 fine-tuning gains can vanish in quantization, run 12)
  const shipped = (m: TrainedModel) => ({
    ...m,
    params: quantizeModel(m.config, m.params, { embeddingBits: options.embeddingBits ?? 8 }).params,
  });
  const before = devMetrics(shipped(base), input, dev, train);
  const after = devMetrics(shipped(fine), input, dev, train);
  const score = (m: Metrics) => m.intentAccuracy + m.slotF1 + m.exactMatch;
  const kept = score(after) > score(before) ? fine : base;
  compression.fineTune = {
    teacher: options.teacher ?? 'itself',
    epochs,
    lrScale,
    temperature,
    alpha,
    bestEpoch: fine.bestEpoch,
    ...(initial ? { from: options.init } : { baseEpochs: base.epochsRun, baseBestEpoch: base.bestEpoch }),
    before,
    after,
    kept: kept === fine ? 'fine-tuned' : 'starting model (fine-tuning did not improve dev)',
  };
  // the whole recipe's training time: the starting model's training plus the fine-tuning
  return {
    model: { ...kept, trainSeconds: (initial ? 0 : base.trainSeconds) + fine.trainSeconds },
    compression,
  };
}

/** Continues training `start` for `epochs` at `lrScale` × the learning rate (dev picks the best epoch). */
function fineTune(
  input: TrainInput,
  start: TrainedModel,
  epochs: number,
  lrScale: number,
  masks?: Record<string, Float32Array>,
): TrainedModel {
  return trainModel({
    ...input,
    hyper: {
      ...input.hyper,
      hidden: start.config.hidden,
      epochs,
      patience: epochs,
      lr: input.hyper.lr * lrScale,
    },
    init: { config: start.config, params: start.params },
    masks,
  });
}

/** Adds teacher-labelled variants of the training sentences (see variants.ts) to the student's data. */
function augmentWithTeachers(
  teachers: readonly Teacher[],
  input: TrainInput,
  perSentence: number,
): { input: TrainInput; record: CompressionRecord } {
  const variants = variantTexts(input.train, perSentence, input.seed);
  input.progress?.(
    `teacher augmentation: ${variants.length} variants, labelling them with the teacher`,
    true,
  );
  const labelled = labelByTeachers(teachers, variants);
  const ops: Record<string, number> = {};
  for (const v of variants) for (const op of v.ops) ops[op] = (ops[op] ?? 0) + 1;
  return {
    input: {
      ...input,
      train: [...input.train, ...labelled.examples],
      gazetteerFor: variantsAsTheirSources(input.gazetteerFor, labelled.examples, labelled.sources),
    },
    record: {
      perSentence,
      variants: variants.length,
      kept: labelled.examples.length,
      droppedOutOfScope: labelled.dropped,
      teacherKeptSourceIntent: labelled.sameIntent,
      ops,
    },
  };
}

/**
 * A variant keeps the leave-out gazetteer of the sentence it was made from: with the full one, a variant that
 * keeps its source's slot values would see them flagged from its own labels, the leak the folds exist to stop.
 */
export function variantsAsTheirSources(
  gazetteerFor: TrainInput['gazetteerFor'],
  variants: readonly Example[],
  sources: readonly Example[],
): TrainInput['gazetteerFor'] {
  if (!gazetteerFor) return undefined;
  const sourceOf = new Map(variants.map((v, i) => [v, sources[i]!]));
  return (example) => gazetteerFor(sourceOf.get(example) ?? example);
}

function prune(
  model: TrainedModel,
  input: TrainInput,
  options: CompressOptions,
  dev: Example[] | undefined,
  train: Example[],
  compression: CompressionRecord,
): { model: TrainedModel; compression: CompressionRecord } {
  const say = (line: string) => input.progress?.(line, true);
  const epochs = options.pruneEpochs ?? 2;
  const steps: Record<string, unknown>[] = [];
  if (options.keepChannels !== undefined && options.keepChannels < model.config.hidden) {
    const before = devMetrics(model, input, dev, train);
    const from = model.config.hidden;
    const narrowed = pruneChannels(model.config, model.params, options.keepChannels);
    say(
      `pruning: ${model.config.hidden} → ${options.keepChannels} hidden channels, fine-tuning ${epochs} epochs`,
    );
    const pruned = { ...model, config: narrowed.config, params: narrowed.params };
    const beforeFineTune = devMetrics(pruned, input, dev, train);
    model = fineTune(input, pruned, epochs, 0.5);
    steps.push({
      kind: 'structured: hidden channels (lowest weight norm)',
      hidden: { from, to: model.config.hidden },
      before,
      beforeFineTune,
      after: devMetrics(model, input, dev, train),
    });
  }
  if (options.sparsity !== undefined && options.sparsity > 0) {
    const stepsWanted = Math.max(1, options.pruneSteps ?? 1);
    for (let k = 1; k <= stepsWanted; k++) {
      const target = (options.sparsity * k) / stepsWanted;
      const before = devMetrics(model, input, dev, train);
      const masks = magnitudeMasks(model.params, target);
      say(`pruning: magnitude, sparsity ${(target * 100).toFixed(0)}%, fine-tuning ${epochs} epochs`);
      model = fineTune(input, model, epochs, 0.5, masks);
      steps.push({
        kind: 'magnitude (per tensor, weight matrices and embedding)',
        sparsity: target,
        measuredSparsity: sparsityOf(model.params),
        before,
        after: devMetrics(model, input, dev, train),
        // ONNX initializers are dense: zeros cost as many bytes as any int8, and a sparse_initializer stores
        // an int64 index per kept value (9 bytes vs 1), so it would only shrink the file above ~89% sparsity
        stored: 'dense int8 (a sparse initializer is larger below ~89% sparsity)',
      });
    }
  }
  if (steps.length > 0) compression.pruning = steps;
  return { model, compression };
}
