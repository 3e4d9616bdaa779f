// The NLP.js peer for bench:nlu, run in its own process so its time and peak memory are its own.
// Usage: tsx test/bench/nlpjs-peer.ts train.jsonl test.jsonl → one JSON line on stdout.
import { readJsonl } from '../../models/factory/dataset.ts';
import { trainNlpjs } from './nlpjs-train.ts';

const [trainFile, testFile] = process.argv.slice(2) as [string, string];
const { nlp, trainSeconds } = await trainNlpjs(trainFile);
const test = readJsonl(testFile);
for (const e of test.slice(0, 50)) await nlp.process('en', e.text);
let right = 0;
const latencies: number[] = [];
for (const e of test) {
  const s = performance.now();
  const r = await nlp.process('en', e.text);
  latencies.push(performance.now() - s);
  if (r.intent === e.intent) right++;
}
latencies.sort((a, b) => a - b);
const at = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)]!;
process.stdout.write(
  `${JSON.stringify({ intentAccuracy: right / test.length, trainSeconds, p50: at(50), p99: at(99), peakRssMiB: process.resourceUsage().maxRSS / 1024, modelBytes: Buffer.byteLength(nlp.export(true)) })}\n`,
);
