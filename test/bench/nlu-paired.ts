// Sling and NLP.js timed in one process, alternating sentence by sentence, so both see the same machine load
// (the separate eval runs of bench:nlu are seconds apart on a shared 2-core machine). Pass 1 meets every word
// of the test set for the first time (cold per-word caches); pass 2 is the steady state of a running agent.
// NLP.js caches its prepared features per exact text and Sling its pooled embedding per word, so pass 2
// flatters NLP.js; pass 1 is the comparison bench:nlu reports.
// Usage: tsx test/bench/nlu-paired.ts model-dir train.jsonl dev.jsonl test.jsonl
// → one JSON line on stdout.
import { loadParser } from '../../agent/nlu/index.ts';
import { readJsonl } from '../../models/factory/dataset.ts';
import { percentile } from './harness.ts';
import { trainNlpjs } from './nlpjs-train.ts';

const [modelDir, trainFile, devFile, testFile] = process.argv.slice(2) as [string, string, string, string];
const { nlp } = await trainNlpjs(trainFile);
const sling = await loadParser(modelDir);
const texts = readJsonl(testFile).map((e) => e.text);
// the same warm-up for both (compilers, caches): dev sentences, never timed
for (const { text } of readJsonl(devFile).slice(0, 100)) {
  await sling.parseDetailed(text);
  await nlp.process('en', text);
}
const passes: {
  pass: number;
  slingP50: number;
  nlpjsP50: number;
  slingP99: number;
  nlpjsP99: number;
  slingFaster: number;
}[] = [];
for (let pass = 1; pass <= 2; pass++) {
  const a: number[] = [];
  const b: number[] = [];
  let slingFaster = 0;
  for (const [i, text] of texts.entries()) {
    // alternate who goes first, so neither always runs on caches the other just warmed
    const order = i % 2 === 0 ? ['sling', 'nlpjs'] : ['nlpjs', 'sling'];
    const times: Record<string, number> = {};
    for (const who of order) {
      const s = performance.now();
      if (who === 'sling') await sling.parseDetailed(text);
      else await nlp.process('en', text);
      times[who] = performance.now() - s;
    }
    a.push(times.sling!);
    b.push(times.nlpjs!);
    if (times.sling! < times.nlpjs!) slingFaster++;
  }
  passes.push({
    pass,
    slingP50: percentile(a, 50),
    nlpjsP50: percentile(b, 50),
    slingP99: percentile(a, 99),
    nlpjsP99: percentile(b, 99),
    slingFaster: slingFaster / texts.length,
  });
}
await sling.release();
process.stdout.write(`${JSON.stringify({ sentences: texts.length, passes })}\n`);
