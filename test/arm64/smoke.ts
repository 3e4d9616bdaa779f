// ARM64 smoke test: the same worker parses the same sentences natively (x64) and under qemu-user with the
// official arm64 Node.js and onnxruntime-node's bundled linux/arm64 binary; the decisions must agree.
// Usage: npm run test:arm64 [-- --write-result]   (exit 1 on any disagreement or failure)
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../../agent/config/load.ts';
import { fromProjectRoot, projectRoot } from '../../agent/paths.ts';
import { percentile, printTable, type Row, writeResult } from '../bench/harness.ts';
import { runProcess } from '../helpers/process.ts';
import { compareReports, confidenceTolerance, maxConfidenceDelta, referenceProblems } from './agree.ts';
import { type Command, emulatedNode, esbuildWrapperScript, toolchainIn } from './emulator.ts';
import { reportPrefix, type WorkerReport } from './protocol.ts';

// A dozen sentences keeps the emulated part short; robot, home, queries, a compound, out-of-scope, bad input.
const inScope = [
  'drive forward two meters',
  'back up half a meter',
  'turn left ninety degrees',
  'go to the kitchen',
  'stop',
  'dim the kitchen light to 30 percent',
  'turn on the lights in the living room',
  'set the thermostat to 21 degrees',
  'what is the temperature in the bedroom',
  'drive forward one meter then turn right',
];
const sentences = [...inScope, 'what is the capital of france', '!!!'];

const started = performance.now();
const trainEpochs = 3;
/** Time spent training the fallback model in this run (0 when a model was there). */
let trainSeconds = 0;
/** Wall time of each worker process: start, tsx, model load, sentences, serial, exit. */
const workerSeconds: Record<string, number> = {};
const workerPath = join(projectRoot, 'test/arm64/worker.ts');

