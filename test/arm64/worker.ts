// Runs on the machine under test (x64 natively, arm64 under qemu): loads the NLU model with the agent's
// loader (manifest check, onnxruntime-node session), runs the agent's decide stage (parse → plan) on each
// sentence, exercises the native serial binding and the noise suppressor's WASM, and prints one JSON report line.
// Usage: node --import tsx test/arm64/worker.ts <model-dir> <sentences.json> [<pty-a> <pty-b>]
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../../agent/config/load.ts';
import { decide } from '../../agent/decide/decide.ts';
import { loadSkills } from '../../agent/decide/load-skills.ts';
import { loadParser } from '../../agent/nlu/index.ts';
import { fromProjectRoot } from '../../agent/paths.ts';
import { StateStore } from '../../agent/state/store.ts';
import { reportPrefix, type WorkerReport, type WorkerSentence } from './protocol.ts';

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

/**
 * Noise suppression (voice.denoise) is WASM, the same bytes on every machine: a fixed signal (a tone in noise
 * from an integer generator) must come out identical, sample for sample.
 */
async function denoiseDigest(): Promise<string> {
  const { NoiseSuppressor } = await import('../../agent/ingress/voice/denoise.ts');
  let seed = 12345;
  const input = Float32Array.from({ length: 16000 }, (_, i) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return 0.3 * Math.sin(i * 0.05) + 0.05 * (seed / 2 ** 32 - 0.5);
  });
  const suppressor = await NoiseSuppressor.open();
  const output = suppressor.process(input);
  suppressor.close();
  const rms = Math.sqrt(output.reduce((sum, v) => sum + v * v, 0) / output.length);
  const digest = createHash('sha256').update(new Uint8Array(output.buffer)).digest('hex').slice(0, 16);
  return `${output.length} samples, rms ${rms.toFixed(6)}, sha256 ${digest}`;
}

async function main(): Promise<void> {
  const [modelDir, sentencesFile, ptyA, ptyB] = process.argv.slice(2);
  if (!modelDir || !sentencesFile)
    throw new Error('usage: worker.ts <model-dir> <sentences.json> [pty-a pty-b]');
  const texts = JSON.parse(readFileSync(sentencesFile, 'utf8')) as string[];
  const nativeDeps: Record<string, string> = {};

  const loadStarted = performance.now();
  const parser = await loadParser(modelDir, { threads: 1 });
  const modelLoadMs = performance.now() - loadStarted;
  const ort = await import('onnxruntime-node');
  // The agent's own decide stage with the default world and skills: parse (clause by clause) → plan.
  const { config } = loadConfig();
  const ctx = {
    world: config.world,
    skills: loadSkills(fromProjectRoot(config.world.skills)),
    state: new StateStore(),
  };

  const sentences: WorkerSentence[] = [];
  for (const text of texts) {
    const started = performance.now();
    const decision = await decide(parser, text, ctx);
    const parseMs = performance.now() - started;
    sentences.push({
      text,
      intent: decision.parses.map((p) => p.intent ?? '-').join(' + '),
      confidence: Math.min(...decision.parses.map((p) => p.confidence)),
      slots: decision.parses.flatMap((p) =>
        p.slots.map(({ name, text: slotText, value }) => ({ name, text: slotText, value })),
      ),
      plan: decision.plan,
      errors: decision.parses.flatMap((p) => (p.error ? [p.error] : [])),
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

  nativeDeps.rnnoise = await denoiseDigest();

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
