// npm run bench:fleet — N simulated devices (default 200, over several processes) run the fleet client
// against a real mosquitto. Measures the time from publishing a signed fleet config change (and then a
// model) until every device reports it applied: p50/p99/max, and how many devices were lost or stuck.
// Knobs: FLEET_BENCH_DEVICES, FLEET_BENCH_PROCS, FLEET_BENCH_ROUNDS, FLEET_BENCH_MODEL_KB.
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import mqtt from 'mqtt';
import { publishModel, serveChunkRequests } from '../../agent/fleet/model/sender.ts';
import { generateSigningKey, loadPrivateKey, signDocument } from '../../agent/fleet/signing.ts';
import { configTopicFor } from '../../agent/fleet/topics.ts';
import { projectRoot } from '../../agent/paths.ts';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { percentile, type Row, writeResult } from './harness.ts';

const devices = Number(process.env.FLEET_BENCH_DEVICES ?? 200);
const procs = Number(process.env.FLEET_BENCH_PROCS ?? 4);
const rounds = Number(process.env.FLEET_BENCH_ROUNDS ?? 3);
const modelKb = Number(process.env.FLEET_BENCH_MODEL_KB ?? 1024);
const convergeTimeoutMs = 60_000;
const prefix = 'bench';

const broker = await startMosquitto('max_queued_messages 10000');
const stateRoot = mkdtempSync(join(tmpdir(), 'sling-fleet-bench-'));
const key = generateSigningKey();
const signer = { ...loadPrivateKey(key.privateKeyPem), keyId: key.id };
const ids = Array.from({ length: devices }, (_, i) => `dev-${String(i).padStart(4, '0')}`);
const workers: ChildProcess[] = [];

const operator = await mqtt.connectAsync(broker.url, { clientId: 'bench-operator', protocolVersion: 5 });
type Report = Record<string, unknown> & { device: string; status: string };
const listeners = new Set<(kind: 'config' | 'model', report: Report) => void>();
operator.on('message', (topic, payload) => {
  if (payload.length === 0) return;
  const kind = topic.endsWith('/model/reported') ? 'model' : 'config';
  const report = JSON.parse(payload.toString()) as Report;
  for (const listener of listeners) listener(kind, report);
});
await operator.subscribeAsync([`${prefix}/+/config/reported`, `${prefix}/+/model/reported`], { qos: 1 });

/** Waits until every device has a report that `done` accepts; times each from `t0`. */
function converge(
  kind: 'config' | 'model',
  t0: () => number,
  done: (r: Report) => boolean,
  bad: (r: Report) => boolean,
) {
  return new Promise<{ times: number[]; lost: number; stuck: string[] }>((resolveRound) => {
    const times = new Map<string, number>();
    const stuck = new Map<string, string>();
    const finish = () => {
      listeners.delete(listener);
      clearTimeout(timer);
      resolveRound({
        times: [...times.values()],
        lost: devices - times.size - stuck.size,
        stuck: [...stuck.entries()].slice(0, 5).map(([d, why]) => `${d}: ${why}`),
      });
    };
    const listener = (k: 'config' | 'model', r: Report) => {
      if (k !== kind || times.has(r.device)) return;
      if (done(r)) {
        times.set(r.device, performance.now() - t0());
        stuck.delete(r.device);
      } else if (bad(r)) {
        stuck.set(r.device, String(r.error ?? r.status));
      }
      if (times.size === devices) finish();
    };
    const timer = setTimeout(finish, convergeTimeoutMs);
    listeners.add(listener);
  });
}