function prepare(): string {
  const out = execFileSync('bash', [join(projectRoot, 'test/arm64/prepare.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return out.trim().split('\n').at(-1) ?? '';
}

/** A linked pair of pseudo-terminals from socat, so the serial binding has a real tty to open. */
async function ptyPair(dir: string, name: string): Promise<{ a: string; b: string; stop(): void }> {
  const a = join(dir, `${name}-a`);
  const b = join(dir, `${name}-b`);
  const socat: ChildProcess = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: 'ignore',
  });
  const deadline = Date.now() + 10_000;
  while (!(existsSync(a) && existsSync(b))) {
    if (Date.now() > deadline || socat.exitCode !== null) throw new Error('socat did not create a pty pair');
    await new Promise((r) => setTimeout(r, 20));
  }
  return { a, b, stop: () => socat.kill() };
}

/**
 * The configured model (models/default unless nlu.model / SLING_NLU_MODEL says otherwise). When the checkout
 * has none built, one is trained natively from the default intent spec into the cache with few epochs: the
 * test compares machines, not accuracy.
 */
function defaultModel(cache: string): string {
  const configured = fromProjectRoot(loadConfig().config.nlu.model);
  if (existsSync(join(configured, 'model.onnx'))) return configured;
  const spec = join(projectRoot, 'config/intents/default.yaml');
  // Keyed by the spec and the code that trains and reads models, so a format change never meets a stale model.
  const hash = createHash('sha256').update(readFileSync(spec));
  for (const dir of ['models/factory', 'agent/nlu']) {
    for (const file of readdirSync(join(projectRoot, dir)).sort()) {
      if (file.endsWith('.ts')) hash.update(file).update(readFileSync(join(projectRoot, dir, file)));
    }
  }
  const key = hash.digest('hex').slice(0, 16);
  const dir = join(cache, `model-${key}`);
  if (existsSync(join(dir, 'manifest.json'))) return dir;
  process.stdout.write(`no model at ${configured}: training one from ${spec} (${trainEpochs} epochs)\n`);
  const trainStarted = performance.now();
  execFileSync(
    process.execPath,
    [
      join(projectRoot, 'agent/sling.js'),
      'train',
      spec,
      '--out',
      `${dir}.tmp`,
      '--epochs',
      String(trainEpochs),
      '-q',
    ],
    { stdio: 'inherit' },
  );
  renameSync(`${dir}.tmp`, dir);
  trainSeconds = (performance.now() - trainStarted) / 1000;
  process.stdout.write(`trained in ${trainSeconds.toFixed(0)} s\n`);
  return dir;
}

async function runWorker(label: string, cmd: Command): Promise<WorkerReport> {
  const wallStarted = performance.now();
  const { code, stdout, stderr } = await runProcess(cmd.command, cmd.args, {
    cwd: projectRoot,
    env: { ...process.env, ...cmd.env },
  });
  const line = stdout.split('\n').find((l) => l.startsWith(reportPrefix));
  if (code !== 0 || !line) {
    throw new Error(`${label} worker failed (exit ${code})\n${stdout}\n${stderr}`);
  }
  const report = JSON.parse(line.slice(reportPrefix.length)) as WorkerReport;
  workerSeconds[label] = (performance.now() - wallStarted) / 1000;
  process.stdout.write(`${label}: worker finished in ${workerSeconds[label]?.toFixed(1)} s\n`);
  return report;
}

async function main(): Promise<number> {
  const cache = prepare();
  const require = createRequire(join(projectRoot, 'package.json'));
  const esbuildVersion = (require('esbuild/package.json') as { version: string }).version;
  const tool = toolchainIn(cache, process.versions.node, esbuildVersion);

  const work = mkdtempSync(join(tmpdir(), 'sling-arm64-'));
  const wrapper = join(work, 'esbuild-arm64');
  writeFileSync(wrapper, esbuildWrapperScript(tool));
  chmodSync(wrapper, 0o755);
  const modelDir = defaultModel(cache);
  process.stdout.write(`model: ${modelDir}\n`);
  const sentencesFile = join(work, 'sentences.json');
  writeFileSync(sentencesFile, JSON.stringify(sentences));

  const ptyX64 = await ptyPair(work, 'x64');
  const ptyArm = await ptyPair(work, 'arm64');
  try {
    const workerArgs = (pty: { a: string; b: string }) => [workerPath, modelDir, sentencesFile, pty.a, pty.b];
    const x64 = await runWorker('x64', {
      command: process.execPath,
      args: ['--import', 'tsx', ...workerArgs(ptyX64)],
      env: {},
    });
    const arm64 = await runWorker(
      'arm64',
      emulatedNode(tool, wrapper, ['--import', 'tsx', ...workerArgs(ptyArm)]),
    );
    return report(x64, arm64, modelDir);
  } finally {
    ptyX64.stop();
    ptyArm.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

function report(x64: WorkerReport, arm64: WorkerReport, modelDir: string): number {
  const armByText = new Map(arm64.sentences.map((s) => [s.text, s]));
  const rows: Row[] = x64.sentences.map((ref) => {
    const arm = armByText.get(ref.text);
    return {
      sentence: JSON.stringify(ref.text),
      intent_x64: ref.intent ?? '-',
      intent_arm64: arm ? (arm.intent ?? '-') : '(missing)',
      conf_x64: Number(ref.confidence.toFixed(4)),
      conf_arm64: arm ? Number(arm.confidence.toFixed(4)) : null,
      ms_x64: Number(ref.parseMs.toFixed(2)),
      ms_arm64: arm ? Number(arm.parseMs.toFixed(2)) : null,
      plan_arm64: arm
        ? arm.plan.actions.map((a) => `${a.device}.${a.action}`).join(' → ') ||
          `(${arm.plan.refused?.reason ?? arm.plan.reply})`
        : '',
    };
  });
  const armMs = arm64.sentences.map((s) => s.parseMs);
  const x64Ms = x64.sentences.map((s) => s.parseMs);
  const problems = [...referenceProblems(x64, inScope), ...compareReports(x64, arm64)];
  if (arm64.arch !== 'arm64') problems.push({ text: '', field: 'missing', x64: x64.arch, arm64: arm64.arch });
  const summary = {
    x64: { arch: x64.arch, node: x64.node, onnxruntime: x64.onnxruntime, nativeDeps: x64.nativeDeps },
    arm64: {
      arch: arm64.arch,
      node: arm64.node,
      onnxruntime: arm64.onnxruntime,
      nativeDeps: arm64.nativeDeps,
    },
    modelLoadMs: { x64: x64.modelLoadMs, arm64: arm64.modelLoadMs },
    parseMs: {
      x64: { p50: percentile(x64Ms, 50), max: Math.max(...x64Ms) },
      arm64Emulated: { p50: percentile(armMs, 50), max: Math.max(...armMs) },
    },
    maxConfidenceDelta: maxConfidenceDelta(x64, arm64),
    confidenceTolerance,
    disagreements: problems,
    trainSeconds,
    model: modelDir,
    workerSeconds,
    totalSeconds: (performance.now() - started) / 1000,
  };
  if (process.argv.includes('--write-result')) writeResult('arm64-smoke', rows, summary);
  else printTable(rows);
  for (const r of arm64.sentences) {
    process.stdout.write(`arm64 plan ${JSON.stringify(r.text)}: ${JSON.stringify(r.plan)}\n`);
  }
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  if (problems.length > 0) {
    for (const p of problems)
      process.stderr.write(
        `  ${p.field}: ${JSON.stringify(p.text)} x64=${JSON.stringify(p.x64)} arm64=${JSON.stringify(p.arm64)}\n`,
      );
    process.stderr.write(
      `arm64 smoke: FAIL — ${problems.length} problem(s): x64 must understand the in-scope commands and arm64 must agree\n`,
    );
    return 1;
  }
  if (arm64.nativeDeps.serialport !== 'ping from arm64') {
    process.stderr.write(`arm64 smoke: FAIL — serial binding on arm64: ${arm64.nativeDeps.serialport}\n`);
    return 1;
  }
  if (!arm64.nativeDeps.rnnoise?.includes('sha256') || arm64.nativeDeps.rnnoise !== x64.nativeDeps.rnnoise) {
    process.stderr.write(
      `arm64 smoke: FAIL — noise suppressor differs: x64 ${x64.nativeDeps.rnnoise}, arm64 ${arm64.nativeDeps.rnnoise}\n`,
    );
    return 1;
  }
  process.stdout.write(
    `arm64 smoke: ok — ${x64.sentences.length} sentences agree, noise suppressor output identical; emulated parse p50 ${summary.parseMs.arm64Emulated.p50.toFixed(1)} ms; total ${summary.totalSeconds.toFixed(1)} s\n`,
  );
  return 0;
}

process.exitCode = await main();
