import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Agent } from '../../agent/agent.ts';
import { type Probe, type Rig, startRig } from '../helpers/agent.ts';
import { testPipeline } from '../helpers/pipeline.ts';

describe('Hermes (Rhasspy / Snips) compatibility', () => {
  let agent: Agent;
  let probe: Probe;
  const pipeline = testPipeline();

  let rig: Rig;

  before(async () => {
    rig = await startRig({ agent: { hermes: { siteId: 'kitchen' } } }, pipeline, (a) => [
      'hermes/intent/#',
      'hermes/nlu/intentNotRecognized',
      a.topics.commandResult,
    ]);
    ({ agent, probe } = rig);
  });

  after(() => rig?.close());

  it('answers hermes/nlu/query with hermes/intent/<name> in the Rhasspy payload shape, without acting', async () => {
    await probe.client.publishAsync(
      'hermes/nlu/query',
      JSON.stringify({ input: 'drive forward 5 meters', id: 'q-1', siteId: 'garage', sessionId: 's-1' }),
      { qos: 1 },
    );
    const message = await probe.waitFor((m) => m.topic === 'hermes/intent/robot.move', 'intent');
    const intent = JSON.parse(message.payload);
    assert.equal(intent.input, 'drive forward 5 meters');
    assert.deepEqual(intent.intent, { intentName: 'robot.move', confidenceScore: 0.97 });
    assert.equal(intent.id, 'q-1');
    assert.equal(intent.siteId, 'garage');
    assert.equal(intent.sessionId, 's-1');
    assert.equal(intent.slots.length, 1);
    const [slot] = intent.slots;
    assert.equal(slot.slotName, 'distance');
    assert.equal(slot.entity, 'distance');
    assert.equal(slot.rawValue, '5');
    assert.equal(slot.value.value, 5);
    assert.deepEqual(slot.range, { start: 14, end: 15 });
    assert.equal(pipeline.executor.executions.length, 0, 'an NLU query does not act');
  });

  it('answers a query it does not understand with hermes/nlu/intentNotRecognized', async () => {
    await probe.client.publishAsync(
      'hermes/nlu/query',
      JSON.stringify({ input: 'what is love', sessionId: 's-2' }),
      { qos: 1 },
    );
    const message = await probe.waitFor(
      (m) => m.topic === 'hermes/nlu/intentNotRecognized',
      'not recognized',
    );
    const payload = JSON.parse(message.payload);
    assert.equal(payload.input, 'what is love');
    assert.equal(payload.siteId, 'kitchen', 'configured siteId when the query has none');
    assert.equal(payload.sessionId, 's-2');
  });

  it('takes hermes/asr/textCaptured as a command and acts on it', async () => {
    await probe.client.publishAsync(
      'hermes/asr/textCaptured',
      JSON.stringify({ text: 'turn on the garden light', likelihood: 0.9, seconds: 1.2 }),
      { qos: 1 },
    );
    const message = await probe.waitFor(
      (m) => m.topic === agent.topics.commandResult && JSON.parse(m.payload).intent === 'light.on',
      'command result',
    );
    assert.equal(JSON.parse(message.payload).status, 'ok');
    assert.equal(pipeline.executor.executions.at(-1)?.device, 'light.garden');
  });

  it('refuses a malformed Hermes query with a reason on events', async () => {
    await probe.subscribe(agent.topics.events);
    await probe.client.publishAsync('hermes/nlu/query', JSON.stringify({ text: 'no input field' }), {
      qos: 1,
    });
    const event = await probe.waitFor(
      (m) => m.topic === agent.topics.events && JSON.parse(m.payload).type === 'refused',
      'refused event',
    );
    assert.match(JSON.parse(event.payload).reason, /invalid Hermes query: input/);
  });
});