try {
  // Boot the fleet: every device reports once after subscribing.
  const booted = converge(
    'config',
    () => 0,
    (r) => r.status === 'applied',
    () => false,
  );
  const bootStart = performance.now();
  const perProc = Math.ceil(devices / procs);
  await Promise.all(
    Array.from({ length: procs }, (_, p) => {
      const slice = ids.slice(p * perProc, (p + 1) * perProc);
      if (slice.length === 0) return Promise.resolve();
      const worker = fork(resolve(projectRoot, 'test/bench/fleet-worker.ts'), [], {
        execArgv: ['--import', 'tsx'],
        env: {
          ...process.env,
          // Each real device is its own process with its own libuv pool; 50 simulated devices sharing the
          // default 4 threads would queue every chunk write behind other devices' fsyncs.
          UV_THREADPOOL_SIZE: '64',
          FLEET_WORKER: JSON.stringify({
            url: broker.url,
            prefix,
            ids: slice,
            stateRoot,
            keyId: key.id,
            publicKey: key.publicKey,
          }),
        },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      workers.push(worker);
      return new Promise<void>((ready, fail) => {
        worker.once('message', () => ready());
        worker.once('exit', (code) => fail(new Error(`worker ${p} exited with ${code}`)));
      });
    }),
  );
  const boot = await booted;
  const bootMs = performance.now() - bootStart;
  process.stdout.write(
    `${devices} devices up in ${procs} processes (${Math.round(bootMs)} ms); ${boot.lost} missing\n`,
  );

  const rows: Row[] = [];
  const row = (phase: string, result: { times: number[]; lost: number; stuck: string[] }) => {
    const { times, lost, stuck } = result;
    rows.push({
      phase,
      devices,
      applied: times.length,
      p50_ms: Math.round(percentile(times, 50)),
      p99_ms: Math.round(percentile(times, 99)),
      max_ms: Math.round(Math.max(...times)),
      lost,
      stuck: stuck.length,
    });
    if (stuck.length > 0) process.stdout.write(`stuck: ${stuck.join('; ')}\n`);
  };

  for (let round = 1; round <= rounds; round++) {
    const version = round;
    const doc = signDocument(
      { target: 'fleet', version, config: { nlu: { threads: 1 + (round % 4) }, log: { level: 'warn' } } },
      signer.key,
      signer.keyId,
    );
    let t0 = 0;
    const result = converge(
      'config',
      () => t0,
      (r) => r.status === 'applied' && (r.versions as Record<string, number>).fleet === version,
      (r) => r.status === 'rejected' || r.status === 'rolled_back',
    );
    t0 = performance.now();
    await operator.publishAsync(configTopicFor(prefix, 'fleet'), JSON.stringify(doc), {
      qos: 1,
      retain: true,
    });
    row(`config change #${round}`, await result);
  }

  const modelDir = mkdtempSync(join(tmpdir(), 'sling-bench-model-'));
  mkdirSync(join(modelDir, 'onnx'));
  writeFileSync(join(modelDir, 'model.json'), JSON.stringify({ name: 'bench', selfTest: [] }));
  writeFileSync(join(modelDir, 'onnx', 'model.onnx'), randomBytes(modelKb * 1024));
  let t0 = 0;
  let sha = '';
  const modelDone = converge(
    'model',
    () => t0,
    (r) => r.status === 'applied' && r.sha256 === sha && sha !== '',
    (r) => r.status === 'rejected' && r.sha256 === sha,
  );
  t0 = performance.now();
  const published = await publishModel({
    mqtt: operator,
    prefix,
    dir: modelDir,
    target: 'fleet',
    version: 1,
    signer,
  });
  sha = published.manifest.sha256;
  let reRequests = 0;
  const stopServing = await serveChunkRequests(operator, prefix, published, () => reRequests++);
  row(`model ${modelKb} KiB (${published.manifest.chunks.length} chunks)`, await modelDone);
  rows.at(-1)!.re_requests = reRequests;
  await stopServing();
  rmSync(modelDir, { recursive: true, force: true });

  writeResult('fleet', rows, {
    settings: { devices, processes: procs, rounds, modelKb, signed: true, broker: 'mosquitto (loopback)' },
    target: '200 devices converge in under 5 s for a config change',
    loadAverageAtEnd: loadavg().map((l) => Number(l.toFixed(1))),
  });
} finally {
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((done) => {
          if (w.exitCode !== null) return done();
          const timer = setTimeout(() => w.kill('SIGKILL'), 10_000);
          w.once('exit', () => {
            clearTimeout(timer);
            done();
          });
          w.send({ stop: true });
        }),
    ),
  );
  await operator.endAsync(true);
  await broker.stop();
  rmSync(stateRoot, { recursive: true, force: true });
}
