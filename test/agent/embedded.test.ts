import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startEmbeddedBroker } from '../../agent/ingress/broker.ts';
import { Probe, startAgent, testConfig } from '../helpers/agent.ts';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { testPipeline } from '../helpers/pipeline.ts';
import { freePort } from '../helpers/ports.ts';

describe('broker discovery and the embedded broker', () => {
  it('starts the embedded aedes broker when none answers, speaks MQTT 3.1.1 to it, and runs commands', async () => {
    const port = await freePort();
    const pipeline = testPipeline();
    const agent = await startAgent(testConfig({ mqtt: { embedded: { port } } }), pipeline);
    const probe = await Probe.connect(`mqtt://127.0.0.1:${port}`);
    try {
      assert.equal(agent.brokerUrl, `mqtt://127.0.0.1:${port}`);
      assert.equal(agent.connection.protocolVersion, 4, 'MQTT 5 is configured but aedes only speaks 3.1.1');
      await probe.subscribe(`${agent.topics.base}/#`);
      const status = await probe.waitFor((m) => m.topic === agent.topics.status, 'status');
      assert.equal(JSON.parse(status.payload).state, 'online');
      // An MQTT 5-style request degrades: the result still arrives on .../command/result.
      await probe.client.publishAsync(
        agent.topics.command,
        JSON.stringify({ id: 'e-1', text: 'turn on the den light' }),
        { qos: 1 },
      );
      const result = await probe.result(agent.topics.commandResult, 'e-1');
      assert.equal(result.status, 'ok');
      assert.equal(pipeline.executor.countFor('e-1'), 1);
    } finally {
      await probe.close();
      await agent.stop();
    }
    // The agent closed its broker at shutdown: the port is free again.
    const again = await startEmbeddedBroker('127.0.0.1', port);
    await again.close();
  });

  it('uses a broker already answering on the local port instead of starting one', async () => {
    const broker = await startMosquitto();
    const agent = await startAgent(testConfig({ mqtt: { embedded: { port: broker.port } } }), testPipeline());
    const probe = await Probe.connect(broker.url);
    try {
      assert.equal(agent.brokerUrl, `mqtt://127.0.0.1:${broker.port}`);
      assert.equal(agent.connection.protocolVersion, 5, 'mosquitto speaks MQTT 5');
      await probe.subscribe(agent.topics.status);
      await probe.waitFor((m) => JSON.parse(m.payload).state === 'online', 'online via mosquitto');
    } finally {
      await probe.close();
      await agent.stop();
      await broker.stop();
    }
  });

  it('falls back to MQTT 3.1.1 when a configured broker refuses MQTT 5', async () => {
    const aedes = await startEmbeddedBroker('127.0.0.1', await freePort());
    const agent = await startAgent(
      testConfig({ mqtt: { url: aedes.url, protocolVersion: 5 } }),
      testPipeline(),
    );
    try {
      assert.equal(agent.online, true);
      assert.equal(agent.connection.protocolVersion, 4);
      assert.ok(agent.connection.stats.clientsCreated >= 2, 'a second client was made for 3.1.1');
    } finally {
      await agent.stop();
      await aedes.close();
    }
  });

  it('recreates the MQTT client when the library stops retrying (liveness check)', async () => {
    const broker = await startMosquitto();
    const agent = await startAgent(
      testConfig({
        mqtt: { url: broker.url },
        agent: { reconnect: { minMs: 50, maxMs: 200, livenessMs: 500 } },
      }),
      testPipeline(),
    );
    try {
      const before = agent.connection.stats.clientsCreated;
      const online = new Promise<void>((resolve) => agent.once('online', () => resolve()));
      agent.connection.mqtt?.end(true); // mqtt.js ended: it will never reconnect by itself
      await online;
      assert.equal(agent.online, true);
      assert.equal(agent.connection.stats.clientsCreated, before + 1);
    } finally {
      await agent.stop();
      await broker.stop();
    }
  });
});
