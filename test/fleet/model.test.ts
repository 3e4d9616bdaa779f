import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { ModelManifest } from '../../agent/fleet/model/manifest.ts';
import { buildManifest, chunkOf } from '../../agent/fleet/model/manifest.ts';
import { packDirectory } from '../../agent/fleet/model/pack.ts';
import type { ModelHooks, ModelReport } from '../../agent/fleet/model/receiver.ts';
import { clearModelChunks, publishModel, serveChunkRequests } from '../../agent/fleet/model/sender.ts';
import { generateSigningKey, loadPrivateKey, signDocument } from '../../agent/fleet/signing.ts';
import { modelChunkTopic, modelTopicFor } from '../../agent/fleet/topics.ts';
import { connect, deviceConfig, startDevice, type TestDevice } from '../helpers/fleet.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';

let broker: Mosquitto;
let operator: MqttClient;
let counter = 0;
const freshPrefix = () => `m${process.pid}x${counter++}`;
const key = generateSigningKey();
const signer = { ...loadPrivateKey(key.privateKeyPem), keyId: key.id };
const trustYaml = `fleet:\n  requireSigned: true\n  publicKeys:\n    - id: ${key.id}\n      key: ${key.publicKey}\n`;

/** A model directory like `sling train` writes: metadata with self-test sentences, and weights. */
function makeModel(selfTest: 'pass' | 'fail', weightBytes = 150_000): string {
  const dir = mkdtempSync(join(tmpdir(), 'sling-model-'));
  mkdirSync(join(dir, 'onnx'));
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ name: 'test', selfTest }));
  writeFileSync(join(dir, 'onnx', 'model.onnx'), randomBytes(weightBytes));
  return dir;
}

/** Loads the delivered files and checks them against the source directory, like the NLU loader's self-test. */
function hooksFor(calls: { loaded: string[]; swapped: string[] }): ModelHooks {
  return {
    loadAndSelfTest: async (dir) => {
      calls.loaded.push(dir);
      const meta = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
      if (meta.selfTest !== 'pass') throw new Error('sentence "turn on the light" parsed as robot.move');
      return { weights: readFileSync(join(dir, 'onnx', 'model.onnx')) };
    },
    swap: (_loaded, dir) => {
      calls.swapped.push(dir);
    },
  };
}

function modelReport(
  dev: TestDevice,
  match: (r: ModelReport) => boolean,
  timeoutMs = 20_000,
): Promise<ModelReport> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no matching model report')), timeoutMs);
    const listener = (r: ModelReport) => {
      if (!match(r)) return;
      clearTimeout(timer);
      dev.client.off('model-report', listener);
      resolve(r);
    };
    dev.client.on('model-report', listener);
  });
}

before(async () => {
  broker = await startMosquitto();
  operator = await connect(broker.url, `model-operator-${process.pid}`);
});
after(async () => {
  await operator?.endAsync();
  await broker?.stop();
});

