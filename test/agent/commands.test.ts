import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Agent } from '../../agent/agent.ts';
import { createPipeline } from '../../agent/default-pipeline.ts';
import { Probe, type Rig, startAgent, startRig, testConfig } from '../helpers/agent.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';
import { testPipeline } from '../helpers/pipeline.ts';

describe('agent commands against a real mosquitto', () => {
  let broker: Mosquitto;
  let agent: Agent;
  let probe: Probe;
  const pipeline = testPipeline();

  let rig: Rig;

  before(async () => {
    rig = await startRig({}, pipeline);
    ({ broker, agent, probe } = rig);
  });

  after(() => rig?.close());

  it('publishes retained online status', async () => {
    const status = await probe.waitFor((m) => m.topic === agent.topics.status, 'status');
    assert.equal(JSON.parse(status.payload).state, 'online');
    assert.equal(status.packet.retain, true);
  });

  it('runs a plain-text command and reports the result with actions, intent, slots and timing', async () => {
    const seen = probe.messages.length;
    await probe.client.publishAsync(agent.topics.command, 'turn on the kitchen light', { qos: 1 });
    const message = await probe.waitFor(
      (m) => m.topic === agent.topics.commandResult && probe.messages.indexOf(m) >= seen,
      'text result',
    );
    const result = JSON.parse(message.payload);
    assert.equal(result.status, 'ok');
    assert.equal(result.intent, 'light.on');
    assert.equal(result.slots[0].value, 'kitchen');
    assert.deepEqual(result.actions, [{ device: 'light.kitchen', action: 'on', params: {}, status: 'ok' }]);
    assert.equal(result.reply, 'Turning on the kitchen light.');
    assert.ok(result.timing.totalMs >= result.timing.parseMs && result.timing.parseMs >= 0);
    assert.match(result.id, /\S/);
    const events = await probe.waitFor(
      (m) => m.topic === agent.topics.events && JSON.parse(m.payload).type === 'action',
      'action event',
    );
    assert.equal(JSON.parse(events.payload).device, 'light.kitchen');
  });

  it('runs a JSON command with its id, and a dry run plans without acting', async () => {
    await probe.client.publishAsync(
      agent.topics.command,
      JSON.stringify({ id: 'json-1', text: 'drive forward 2 meters' }),
      { qos: 1 },
    );
    const result = await probe.result(agent.topics.commandResult, 'json-1');
    assert.equal(result.status, 'ok');
    assert.deepEqual(result.actions[0]?.params, { distance_m: 2 });
    assert.equal(pipeline.executor.countFor('json-1'), 1);

    await probe.client.publishAsync(
      agent.topics.command,
      JSON.stringify({ id: 'dry-1', text: 'drive forward 3 meters', dryRun: true }),
      { qos: 1 },
    );
    const dry = await probe.result(agent.topics.commandResult, 'dry-1');
    assert.equal(dry.status, 'ok');
    assert.equal(dry.dryRun, true);
    assert.equal(dry.actions[0]?.status, 'dry_run');
    assert.equal(pipeline.executor.countFor('dry-1'), 0, 'a dry run never reaches the executor');
  });

  it('answers a repeated command id from the cache without executing it again', async () => {
    const payload = JSON.stringify({ id: 'dup-1', text: 'turn on the hall light' });
    await probe.client.publishAsync(agent.topics.command, payload, { qos: 1 });
    await probe.client.publishAsync(agent.topics.command, payload, { qos: 1 });
    await probe.waitFor(
      () => probe.json(agent.topics.commandResult).filter((r) => r.id === 'dup-1').length === 2,
      'two answers',
    );
    const answers = probe.json(agent.topics.commandResult).filter((r) => r.id === 'dup-1');
    assert.equal(answers.length, 2, 'both publishes are answered');
    assert.deepEqual(answers[0], answers[1]);
    assert.equal(pipeline.executor.countFor('dup-1'), 1, 'executed once');
    assert.ok(agent.counters.duplicates >= 1);
  });

  it('reports not_understood and plan refusals', async () => {
    await probe.client.publishAsync(
      agent.topics.command,
      JSON.stringify({ id: 'nu-1', text: 'sing me a song' }),
      { qos: 1 },
    );
    const nu = await probe.result(agent.topics.commandResult, 'nu-1');
    assert.equal(nu.status, 'not_understood');
    assert.equal(nu.intent, null);
    assert.deepEqual(nu.actions, []);
    await probe.client.publishAsync(
      agent.topics.command,
      JSON.stringify({ id: 'ref-1', text: 'open the vault' }),
      { qos: 1 },
    );
    const refused = await probe.result(agent.topics.commandResult, 'ref-1');
    assert.equal(refused.status, 'rejected');
    assert.equal(refused.error, 'no skill for lock.open');
    assert.equal(pipeline.executor.countFor('ref-1'), 0);
  });

  it('answers an MQTT 5 request on its response topic with the correlation data', async () => {
    const v5 = await Probe.connect(broker.url, { protocolVersion: 5 });
    try {
      await v5.subscribe('replies/me');
      const correlationData = Buffer.from('corr-42');
      await v5.client.publishAsync(
        agent.topics.command,
        JSON.stringify({ id: 'v5-1', text: 'turn on the porch light' }),
        {
          qos: 1,
          properties: { responseTopic: 'replies/me', correlationData },
        },
      );
      const reply = await v5.waitFor((m) => m.topic === 'replies/me', 'response');
      assert.equal(JSON.parse(reply.payload).id, 'v5-1');
      assert.equal(JSON.parse(reply.payload).status, 'ok');
      assert.deepEqual(reply.packet.properties?.correlationData, correlationData);
      const onResultTopic = await probe.result(agent.topics.commandResult, 'v5-1');
      assert.equal(onResultTopic.status, 'ok', 'the result also goes to .../command/result');
    } finally {
      await v5.close();
    }
  });

  it('`sling say` sends a command and prints the result', async () => {
    const { execFile } = await import('node:child_process');
    const { fromProjectRoot } = await import('../../agent/paths.ts');
    const run = (text: string) =>
      new Promise<{ code: number; stdout: string }>((resolve) =>
        execFile(
          process.execPath,
          [
            fromProjectRoot('agent/sling.js'),
            'say',
            '--url',
            broker.url,
            '--device',
            agent.currentConfig.device.id,
            text,
          ],
          { timeout: 30_000 },
          (error, stdout) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout }),
        ),
      );
    const ok = await run('turn on the study light');
    assert.equal(ok.code, 0);
    assert.match(
      ok.stdout,
      /^\[ok\] Turning on the study light\. \(light\.on 97%\)\n {2}light\.study\.on \{\} → ok\n$/,
    );
    const notUnderstood = await run('sing me a song');
    assert.equal(notUnderstood.code, 1);
    assert.match(notUnderstood.stdout, /^\[not_understood\]/);
  });

  it('publishes a retained state snapshot and health figures', async () => {
    agent.state.set('sensors.temperature.kitchen', 21.5);
    const state = await probe.waitFor(
      (m) => m.topic === agent.topics.state && m.payload.includes('sensors.temperature.kitchen'),
      'state snapshot',
    );
    assert.equal(JSON.parse(state.payload)['sensors.temperature.kitchen'].value, 21.5);
    agent.publishHealth();
    const health = JSON.parse(
      (await probe.waitFor((m) => m.topic === agent.topics.health, 'health')).payload,
    );
    assert.ok(health.rssBytes > 0);
    assert.equal(health.mqtt.connected, true);
    assert.ok(health.commands.executed >= 3);
    assert.ok(health.latencyMs.parse.count >= 3);
    assert.equal(typeof health.queues.robot, 'number');
  });
});

describe('agent without a model', () => {
  it('starts and answers commands with a clear error instead of crashing', async () => {
    const broker = await startMosquitto();
    const config = testConfig({ mqtt: { url: broker.url }, nlu: { model: '/nonexistent/model-dir' } });
    const agent = await startAgent(config, createPipeline);
    const probe = await Probe.connect(broker.url);
    try {
      await probe.subscribe(agent.topics.commandResult);
      await probe.client.publishAsync(
        agent.topics.command,
        JSON.stringify({ id: 'nm-1', text: 'turn on the light' }),
        { qos: 1 },
      );
      const result = await probe.result(agent.topics.commandResult, 'nm-1');
      assert.equal(result.status, 'error');
      assert.match(result.reply, /no NLU model at \/nonexistent\/model-dir/);
      assert.deepEqual(result.actions, []);
    } finally {
      await probe.close();
      await agent.stop();
      await broker.stop();
    }
  });
});
