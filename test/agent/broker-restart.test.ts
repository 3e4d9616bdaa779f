import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Probe, startAgent, testConfig } from '../helpers/agent.ts';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { testPipeline } from '../helpers/pipeline.ts';

const COMMANDS = 120;

for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
  describe(`broker restart mid-stream (${signal})`, () => {
    it('loses no command and executes none twice', async () => {
      // Without persistence a restarted broker forgets every session and queued message by design.
      const broker = await startMosquitto('', { persistence: true });
      const pipeline = testPipeline();
      const config = testConfig({
        mqtt: { url: broker.url, keepaliveS: 5 },
        agent: { reconnect: { minMs: 50, maxMs: 400 }, rateLimit: { perSecond: 10_000, burst: 10_000 } },
      });
      const agent = await startAgent(config, pipeline);
      const persistent = { clean: false, reconnectPeriod: 100, protocolVersion: 4 as const };
      const results = await Probe.connect(broker.url, { ...persistent, clientId: `res-${config.device.id}` });
      await results.subscribe(agent.topics.commandResult);
      const publisher = await Probe.connect(broker.url, {
        ...persistent,
        clientId: `pub-${config.device.id}`,
      });
      try {
        const acked: Promise<unknown>[] = [];
        for (let i = 0; i < COMMANDS; i++) {
          const payload = JSON.stringify({ id: `r-${i}`, text: `drive forward ${i} meters` });
          acked.push(publisher.client.publishAsync(agent.topics.command, payload, { qos: 1 }));
          if (i === COMMANDS / 3) {
            await broker.kill(signal);
            setTimeout(() => void broker.start(), 300);
          }
          await new Promise((r) => setTimeout(r, 5));
        }
        await Promise.all(acked); // every command reached the broker (mqtt.js resends unacknowledged ones)
        const ids = Array.from({ length: COMMANDS }, (_, i) => `r-${i}`);
        const missing = () => {
          const seen = new Set(results.json(agent.topics.commandResult).map((r) => r.id));
          return ids.filter((id) => !seen.has(id));
        };
        // Generous: on a loaded 2-core machine the broker restart and 120 redeliveries can take a while;
        // a lost command never arrives however long we wait, and the message names it.
        await results
          .waitFor(() => missing().length === 0, 'a result for every command', 30_000)
          .catch((error: Error) => {
            throw new Error(`${error.message}; missing: ${missing().join(', ')}`);
          });
        for (const id of ids)
          assert.equal(
            pipeline.executor.countFor(id),
            1,
            `${id} executed exactly once (${agent.counters.duplicates} redeliveries answered from the cache)`,
          );
        assert.ok(agent.connection.stats.connects >= 2, 'the agent reconnected');
        assert.ok(
          pipeline.executor.safeStops.includes('broker connection lost'),
          'motion stopped on broker loss',
        );
      } finally {
        await publisher.close();
        await results.close();
        await agent.stop();
        await broker.stop();
      }
    });
  });
}

describe('offline result queue', () => {
  it('keeps the newest results made while offline (bounded) and sends them on reconnect', async () => {
    const broker = await startMosquitto('', { persistence: true });
    const pipeline = testPipeline();
    const config = testConfig({
      mqtt: { url: broker.url },
      agent: { offlineQueue: 3, reconnect: { minMs: 50, maxMs: 300 } },
    });
    const agent = await startAgent(config, pipeline);
    const results = await Probe.connect(broker.url, {
      clean: false,
      clientId: `offq-${config.device.id}`,
      reconnectPeriod: 100,
    });
    try {
      await results.subscribe(agent.topics.commandResult);
      const offline = new Promise<void>((resolve) => agent.once('offline', () => resolve()));
      await broker.kill('SIGTERM');
      await offline;
      // Commands from a local source (console, voice) still run while the broker is away.
      for (let i = 0; i < 5; i++) await agent.command({ id: `off-${i}`, text: 'turn on the cellar light' });
      assert.equal(agent.connection.offlineQueueDepth, 3);
      assert.equal(agent.connection.stats.droppedOffline, 2);
      await broker.start();
      await results.waitFor(
        () =>
          ['off-2', 'off-3', 'off-4'].every((id) =>
            results.json(agent.topics.commandResult).some((r) => r.id === id),
          ),
        'the three newest results',
        20_000,
      );
      const ids = results.json(agent.topics.commandResult).map((r) => r.id);
      assert.ok(!ids.includes('off-0') && !ids.includes('off-1'), 'the oldest were dropped');
      assert.equal(agent.connection.offlineQueueDepth, 0);
    } finally {
      await results.close();
      await agent.stop();
      await broker.stop();
    }
  });
});
