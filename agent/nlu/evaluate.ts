/** Scores a model directory on labelled data through the real runtime parser (what `sling eval` prints). */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { readJsonl, tagExample } from '../../models/factory/dataset.ts';
import { bioSpans } from '../../models/factory/decode.ts';
import { computeMetrics, type Judged, type Metrics } from '../../models/factory/metrics.ts';
import { loadParser } from './parser.ts';

export interface EvalReport {
  model: string;
  data: string;
  precision: 'int8' | 'fp32';
  modelBytes: number;
  metrics: Metrics;
  latencyMs: { p50: number; p99: number; mean: number };
  /** Peak resident memory of this process so far (MiB). */
  peakRssMiB: number;
}

export function nearestRank(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export async function evaluateModel(
  dir: string,
  dataFile: string,
  options: { graph?: 'model' | 'fp32' } = {},
): Promise<EvalReport> {
  const examples = readJsonl(dataFile);
  const parser = await loadParser(dir, { graph: options.graph ?? 'model' });
  const spans = (tags: readonly string[]) =>
    bioSpans(tags).map((s) => ({ slot: s.slot, start: s.first, end: s.last }));
  const judged: Judged[] = [];
  const latencies: number[] = [];
  // warm-up so the first session run's allocations do not count
  for (const e of examples.slice(0, 20)) await parser.parse(e.text);
  for (const example of examples) {
    // timed from outside, the way the NLP.js peer of bench:nlu is: the call and its promise included
    const started = performance.now();
    const { result, tags } = await parser.parseDetailed(example.text);
    latencies.push(performance.now() - started);
    judged.push({
      goldIntent: example.intent,
      predIntent: result.topIntent,
      understood: result.intent !== null,
      goldSpans: spans(tagExample(example).tags),
      predSpans: spans(tags),
    });
  }
  await parser.release();
  const file = options.graph === 'fp32' ? 'model.fp32.onnx' : parser.manifest.model.file;
  return {
    model: dir,
    data: dataFile,
    precision: options.graph === 'fp32' ? 'fp32' : 'int8',
    modelBytes: statSync(resolve(dir, file)).size,
    metrics: computeMetrics(judged),
    latencyMs: {
      p50: nearestRank(latencies, 50),
      p99: nearestRank(latencies, 99),
      mean: latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length),
    },
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}
