import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Agent } from '../../agent/agent.ts';
import { type Probe, type Rig, startRig } from '../helpers/agent.ts';
import { testPipeline } from '../helpers/pipeline.ts';

describe('sensor streams into the state store', () => {
  let agent: Agent;
  let probe: Probe;

  let rig: Rig;

  before(async () => {
    rig = await startRig(
      {
        agent: { stateThrottleMs: 200 },
        sensors: {
          maxKeys: 40,
          subscriptions: [
            { topic: 'home/+room/temperature', key: 'sensors.temperature.{room}' },
            { topic: 'zigbee/+dev', key: 'sensors.zigbee.{dev}', field: 'data.battery', staleAfterS: 0.3 },
            { topic: 'many/+n', key: 'sensors.many.{n}' },
          ],
        },
      },
      testPipeline(),
      (a) => [a.topics.state],
    );
    ({ agent, probe } = rig);
  });

  after(() => rig?.close());

  const until = async (check: () => boolean, what: string, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('maps plain numbers and JSON fields to named values, refuses junk, and marks stale values', async () => {
    await probe.client.publishAsync('home/kitchen/temperature', '21.5', { qos: 1 });
    await probe.client.publishAsync('zigbee/door', JSON.stringify({ data: { battery: 87 } }), { qos: 1 });
    await probe.client.publishAsync('home/attic/temperature', 'hot', { qos: 1 });
    await probe.client.publishAsync('zigbee/window', '{"data": {}}', { qos: 1 });
    await until(
      () => agent.state.has('sensors.zigbee.door') && agent.health().sensors.rejected >= 2,
      'sensor values',
    );
    assert.equal(agent.state.get('sensors.temperature.kitchen')?.value, 21.5);
    assert.equal(agent.state.get('sensors.zigbee.door')?.value, 87);
    assert.equal(agent.state.has('sensors.temperature.attic'), false, 'a non-number is refused');
    assert.equal(agent.state.has('sensors.zigbee.window'), false, 'a missing field is refused');
    assert.equal(agent.state.get('sensors.zigbee.door')?.stale, undefined);
    await until(() => agent.state.get('sensors.zigbee.door')?.stale === true, 'staleness', 5000);
    assert.equal(
      agent.state.get('sensors.temperature.kitchen')?.stale,
      undefined,
      'no staleness rule for it',
    );
    const state = await probe.waitFor(
      (m) => m.payload.includes('sensors.zigbee.door') && m.packet.retain !== undefined,
      'state snapshot',
    );
    assert.equal(JSON.parse(state.payload)['sensors.temperature.kitchen'].value, 21.5);
  });

  it('conflates a flood: latest value wins, bounded keys, throttled state publishing', async () => {
    const rooms = Array.from({ length: 10 }, (_, i) => `room${i}`);
    const perRoom = 5000;
    const statesBefore = probe.messages.length;
    const heapBefore = process.memoryUsage().heapUsed;
    const started = Date.now();
    for (let i = 0; i < perRoom; i++) {
      for (const room of rooms) probe.client.publish(`home/${room}/temperature`, String(i), { qos: 0 });
      if (i % 500 === 0) await new Promise((r) => setImmediate(r)); // let the socket drain
    }
    for (const room of rooms) await probe.client.publishAsync(`home/${room}/temperature`, '-1', { qos: 1 });
    await until(
      () => rooms.every((room) => agent.state.get(`sensors.temperature.${room}`)?.value === -1),
      'final values',
    );
    const floodMs = Date.now() - started;
    const received = agent.health().sensors.messages;
    // QoS 0: a loaded broker may drop some for a slow reader; what matters is that a flood did arrive.
    assert.ok(received >= rooms.length * perRoom * 0.5, `the flood arrived (${received} messages)`);
    // One key per room however many messages came: memory follows keys, not rate.
    assert.equal(
      Object.keys(agent.state.snapshot()).filter((k) => k.startsWith('sensors.temperature.')).length,
      11,
    );
    const statePublishes = probe.messages.length - statesBefore;
    assert.ok(
      statePublishes <= floodMs / 200 + 3,
      `state republished ${statePublishes} times in ${floodMs} ms, throttled to 200 ms`,
    );
    const heapGrowthMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    assert.ok(heapGrowthMiB < 64, `heap grew ${heapGrowthMiB.toFixed(1)} MiB over a 50,000-message flood`);
  });

  it('caps the number of keys wildcards can create', async () => {
    const before = agent.health().sensors;
    const sizeBefore = agent.state.size;
    for (let n = 0; n < 100; n++) probe.client.publish(`many/k${n}`, String(n), { qos: 0 });
    await probe.client.publishAsync('many/last', '1', { qos: 1 });
    await until(() => agent.health().sensors.messages >= before.messages + 101, 'all 101 messages');
    assert.equal(agent.health().sensors.rejected - before.rejected, 101 - (40 - sizeBefore));
    assert.equal(agent.state.size, 40, 'sensors.maxKeys bounds the store');
  });
});
