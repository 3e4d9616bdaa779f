import { existsSync, readdirSync, statfsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SlingConfig } from '../config/schema.ts';
import type { CheckResult } from './types.ts';

export const minimumNodeMajor = 20;
const supportedArchs = ['x64', 'arm64'];

export function checkNode(version: string, arch: string): CheckResult {
  const major = Number(/^v?(\d+)/.exec(version)?.[1] ?? 0);
  const fix64 =
    'onnxruntime-node ships linux-x64 and linux-arm64 only: install a 64-bit OS (64-bit Raspberry Pi OS)';
  if (!supportedArchs.includes(arch)) {
    return {
      check: 'Node.js',
      status: 'fail',
      detail: `Node ${version} on ${arch}: unsupported architecture`,
      fix: fix64,
    };
  }
  if (major < minimumNodeMajor) {
    return {
      check: 'Node.js',
      status: 'fail',
      detail: `Node ${version} is older than ${minimumNodeMajor}`,
      fix: 'install Node.js 20 LTS or newer (README: Installing on a Raspberry Pi / Jetson)',
    };
  }
  return { check: 'Node.js', status: 'pass', detail: `Node ${version} on linux-${arch}` };
}

export async function checkOnnxRuntime(): Promise<CheckResult> {
  try {
    const ort = await import('onnxruntime-node');
    return {
      check: 'onnxruntime',
      status: 'pass',
      detail: `onnxruntime-node ${ort.env.versions.node} loads (${process.arch})`,
    };
  } catch (error) {
    return {
      check: 'onnxruntime',
      status: 'fail',
      detail: `onnxruntime-node does not load: ${(error as Error).message.split('\n')[0]}`,
      fix: 'run `npm ci` in the Sling directory; a 32-bit OS has no onnxruntime-node build',
    };
  }
}

/**
 * The model loads the way the agent loads it (agent/nlu: manifest format, size and sha256 of the graph, then
 * an onnxruntime session) and answers a probe sentence.
 */
export async function checkModel(modelDir: string): Promise<CheckResult> {
  const fix =
    'rebuild it with `npx sling train config/intents/default.yaml --out <dir>`, or let the fleet deliver it again';
  if (!existsSync(modelDir)) {
    return { check: 'model', status: 'fail', detail: `model directory ${modelDir} does not exist`, fix };
  }
  const { loadParser } = await import('../nlu/index.ts');
  let parser: Awaited<ReturnType<typeof loadParser>>;
  try {
    parser = await loadParser(modelDir, { threads: 1 });
  } catch (error) {
    return { check: 'model', status: 'fail', detail: (error as Error).message.split('\n')[0] ?? '', fix };
  }
  try {
    const probe = await parser.parse('turn on the light');
    if (probe.error)
      return { check: 'model', status: 'fail', detail: `probe parse failed: ${probe.error}`, fix };
    const manifest = parser.manifest;
    const intents = manifest.intents.filter((i) => i !== manifest.noneIntent).length;
    const size = `${(manifest.model.bytes / 1024).toFixed(0)} KiB`;
    return {
      check: 'model',
      status: 'pass',
      detail: `${modelDir}: sha256 ${manifest.model.sha256.slice(0, 12)}… ok, ${size}, ${intents} intents`,
    };
  } finally {
    await parser.release();
  }
}

/** Free space needed to receive a model update beside the current model (download + new copy) plus logs. */
export function requiredFreeBytes(modelBytes: number): number {
  return 2 * modelBytes + 100 * 2 ** 20;
}

export function diskVerdict(freeBytes: number, modelBytes: number, where: string): CheckResult {
  const required = requiredFreeBytes(modelBytes);
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  if (freeBytes < required) {
    return {
      check: 'free disk',
      status: 'fail',
      detail: `${mib(freeBytes)} free on ${where}, a model update needs ${mib(required)}`,
      fix: 'free space (sudo apt-get clean; sudo journalctl --vacuum-size=50M) or use a larger SD card',
    };
  }
  return {
    check: 'free disk',
    status: 'pass',
    detail: `${mib(freeBytes)} free on ${where} (update needs ${mib(required)})`,
  };
}

function directoryBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? directoryBytes(path) : entry.isFile() ? statSync(path).size : 0;
  }
  return total;
}

/** Free space where delivered models land (the fleet's state directory), sized by the current model. */
export function checkDisk(modelDir: string, updatesDir = modelDir): CheckResult {
  let where = updatesDir;
  while (!existsSync(where) && dirname(where) !== where) where = dirname(where);
  const fs = statfsSync(where);
  return diskVerdict(fs.bavail * fs.bsize, directoryBytes(modelDir), where);
}

/** Connects with MQTT (CONNECT/CONNACK, not only TCP) using the configured credentials and TLS files. */
export async function checkBroker(mqtt: SlingConfig['mqtt'], timeoutMs = 3000): Promise<CheckResult> {
  const configured = mqtt.url !== undefined;
  const url = mqtt.url ?? 'mqtt://localhost:1883';
  const { connectAsync } = await import('mqtt');
  const { readFileSync } = await import('node:fs');
  try {
    const client = await connectAsync(url, {
      protocolVersion: mqtt.protocolVersion,
      username: mqtt.username,
      password: mqtt.password,
      clientId: `sling-doctor-${process.pid}`,
      connectTimeout: timeoutMs,
      reconnectPeriod: 0,
      ca: mqtt.tls?.ca ? readFileSync(mqtt.tls.ca) : undefined,
      cert: mqtt.tls?.cert ? readFileSync(mqtt.tls.cert) : undefined,
      key: mqtt.tls?.key ? readFileSync(mqtt.tls.key) : undefined,
      rejectUnauthorized: mqtt.tls?.rejectUnauthorized ?? true,
    });
    await client.endAsync();
    return {
      check: 'broker',
      status: 'pass',
      detail: `${url} accepts MQTT v${mqtt.protocolVersion === 5 ? 5 : '3.1.1'} connections`,
    };
  } catch (error) {
    const reason = (error as Error).message || String(error);
    if (!configured) {
      return {
        check: 'broker',
        status: 'warn',
        detail: `no broker at ${url} (${reason}); the agent will start its embedded broker on ${mqtt.embedded.host}:${mqtt.embedded.port}`,
        fix: 'to use an existing broker set mqtt.url in config/sling.yaml or SLING_MQTT_URL=mqtt://host:1883',
      };
    }
    return {
      check: 'broker',
      status: 'fail',
      detail: `cannot connect to ${url}: ${reason}`,
      fix: `check that the broker runs and is reachable (mosquitto_sub -L ${url.replace(/\/$/, '')}/'#' -v), and mqtt.username/password/tls`,
    };
  }
}
