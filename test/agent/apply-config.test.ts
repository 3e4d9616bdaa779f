import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Agent } from '../../agent/agent.ts';
import type { SlingConfig } from '../../agent/config/schema.ts';
import { type Probe, type Rig, startRig } from '../helpers/agent.ts';
import { testPipeline } from '../helpers/pipeline.ts';

describe('Agent.applyConfig on a running agent', () => {
  let rig: Rig;
  let agent: Agent;
  let probe: Probe;
  const builds: SlingConfig[] = [];

  before(async () => {
    rig = await startRig(
      { sensors: { subscriptions: [{ topic: 'old/+n', key: 'sensors.old.{n}' }] } },
      async (config) => {
        builds.push(config);
        return testPipeline();
      },
    );
    ({ agent, probe } = rig);
  });

  after(() => rig?.close());

  const until = async (check: () => boolean, what: string) => {
    for (let i = 0; !check(); i++) {
      if (i > 500) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('applies agent limits and sensor subscriptions live, without rebuilding the pipeline', async () => {
    const current = agent.currentConfig;
    const next: SlingConfig = {
      ...current,
      agent: { ...current.agent, maxPayloadBytes: 100 },
      sensors: { ...current.sensors, subscriptions: [{ topic: 'new/+n', key: 'sensors.new.{n}' }] },
    };
    const result = await agent.applyConfig(next);
    assert.deepEqual(result, { applied: ['agent', 'sensors'], restartRequired: [] });
    assert.equal(builds.length, 1, 'no rebuild for agent settings');
    await probe.client.publishAsync('new/a', '1', { qos: 1 });
    await probe.client.publishAsync('old/a', '2', { qos: 1 });
    await until(() => agent.state.has('sensors.new.a'), 'new subscription');
    assert.equal(agent.state.has('sensors.old.a'), false, 'the old subscription is gone');
    await probe.client.publishAsync(
      agent.topics.command,
      JSON.stringify({ id: 'big', text: 'x'.repeat(200) }),
      { qos: 1 },
    );
    // Too large to be read at all: refused under a generated id, with the reason.
    const refused = await probe.waitFor(
      (m) => m.topic === agent.topics.commandResult && /exceeds the 100-byte limit/.test(m.payload),
      'size refusal',
    );
    assert.equal(JSON.parse(refused.payload).status, 'rejected');
  });

  it('rebuilds the pipeline for other sections, and reports what needs a restart', async () => {
    const current = agent.currentConfig;
    const result = await agent.applyConfig({
      ...current,
      device: { ...current.device, id: 'renamed' },
      nlu: { ...current.nlu, threads: 2 },
    });
    assert.deepEqual(result, { applied: ['nlu'], restartRequired: ['device'] });
    assert.equal(builds.length, 2);
    assert.equal(builds[1]?.nlu.threads, 2);
    assert.notEqual(agent.topics.base.endsWith('/renamed'), true, 'topics keep the running id until restart');
    await probe.client.publishAsync(
      agent.topics.command,
      JSON.stringify({ id: 'after', text: 'turn on the attic light' }),
      { qos: 1 },
    );
    assert.equal(
      (await probe.result(agent.topics.commandResult, 'after')).status,
      'ok',
      'the new pipeline serves',
    );
  });
});
