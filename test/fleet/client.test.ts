import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { bootConfig } from '../../agent/fleet/client.ts';
import { generateSigningKey, loadPrivateKey, signDocument } from '../../agent/fleet/signing.ts';
import { configTopicFor, type LayerId } from '../../agent/fleet/topics.ts';
import { connect, deviceConfig, startDevice } from '../helpers/fleet.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';

let broker: Mosquitto;
let operator: MqttClient;
let counter = 0;
/** Each test gets its own topic prefix so retained documents of one test never reach another. */
const freshPrefix = () => `t${process.pid}x${counter++}`;

async function publishDoc(prefix: string, target: LayerId, doc: Record<string, unknown>, retain = true) {
  await operator.publishAsync(configTopicFor(prefix, target), JSON.stringify({ target, ...doc }), {
    qos: 1,
    retain,
  });
}

before(async () => {
  broker = await startMosquitto();
  operator = await connect(broker.url, `operator-${process.pid}`);
});
after(async () => {
  await operator?.endAsync();
  await broker?.stop();
});

describe('fleet client against mosquitto', () => {
  it('merges retained fleet and group documents at boot, then applies a device document live', async () => {
    const prefix = freshPrefix();
    await publishDoc(prefix, 'fleet', {
      version: 1,
      config: { log: { level: 'warn' }, nlu: { threads: 2 } },
    });
    await publishDoc(prefix, 'group:lab', { version: 4, config: { log: { level: 'debug' } } });
    await publishDoc(prefix, 'group:other', { version: 1, config: { nlu: { threads: 8 } } });
    const dev = await startDevice(broker.url, deviceConfig('merge-1', prefix, 'fleet:\n  groups: [lab]\n'));
    try {
      const booted = await dev.report((r) => r.status === 'applied' && r.versions['group:lab'] === 4);
      assert.deepEqual(booted.versions, { fleet: 1, 'group:lab': 4 });
      assert.equal(dev.client.config.log.level, 'debug');
      assert.equal(dev.client.config.nlu.threads, 2, 'a group the device is not in does not apply');
      const since = dev.reports.length;
      const appliedBefore = dev.applied.length;
      await publishDoc(prefix, 'device:merge-1', {
        version: 1,
        config: { nlu: { threads: 3 }, log: { level: null } },
      });
      const live = await dev.report((r) => r.versions['device:merge-1'] === 1, since);
      assert.equal(live.status, 'applied');
      assert.equal(dev.applied.length, appliedBefore + 1);
      const { config, diff } = dev.applied.at(-1)!;
      assert.equal(config.nlu.threads, 3);
      assert.equal(config.log.level, 'info', 'null removed the key down to the schema default');
      assert.deepEqual(diff.sections, ['log', 'nlu']);
      assert.deepEqual(live.restartRequired, []);
      // What every operator tool reads: the retained report.
      const retained = await readReported(`${prefix}/merge-1/config/reported`, (r) => r.hash === live.hash);
      assert.deepEqual(retained.versions, live.versions);
    } finally {
      await dev.close();
    }
  });

  it('rejects an invalid document with the exact reason and leaves the running config untouched', async () => {
    const prefix = freshPrefix();
    const dev = await startDevice(broker.url, deviceConfig('bad-1', prefix));
    try {
      await dev.report((r) => r.status === 'applied');
      const before = structuredClone(dev.client.config);
      await publishDoc(prefix, 'fleet', {
        version: 2,
        config: { nlu: { threads: 99 }, mqtt: { prefix: 'a/#' } },
      });
      const rejected = await dev.report((r) => r.status === 'rejected');
      assert.match(
        rejected.error!,
        /^fleet v2: mqtt\.prefix: must not contain MQTT wildcards; nlu\.threads: Too big/,
      );
      assert.deepEqual(rejected.document, { target: 'fleet', version: 2 });
      assert.deepEqual(dev.client.config, before);
      assert.equal(dev.applied.length, 0, 'the apply hook was never called');
      await operator.publishAsync(configTopicFor(prefix, 'fleet'), 'not json', { qos: 1 });
      const garbage = await dev.report((r) => r.status === 'rejected' && /not JSON/.test(r.error ?? ''));
      assert.equal(garbage.document?.version, null);
    } finally {
      await dev.close();
    }
  });

  it('rolls back to the last-known-good config when applying fails half-way, and boots from it later', async () => {
    const prefix = freshPrefix();
    const calls: number[] = [];
    const dev = await startDevice(broker.url, deviceConfig('rb-1', prefix), {
      apply: (config) => {
        calls.push(config.nlu.threads);
        if (config.nlu.threads === 5) throw new Error('driver "arm" did not reopen');
      },
    });
    try {
      await publishDoc(prefix, 'fleet', { version: 1, config: { nlu: { threads: 2 } } });
      await dev.report((r) => r.status === 'applied' && r.versions.fleet === 1);
      const persisted = readFileSync(`${dev.stateDir}/state.json`, 'utf8');
      await publishDoc(prefix, 'fleet', { version: 2, config: { nlu: { threads: 5 } } });
      const rolled = await dev.report((r) => r.status === 'rolled_back');
      assert.match(rolled.error!, /apply failed: driver "arm" did not reopen/);
      assert.deepEqual(rolled.versions, { fleet: 1 });
      assert.deepEqual(calls, [2, 5, 2], 'applied, failed, restored');
      assert.equal(dev.client.config.nlu.threads, 2);
      const state = JSON.parse(readFileSync(`${dev.stateDir}/state.json`, 'utf8'));
      assert.equal(state.lastKnownGood.nlu.threads, 2);
      assert.deepEqual(state.layers, JSON.parse(persisted).layers, 'last-known-good layers are unchanged');
      assert.equal(
        state.seen.fleet.version,
        2,
        'the failed version is consumed: redelivery will not retry it',
      );
      assert.deepEqual(
        readdirSync(dev.stateDir).filter((f) => f.endsWith('.tmp')),
        [],
        'no temp files left behind',
      );
    } finally {
      await dev.close();
    }
    // A reboot with no broker at all comes up with the last-known-good config.
    const boot = bootConfig(deviceConfig('rb-1', prefix), dev.stateDir);
    assert.equal(boot.error, undefined);
    assert.equal(boot.config.nlu.threads, 2);
  });

  it('restarts from the persisted config and does not re-apply retained documents it already has', async () => {
    const prefix = freshPrefix();
    await publishDoc(prefix, 'fleet', { version: 7, config: { log: { level: 'error' } } });
    const first = await startDevice(broker.url, deviceConfig('reboot-1', prefix));
    await first.report((r) => r.versions.fleet === 7);
    await first.close();
    const second = await startDevice(broker.url, deviceConfig('reboot-1', prefix), {
      stateDir: first.stateDir,
      start: false,
    });
    try {
      assert.equal(second.client.config.log.level, 'error', 'config restored before connecting');
      await second.client.start();
      const boot = await second.report((r) => r.status === 'applied');
      assert.deepEqual(boot.versions, { fleet: 7 });
      await publishDoc(prefix, 'fleet', { version: 8, config: { log: { level: 'warn' } } });
      await second.report((r) => r.versions.fleet === 8);
      assert.equal(second.applied.length, 1, 'only the new version was applied, the retained v7 was a no-op');
      assert.deepEqual(
        second.reports.map((r) => r.status),
        ['applied', 'applied'],
      );
    } finally {
      await second.close();
    }
  });

  it('requires valid signatures and rejects replays when requireSigned is on', async () => {
    const prefix = freshPrefix();
    const key = generateSigningKey();
    const { key: privateKey } = loadPrivateKey(key.privateKeyPem);
    const stranger = generateSigningKey();
    const trustYaml = `fleet:\n  requireSigned: true\n  publicKeys:\n    - id: ${key.id}\n      key: ${key.publicKey}\n`;
    const dev = await startDevice(broker.url, deviceConfig('sig-1', prefix, trustYaml));
    const signed = (version: number, config: Record<string, unknown>, signer = privateKey, id = key.id) =>
      signDocument({ target: 'fleet', version, config }, signer, id);
    try {
      await dev.report((r) => r.status === 'applied');
      await publishDoc(prefix, 'fleet', { version: 1, config: { nlu: { threads: 2 } } });
      assert.match((await dev.report((r) => r.status === 'rejected')).error!, /unsigned document/);
      let since = dev.reports.length;
      await publishDoc(
        prefix,
        'fleet',
        signed(2, { nlu: { threads: 2 } }, loadPrivateKey(stranger.privateKeyPem).key, stranger.id),
      );
      assert.match((await dev.report((r) => r.status === 'rejected', since)).error!, /unknown key/);
      since = dev.reports.length;
      const forged = { ...signed(3, { nlu: { threads: 2 } }), version: 30 };
      await publishDoc(prefix, 'fleet', forged);
      assert.match((await dev.report((r) => r.status === 'rejected', since)).error!, /bad signature/);
      since = dev.reports.length;
      const good = signed(5, { nlu: { threads: 4 } });
      await publishDoc(prefix, 'fleet', good);
      await dev.report((r) => r.status === 'applied' && r.versions.fleet === 5, since);
      assert.equal(dev.client.config.nlu.threads, 4);
      since = dev.reports.length;
      await publishDoc(prefix, 'fleet', good); // redelivery of the same document: silently a no-op
      await publishDoc(prefix, 'fleet', signed(4, { nlu: { threads: 1 } })); // a captured older document
      const replay = await dev.report((r) => r.status === 'rejected', since);
      assert.match(replay.error!, /replayed or stale: version 4 is not newer than accepted version 5/);
      assert.equal(dev.reports.length, since + 1, 'the redelivered v5 produced no report');
      assert.equal(dev.client.config.nlu.threads, 4);
    } finally {
      await dev.close();
    }
  });

  it('queues a change while a motion action executes and applies it when idle; motion-safe changes go through', async () => {
    const prefix = freshPrefix();
    const motion = new EventEmitter();
    let busy = true;
    const dev = await startDevice(broker.url, deviceConfig('busy-1', prefix), {
      isBusy: () => busy,
      onIdle: (listener) => {
        motion.on('idle', listener);
        return () => motion.off('idle', listener);
      },
    });
    try {
      await dev.report((r) => r.status === 'applied');
      await publishDoc(prefix, 'fleet', { version: 1, config: { log: { level: 'warn' } } });
      await dev.report((r) => r.versions.fleet === 1);
      assert.equal(dev.applied.length, 1, 'log.level is motion-safe: applied while moving');
      await publishDoc(prefix, 'fleet', {
        version: 2,
        config: { log: { level: 'warn' }, nlu: { threads: 2 } },
      });
      const pending = await dev.report((r) => r.status === 'pending');
      assert.deepEqual(pending.versions, { fleet: 1 });
      assert.equal(dev.applied.length, 1, 'not applied while moving');
      const since = dev.reports.length;
      busy = false;
      motion.emit('idle');
      await dev.report((r) => r.status === 'applied' && r.versions.fleet === 2, since);
      assert.equal(dev.client.config.nlu.threads, 2);
      busy = true;
      await publishDoc(prefix, 'device:busy-1', {
        version: 1,
        motionSafe: true,
        config: { nlu: { threads: 3 } },
      });
      await dev.report((r) => r.versions['device:busy-1'] === 1, since);
      assert.equal(dev.client.config.nlu.threads, 3, 'a document marked motionSafe applies while moving');
    } finally {
      await dev.close();
    }
  });

  it('answers effective-config requests on the MQTT 5 response topic, with secrets redacted', async () => {
    const prefix = freshPrefix();
    const config = deviceConfig('get-1', prefix);
    config.mqtt.password = 's3cret';
    const dev = await startDevice(broker.url, config);
    try {
      await dev.report((r) => r.status === 'applied');
      const responseTopic = `${prefix}/ops/${process.pid}/answer`;
      await operator.subscribeAsync(responseTopic, { qos: 1 });
      const answer = new Promise<{ payload: Buffer; correlation?: Buffer }>((resolve) => {
        operator.on('message', (topic, payload, packet) => {
          if (topic === responseTopic)
            resolve({ payload, correlation: packet.properties?.correlationData as Buffer });
        });
      });
      await operator.publishAsync(`${prefix}/get-1/config/get`, '', {
        qos: 1,
        properties: { responseTopic, correlationData: Buffer.from('req-42') },
      });
      const { payload, correlation } = await answer;
      const body = JSON.parse(payload.toString());
      assert.equal(correlation?.toString(), 'req-42');
      assert.equal(body.config.device.id, 'get-1');
      assert.equal(body.config.mqtt.password, '[redacted]');
      assert.ok(!payload.toString().includes('s3cret'));
    } finally {
      await dev.close();
    }
  });
});

/** The broker's copy of a report: the retained one, or the next one published (the device may still be sending). */
async function readReported(
  topic: string,
  match: (r: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  const reader = await connect(broker.url, `reader-${process.pid}-${Math.random()}`);
  try {
    const message = new Promise<Buffer>((resolve) =>
      reader.on('message', (t, p) => {
        if (t === topic && match(JSON.parse(p.toString()))) resolve(p);
      }),
    );
    await reader.subscribeAsync(topic, { qos: 1 });
    return JSON.parse((await message).toString());
  } finally {
    await reader.endAsync();
  }
}
