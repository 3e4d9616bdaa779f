// Runs on the machine under test (x64 natively, arm64 under qemu): loads the NLU model in onnxruntime-node,
// parses the sentences, plans them, exercises the native serial binding, and prints one JSON report line.
// Usage: node --import tsx test/arm64/worker.ts <model-dir> <sentences.json> [<pty-a> <pty-b>]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Plan } from '../../agent/decide/types.ts';
import type { ParseResult, Parser } from '../../agent/nlu/types.ts';
import { reportPrefix, type WorkerReport, type WorkerSentence } from './protocol.ts';

/** Interim parser over the tiny keyword model (see tiny-model.ts) until the trained model and loadParser land. */
async function loadTinyParser(modelDir: string): Promise<Parser> {
  const ort = await import('onnxruntime-node');
  const labels = JSON.parse(readFileSync(join(modelDir, 'labels.json'), 'utf8')) as {
    intents: string[];
    vocabulary: string[];
  };
  const session = await ort.InferenceSession.create(join(modelDir, 'model.onnx'), { intraOpNumThreads: 1 });
  return {
    async parse(text: string): Promise<ParseResult> {
      const started = performance.now();
      const features = new Float32Array(labels.vocabulary.length);
      for (const word of text.toLowerCase().match(/[a-z]+/g) ?? []) {
        const index = labels.vocabulary.indexOf(word);
        if (index >= 0) features[index] = (features[index] ?? 0) + 1;
      }
      const out = await session.run({ features: new ort.Tensor('float32', features, [1, features.length]) });
      const probs = Array.from((out.probs?.data ?? []) as Float32Array);
      const alternatives = probs
        .map((confidence, i) => ({ intent: labels.intents[i] as string, confidence }))
        .sort((a, b) => b.confidence - a.confidence);
      const top = alternatives[0];
      const intent = top && top.intent !== 'none' ? top.intent : null;
      return {
        text,
        intent,
        topIntent: top?.intent ?? null,
        confidence: top?.confidence ?? 0,
        slots: [],
        alternatives,
        timing: { totalMs: performance.now() - started },
      };
    },
  };
}

function interimPlan(result: ParseResult): Plan {
  if (!result.intent) return { actions: [], reply: 'not understood', refused: { reason: 'unknown intent' } };
  const [device = 'robot', action = result.intent] = result.intent.split('.');
  return { actions: [{ device, action, params: {} }], reply: `${device}: ${action}` };
}

/** Opens both ends of a socat pty pair through serialport's native binding and sends a line across. */
async function serialRoundTrip(ptyA: string, ptyB: string): Promise<string> {
  const { SerialPort } = await import('serialport');
  const open = (path: string) =>
    new Promise<InstanceType<typeof SerialPort>>((resolve, reject) => {
      const port = new SerialPort({ path, baudRate: 115200 }, (error) =>
        error ? reject(error) : resolve(port),
      );
    });
  const a = await open(ptyA);
  const b = await open(ptyB);
  const received = new Promise<string>((resolve) => {
    let data = '';
    b.on('data', (chunk: Buffer) => {
      data += chunk.toString();
      if (data.includes('\n')) resolve(data.trim());
    });
  });
  a.write(`ping from ${process.arch}\n`);
  const line = await received;
  await Promise.all([a, b].map((p) => new Promise((done) => p.close(done))));
  return line;
}

async function main(): Promise<void> {
  const [modelDir, sentencesFile, ptyA, ptyB] = process.argv.slice(2);
  if (!modelDir || !sentencesFile)
    throw new Error('usage: worker.ts <model-dir> <sentences.json> [pty-a pty-b]');
  const texts = JSON.parse(readFileSync(sentencesFile, 'utf8')) as string[];
  const nativeDeps: Record<string, string> = {};

  const loadStarted = performance.now();
  const parser = await loadTinyParser(modelDir);
  const modelLoadMs = performance.now() - loadStarted;
  const ort = await import('onnxruntime-node');

  const sentences: WorkerSentence[] = [];
  for (const text of texts) {
    const started = performance.now();
    const result = await parser.parse(text);
    const parseMs = performance.now() - started;
    const plan = interimPlan(result);
    sentences.push({
      text,
      intent: result.intent,
      confidence: result.confidence,
      slots: result.slots.map(({ name, text: slotText, value }) => ({ name, text: slotText, value })),
      plan,
      parseMs,
    });
  }

  nativeDeps.serialport = ptyA && ptyB ? await serialRoundTrip(ptyA, ptyB) : 'not tried (no pty pair given)';
  try {
    // sharp is optional: load it when a later feature brings it in.
    const sharpModule = 'sharp';
    const sharp = (await import(sharpModule)) as { default: { versions: Record<string, string> } };
    nativeDeps.sharp = `libvips ${sharp.default.versions.vips}`;
  } catch (error) {
    nativeDeps.sharp =
      (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' ? 'not installed' : String(error);
  }

  const report: WorkerReport = {
    arch: process.arch,
    node: process.version,
    onnxruntime: ort.env.versions.common,
    modelLoadMs,
    sentences,
    nativeDeps,
  };
  process.stdout.write(`${reportPrefix}${JSON.stringify(report)}\n`);
}

await main();