describe('model delivery over mosquitto', () => {
  it('rejects a corrupted chunk, gets it again, verifies, self-tests and swaps', async () => {
    const prefix = freshPrefix();
    const source = makeModel('pass');
    const published = await publishModel({
      mqtt: operator,
      prefix,
      dir: source,
      target: 'fleet',
      version: 1,
      chunkSize: 16 * 1024,
      signer,
    });
    const { manifest } = published;
    assert.ok(manifest.chunks.length >= 8);
    // The broker now holds a damaged copy of chunk 3.
    const damaged = Buffer.from(chunkOf(published.blob, manifest, 3));
    damaged[100] = (damaged[100] ?? 0) ^ 0xff;
    await operator.publishAsync(modelChunkTopic(prefix, manifest.sha256, 3), damaged, {
      qos: 1,
      retain: true,
    });
    const requests: number[][] = [];
    const stopServing = await serveChunkRequests(operator, prefix, published, (_device, missing) =>
      requests.push(missing),
    );
    const calls = { loaded: [] as string[], swapped: [] as string[] };
    const dev = await startDevice(broker.url, deviceConfig('mdl-1', prefix, trustYaml), {
      model: hooksFor(calls),
    });
    const rejectedChunks: number[] = [];
    dev.client.model!.on('chunk-rejected', (e: { index: number }) => rejectedChunks.push(e.index));
    try {
      const applied = await modelReport(dev, (r) => r.status === 'applied');
      assert.equal(applied.sha256, manifest.sha256);
      assert.deepEqual(rejectedChunks, [3]);
      assert.deepEqual(requests[0], [3], 'the device asked for exactly the corrupt chunk');
      assert.equal(calls.swapped.length, 1);
      const dir = calls.swapped[0]!;
      assert.deepEqual(packDirectory(dir).blob, packDirectory(source).blob, 'delivered files are identical');
      assert.equal(readlinkSync(join(dev.stateDir, 'models', 'current')), manifest.sha256);
      const state = JSON.parse(readFileSync(join(dev.stateDir, 'state.json'), 'utf8'));
      assert.equal(state.model.sha256, manifest.sha256);
      assert.ok(!existsSync(join(dev.stateDir, 'models', 'incoming', manifest.sha256)), 'chunks cleaned up');
      // The operator removes the chunks from the broker once every device has the model.
      assert.equal(await clearModelChunks(operator, prefix, manifest.sha256, 300), manifest.chunks.length);
      assert.equal(
        await clearModelChunks(operator, prefix, manifest.sha256, 300),
        0,
        'nothing retained any more',
      );
    } finally {
      await stopServing();
      await dev.close();
    }
  });

  it('keeps the old model when a new one is unsigned, replayed or fails its self-test', async () => {
    const prefix = freshPrefix();
    const calls = { loaded: [] as string[], swapped: [] as string[] };
    const dev = await startDevice(broker.url, deviceConfig('mdl-2', prefix, trustYaml), {
      model: hooksFor(calls),
    });
    try {
      let next = modelReport(dev, (r) => r.status === 'applied');
      const good = await publishModel({
        mqtt: operator,
        prefix,
        dir: makeModel('pass', 20_000),
        target: 'device:mdl-2',
        version: 2,
        signer,
      });
      await next;
      const { blob, files } = packDirectory(makeModel('pass', 1000));
      const unsigned = buildManifest(blob, files, {
        target: 'device:mdl-2',
        version: 3,
        name: 'x',
        chunkSize: 4096,
      });
      next = modelReport(dev, (r) => r.status === 'rejected');
      await operator.publishAsync(modelTopicFor(prefix, 'device:mdl-2'), JSON.stringify(unsigned), {
        qos: 1,
      });
      assert.match((await next).error!, /unsigned/);
      const replay = signDocument(
        { ...unsigned, version: 1 } as unknown as Record<string, unknown>,
        signer.key,
        signer.keyId,
      );
      next = modelReport(dev, (r) => r.status === 'rejected');
      await operator.publishAsync(modelTopicFor(prefix, 'device:mdl-2'), JSON.stringify(replay), { qos: 1 });
      assert.match((await next).error!, /not newer than 2/);
      next = modelReport(dev, (r) => r.status === 'rejected' && r.version === 4);
      await publishModel({
        mqtt: operator,
        prefix,
        dir: makeModel('fail', 20_000),
        target: 'device:mdl-2',
        version: 4,
        signer,
      });
      const failed = await next;
      assert.match(failed.error!, /self-test failed: sentence "turn on the light" parsed as robot\.move/);
      assert.equal(calls.swapped.length, 1, 'only the good model was swapped in');
      assert.equal(dev.client.model!.installed?.sha256, good.manifest.sha256);
      assert.equal(readlinkSync(join(dev.stateDir, 'models', 'current')), good.manifest.sha256);
      assert.ok(!existsSync(join(dev.stateDir, 'models', failed.sha256!)), 'the failed model was removed');
    } finally {
      await dev.close();
    }
  });

  it('resumes an interrupted transfer after a restart with the chunks it already had', async () => {
    const prefix = freshPrefix();
    const { blob, files } = packDirectory(makeModel('pass', 100_000));
    const manifest = signDocument(
      buildManifest(blob, files, {
        target: 'fleet',
        version: 1,
        name: 'resume',
        chunkSize: 8192,
      }) as unknown as Record<string, unknown>,
      signer.key,
      signer.keyId,
    ) as unknown as ModelManifest;
    const half = Math.floor(manifest.chunks.length / 2);
    for (let i = 0; i < half; i++) {
      await operator.publishAsync(modelChunkTopic(prefix, manifest.sha256, i), chunkOf(blob, manifest, i), {
        qos: 1,
        retain: true,
      });
    }
    await operator.publishAsync(modelTopicFor(prefix, 'fleet'), JSON.stringify(manifest), {
      qos: 1,
      retain: true,
    });
    const calls = { loaded: [] as string[], swapped: [] as string[] };
    const config = deviceConfig('mdl-3', prefix, trustYaml);
    const first = await startDevice(broker.url, config, { model: hooksFor(calls), start: false });
    const halfway = new Promise<void>((resolve) =>
      first.client.model!.on('progress', (p: { received: number }) => p.received === half && resolve()),
    );
    await first.client.start();
    await halfway;
    await first.close(); // the device goes down mid-transfer
    for (let i = half; i < manifest.chunks.length; i++) {
      await operator.publishAsync(modelChunkTopic(prefix, manifest.sha256, i), chunkOf(blob, manifest, i), {
        qos: 1,
        retain: true,
      });
    }
    const second = await startDevice(broker.url, config, {
      model: hooksFor(calls),
      stateDir: first.stateDir,
      start: false,
    });
    const started = new Promise<number>((resolve) =>
      second.client.model!.on('transfer-started', (e: { resumed: number }) => resolve(e.resumed)),
    );
    const done = modelReport(second, (r) => r.status === 'applied');
    try {
      await second.client.start();
      assert.equal(await started, half, 'chunks from before the restart were kept');
      const applied = await done;
      assert.equal(applied.sha256, manifest.sha256);
      assert.equal(calls.swapped.length, 1);
    } finally {
      await second.close();
    }
  });
});
