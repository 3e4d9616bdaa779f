import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Agent } from '../../agent/agent.ts';
import { Probe, type Rig, startAgent, startRig, testConfig } from '../helpers/agent.ts';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { testPipeline } from '../helpers/pipeline.ts';

describe('agent refuses bad, oversized and unauthorised commands with reasons', () => {
  let agent: Agent;
  let probe: Probe;
  const pipeline = testPipeline();

  let rig: Rig;

  before(async () => {
    rig = await startRig(
      {
        agent: {
          maxPayloadBytes: 256,
          rateLimit: { perSecond: 0.1, burst: 3 },
          allow: { clients: ['alice', 'flooder'] },
        },
      },
      pipeline,
    );
    ({ agent, probe } = rig);
  });

  after(() => rig?.close());

  const send = (payload: string | Buffer) =>
    probe.client.publishAsync(agent.topics.command, payload, { qos: 1 });

  const refusal = async (match: RegExp) => {
    const message = await probe.waitFor(
      (m) => m.topic === agent.topics.commandResult && match.test(JSON.parse(m.payload).error ?? ''),
      `refusal ${match}`,
    );
    const result = JSON.parse(message.payload);
    assert.equal(result.status, 'rejected');
    assert.deepEqual(result.actions, []);
    await probe.waitFor(
      (m) =>
        m.topic === agent.topics.events &&
        JSON.parse(m.payload).type === 'refused' &&
        match.test(JSON.parse(m.payload).reason),
      `refused event ${match}`,
    );
    return result;
  };

  it('refuses malformed JSON', async () => {
    await send('{"id": "bad-1", "text": ');
    await refusal(/^malformed JSON/);
  });

  it('refuses JSON that fails the schema, naming the field', async () => {
    await send(JSON.stringify({ id: 'bad-2', text: 42, source: 'alice' }));
    await refusal(/invalid command JSON: text: .*expected string/);
    await send(JSON.stringify({ id: 'bad-3', text: 'stop', source: 'alice', motor: 'on' }));
    await refusal(/invalid command JSON: .*motor/);
  });

  it('refuses oversized payloads before parsing them', async () => {
    await send(JSON.stringify({ id: 'big-1', text: 'x'.repeat(1000), source: 'alice' }));
    await refusal(/exceeds the 256-byte limit/);
  });

  it('refuses invalid UTF-8 and empty commands', async () => {
    await send(Buffer.from([0xff, 0xfe, 0x41]));
    await refusal(/not valid UTF-8/);
    await send('   ');
    await refusal(/empty command/);
  });

  it('refuses sources that are not on the allow-list', async () => {
    await send(JSON.stringify({ id: 'who-1', text: 'turn on the hall light', source: 'mallory' }));
    const result = await refusal(/source mallory is not on the allow-list/);
    assert.equal(result.id, 'who-1');
    await send('turn on the hall light');
    await refusal(/source \(none\) is not on the allow-list/);
  });

  it('rate-limits a source that floods', async () => {
    for (let i = 0; i < 8; i++) {
      await send(JSON.stringify({ id: `flood-${i}`, text: 'turn on the attic light', source: 'flooder' }));
    }
    await refusal(/source flooder exceeds 0.1 commands\/s/);
    const executed = pipeline.executor.executions.filter((e) => e.commandId.startsWith('flood-')).length;
    assert.ok(executed >= 3 && executed <= 4, `burst of 3 (+ refill) executed, got ${executed}`);
  });

  it('still executes an allowed, well-formed command, and nothing refused was executed', async () => {
    await send(JSON.stringify({ id: 'ok-1', text: 'turn on the hall light', source: 'alice' }));
    const result = await probe.result(agent.topics.commandResult, 'ok-1');
    assert.equal(result.status, 'ok');
    for (const id of ['bad-1', 'bad-2', 'bad-3', 'big-1', 'who-1']) {
      assert.equal(pipeline.executor.countFor(id), 0, `${id} must not run`);
    }
    assert.ok(agent.counters.refused >= 8);
  });
});

describe('stale retained commands', () => {
  it('refuses a retained command delivered at subscription instead of running it again', async () => {
    const broker = await startMosquitto();
    const pipeline = testPipeline();
    const config = testConfig({ mqtt: { url: broker.url } });
    const probe = await Probe.connect(broker.url);
    const commandTopic = `sling/${config.device.id}/command`;
    await probe.subscribe(`sling/${config.device.id}/#`);
    await probe.client.publishAsync(
      commandTopic,
      JSON.stringify({ id: 'ret-1', text: 'turn on the hall light' }),
      {
        qos: 1,
        retain: true,
      },
    );
    const agent = await startAgent(config, pipeline);
    try {
      const result = await probe.result(agent.topics.commandResult, 'ret-1');
      assert.equal(result.status, 'rejected');
      assert.match(result.error ?? '', /retained commands are refused/);
      assert.equal(pipeline.executor.countFor('ret-1'), 0);
    } finally {
      await probe.client.publishAsync(commandTopic, '', { qos: 1, retain: true });
      await probe.close();
      await agent.stop();
      await broker.stop();
    }
  });
});

describe('topic allow-list', () => {
  it('refuses Hermes textCaptured when only the command topic may command', async () => {
    const broker = await startMosquitto();
    const pipeline = testPipeline();
    const agent = await startAgent(
      testConfig({ mqtt: { url: broker.url }, agent: { allow: { topics: ['sling/+/command'] } } }),
      pipeline,
    );
    const probe = await Probe.connect(broker.url);
    try {
      await probe.subscribe(agent.topics.events);
      await probe.client.publishAsync(
        'hermes/asr/textCaptured',
        JSON.stringify({ text: 'turn on the hall light' }),
        { qos: 1 },
      );
      const event = await probe.waitFor((m) => JSON.parse(m.payload).type === 'refused', 'refused event');
      assert.match(
        JSON.parse(event.payload).reason,
        /topic hermes\/asr\/textCaptured is not allowed to command/,
      );
      assert.equal(pipeline.executor.executions.length, 0);
    } finally {
      await probe.close();
      await agent.stop();
      await broker.stop();
    }
  });
});
