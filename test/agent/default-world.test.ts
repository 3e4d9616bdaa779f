import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Agent } from '../../agent/agent.ts';
import { buildPipeline } from '../../agent/default-pipeline.ts';
import { type Probe, type Rig, startRig } from '../helpers/agent.ts';
import { type TableParse, TableParser } from '../helpers/table-parser.ts';

// The product pipeline — skills, the default world, safety and the virtual drivers — behind the agent,
// with a parser that gives what the model gives for these sentences (the model has its own tests).

const parses: Record<string, TableParse> = {
  'turn on the kitchen light': {
    intent: 'light.on',
    confidence: 0.98,
    slots: [{ name: 'room', text: 'kitchen', start: 12, end: 19, value: 'kitchen', type: 'room' }],
  },
  'tell me a joke': { intent: 'out_of_scope', confidence: 0.97, slots: [] },
  'drive forward 4 meters': {
    intent: 'robot.move',
    confidence: 0.97,
    slots: [
      { name: 'direction', text: 'forward', start: 6, end: 13, value: 'forward', type: 'direction' },
      { name: 'distance', text: '4 meters', start: 14, end: 22, value: 4, type: 'builtin.distance' },
    ],
  },
};

describe('the agent with the default world (skills, safety, virtual drivers)', () => {
  let agent: Agent;
  let probe: Probe;

  let rig: Rig;

  before(async () => {
    rig = await startRig({}, (config, deps) => buildPipeline(config, deps, new TableParser(parses)));
    ({ agent, probe } = rig);
  });

  after(() => rig?.close());

  it('reports the out-of-scope intent as not understood, with no intent and no action', async () => {
    await probe.client.publishAsync(
      agent.topics.command,
      JSON.stringify({ id: 'w-oos', text: 'tell me a joke' }),
      { qos: 1 },
    );
    const result = await probe.result(agent.topics.commandResult, 'w-oos');
    assert.equal(result.status, 'not_understood');
    assert.equal(result.intent, null);
    assert.deepEqual(result.actions, []);
  });

  it('turns a light on through the virtual driver and republishes the state', async () => {
    await probe.client.publishAsync(
      agent.topics.command,
      JSON.stringify({ id: 'w-1', text: 'turn on the kitchen light' }),
      { qos: 1 },
    );
    const result = await probe.result(agent.topics.commandResult, 'w-1');
    assert.equal(result.status, 'ok', result.reply);
    assert.equal(result.actions[0]?.device, 'light.kitchen');
    assert.equal(result.actions[0]?.status, 'ok');
    const state = await probe.waitFor(
      (m) =>
        m.topic === agent.topics.state &&
        Object.keys(JSON.parse(m.payload)).some((k) => k.startsWith('light.kitchen')),
      'light state',
    );
    assert.ok(state.packet.retain);
  });

  it('stops motion in progress when the agent shuts down, within its time bound', async () => {
    await probe.client.publishAsync(
      agent.topics.command,
      JSON.stringify({ id: 'w-2', text: 'drive forward 4 meters' }),
      { qos: 1 },
    );
    await probe.waitFor(
      (m) =>
        m.topic === agent.topics.events &&
        JSON.parse(m.payload).type === 'intent' &&
        JSON.parse(m.payload).id === 'w-2',
      'intent event',
    );
    await new Promise((r) => setTimeout(r, 300)); // moving now
    const started = Date.now();
    await agent.stop('test shutdown');
    assert.ok(Date.now() - started < agent.currentConfig.agent.shutdownTimeoutMs + 500);
    const result = await probe.result(agent.topics.commandResult, 'w-2');
    assert.notEqual(result.status, 'ok', 'a 4 m move cannot have finished');
    assert.match(result.actions.find((a) => a.action === 'move')?.status ?? '', /cancelled|error/);
    const offline = await probe.waitFor(
      (m) => m.topic === agent.topics.status && JSON.parse(m.payload).state === 'offline',
      'offline status',
    );
    assert.equal(JSON.parse(offline.payload).reason, 'test shutdown');
  });
});
