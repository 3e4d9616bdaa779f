import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configSchema } from '../../agent/config/schema.ts';
import { buildPipeline, UnavailableParser } from '../../agent/default-pipeline.ts';
import { startTestActuation } from '../helpers/actuation.ts';
import { startRig } from '../helpers/agent.ts';

const pins = (line: number) => ({
  kind: 'gpio' as const,
  backend: 'sim' as const,
  outputs: { 'relay.pump': { line } },
});

describe('reconfiguring drivers in place', () => {
  it('reopens only the changed instance, adds and removes instances, and keeps the rest running', async () => {
    const act = await startTestActuation({ drivers: { world: { kind: 'virtual' }, pins: pins(17) } });
    try {
      const previous = configSchema.parse({
        drivers: { world: { kind: 'virtual' }, pins: pins(17) },
      }).drivers;
      const world = act.drivers.get('world');
      const oldPins = act.drivers.get('pins');
      const next = configSchema.parse({ drivers: { world: { kind: 'virtual' }, pins: pins(18) } }).drivers;
      assert.deepEqual(await act.reconfigureDrivers(next, previous), ['pins']);
      assert.equal(act.drivers.get('world'), world, 'the unchanged driver kept running');
      assert.notEqual(act.drivers.get('pins'), oldPins, 'the changed driver was rebuilt');
      assert.equal(act.drivers.driverFor('relay.pump'), act.drivers.get('pins'));
      const results = await act.executor.execute(
        { actions: [{ device: 'relay.pump', action: 'on', params: {} }], reply: '' },
        {},
      );
      assert.equal(results[0]?.status, 'ok', results[0]?.error);

      const without = configSchema.parse({ drivers: { world: { kind: 'virtual' } } }).drivers;
      assert.deepEqual(await act.reconfigureDrivers(without, next), ['pins']);
      assert.equal(act.drivers.get('pins'), undefined);
      assert.equal(act.drivers.driverFor('relay.pump'), undefined);
      assert.equal(act.drivers.get('world'), world);
    } finally {
      await act.close();
    }
  });

  it('restores the previous driver when the new config fails to open', async () => {
    const act = await startTestActuation({ drivers: { world: { kind: 'virtual' }, pins: pins(17) } });
    try {
      const previous = configSchema.parse({
        drivers: { world: { kind: 'virtual' }, pins: pins(17) },
      }).drivers;
      const broken = configSchema.parse({ drivers: { world: { kind: 'virtual' }, pins: pins(99) } }).drivers;
      await assert.rejects(act.reconfigureDrivers(broken, previous), /pins/);
      assert.ok(act.drivers.get('pins'), 'the previous pins driver is back');
      assert.equal(act.drivers.driverFor('relay.pump'), act.drivers.get('pins'));
    } finally {
      await act.close();
    }
  });

  it('the agent applies a drivers-only change without rebuilding its pipeline', async () => {
    const parser = new UnavailableParser('drivers-only test: no parsing needed');
    let builds = 0;
    const rig = await startRig(
      { drivers: { world: { kind: 'virtual' }, pins: pins(17) } },
      (config, deps) => {
        builds++;
        return buildPipeline(config, deps, parser);
      },
    );
    try {
      const current = rig.agent.currentConfig;
      const next = configSchema.parse({
        ...current,
        drivers: { world: { kind: 'virtual' }, pins: pins(18) },
      });
      const result = await rig.agent.applyConfig(next);
      assert.deepEqual(result.applied, ['drivers']);
      assert.equal(builds, 1, 'no pipeline rebuild for a drivers-only change');
    } finally {
      await rig.close();
    }
  });
});
