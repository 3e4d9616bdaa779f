/** A built model directory: model.onnx + manifest.json (everything the runtime needs besides the graph). */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FeatureSettings, Gazetteer } from './features.ts';
import type { Metrics } from './metrics.ts';
import type { ModelConfig } from './model.ts';
import type { Calibration, Hyper, TrainedModel } from './train.ts';

export const MANIFEST_FORMAT = 'sling-nlu';
export const MANIFEST_VERSION = 1;
/** Changing text.ts or features.ts in a way that alters features must bump this. */
export const NORMALIZATION = 'nfkd-nomarks-nfkc-lower/ws-trim-punct/v1';

export interface SlotInfo {
  /** Declaration the slot comes from (`room`), or the builtin type (`builtin.distance`). */
  type: string;
  kind: 'list' | 'open' | 'builtin';
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: number;
  name: string;
  createdAt: string;
  seed: number;
  model: { file: string; sha256: string; bytes: number; precision: 'int8' | 'fp32'; opset: number };
  /** Other graphs in the directory (e.g. the fp32 twin kept for comparison), hash-checked like the model. */
  extraFiles: { file: string; sha256: string; bytes: number }[];
  trainingData: { sha256: string; examples: number; source: string };
  normalization: string;
  features: FeatureSettings;
  gazetteer: Gazetteer;
  config: ModelConfig;
  hyper: Hyper;
  intents: string[];
  noneIntent: string;
  tags: string[];
  crf: { transitions: number[]; start: number[]; end: number[] };
  /** Top-intent probability below which the parser answers "not understood". */
  threshold: number;
  /** The threshold's calibration set (fp32 scores): sentences on each side (absent in older models). */
  calibration?: Calibration;
  quantization: { scheme: string; weights: Record<string, { axis: number; channels: number }> };
  slots: Record<string, SlotInfo>;
  /** List slot declarations: normalised synonym → canonical value. */
  lists: Record<string, Record<string, string>>;
  limits: { maxChars: number; maxTokens: number };
  training: {
    epochs: number;
    bestEpoch: number;
    seconds: number;
    /** Gradient threads used (absent in models trained before worker threads). */
    threads?: { max: number; parallelBatches: number; batches: number };
  };
  metrics: { dev: { fp32: Metrics; int8: Metrics }; [k: string]: unknown };
  /** Distillation, pruning and low-bit steps: what each did and its effect on dev (absent: none ran). */
  compression?: Record<string, unknown>;
  /**
   * Sentences the shipped int8 model understood correctly at build time, one per intent: whoever installs the
   * model (fleet delivery, doctor) re-parses them to prove the new session behaves as the trainer measured.
   */
  selfTest?: { text: string; intent: string }[];
  /**
   * The slots each intent has in the training data: when present, the parser only pairs an intent with tags of
   * its slots (IntentSlotAgreement in decode.ts; `sling train --intent-slot-agreement`).
   */
  intentSlots?: Record<string, string[]>;
}

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface WriteModelInput {
  dir: string;
  model: TrainedModel;
  onnx: Uint8Array;
  fp32Onnx?: Uint8Array;
  manifest: Omit<Manifest, 'model' | 'extraFiles' | 'crf' | 'format' | 'version' | 'createdAt'>;
  /** ONNX opset of `onnx` (13 unless the embedding is int4: 21). */
  opset?: number;
}

export function writeModelDir({
  dir,
  model,
  onnx,
  fp32Onnx,
  manifest,
  opset = 13,
}: WriteModelInput): Manifest {
  mkdirSync(dir, { recursive: true });
  writeFileSync(resolve(dir, 'model.onnx'), onnx);
  const extraFiles: Manifest['extraFiles'] = [];
  if (fp32Onnx) {
    writeFileSync(resolve(dir, 'model.fp32.onnx'), fp32Onnx);
    extraFiles.push({ file: 'model.fp32.onnx', sha256: sha256(fp32Onnx), bytes: fp32Onnx.byteLength });
  }
  const full: Manifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    createdAt: new Date().toISOString(),
    ...manifest,
    model: { file: 'model.onnx', sha256: sha256(onnx), bytes: onnx.byteLength, precision: 'int8', opset },
    extraFiles,
    crf: {
      transitions: [...model.params['crf.trans']!],
      start: [...model.params['crf.start']!],
      end: [...model.params['crf.end']!],
    },
  };
  writeFileSync(resolve(dir, 'manifest.json'), `${JSON.stringify(full, null, 1)}\n`);
  return full;
}
