import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../agent/config/errors.ts';
import { resolveConfig } from '../../agent/config/load.ts';
import { withWorldLimits } from '../../agent/safety/world-limits.ts';
import { createDrivers } from '../../drivers/registry.ts';

function issues(text: string) {
  try {
    resolveConfig({ name: 'site.yaml', text });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.issues;
  }
  assert.fail('expected the config to be rejected');
}

describe('drivers and safety config', () => {
  it('defaults to the virtual world with motion limits on the robot', () => {
    const config = resolveConfig({ name: 'x.yaml', text: '' });
    assert.deepEqual(Object.keys(config.drivers), ['world']);
    assert.equal(config.drivers.world!.kind, 'virtual');
    assert.equal(config.safety.devices.robot!.motion, true);
    assert.equal(config.safety.devices.robot!.limits.distance_m, undefined, 'ranges live in world.devices');
    const enforced = withWorldLimits(config.safety, config.world);
    assert.deepEqual(enforced.devices.robot!.limits.distance_m, { min: -5, max: 5, policy: 'clamp' });
    assert.equal(enforced.devices.robot!.motion, true);
    assert.deepEqual(enforced.devices.thermostat!.limits.target_c, { min: 10, max: 30, policy: 'refuse' });
    // A glob rule's own bounds (colour of any light) still apply to the world's lights.
    assert.deepEqual(enforced.devices['light.kitchen']!.limits['color.r'], { min: 0, max: 255 });
    assert.equal(config.safety.deadman.requireBroker, true);
  });

  it('names the file, line and key of a bad driver or safety setting', () => {
    const bad = issues(['drivers:', '  pins:', '    kind: teleporter'].join('\n'));
    assert.equal(bad[0]!.path, 'drivers.pins.kind');
    assert.equal(bad[0]!.line, 3);
    const typo = issues(['drivers:', '  pins:', '    kind: gpio', '    outputz: {}'].join('\n'));
    assert.deepEqual(
      [typo[0]!.path, typo[0]!.line, typo[0]!.message],
      ['drivers.pins.outputz', 4, 'unknown key'],
    );
    const lock = issues(
      [
        'safety:',
        '  interlocks:',
        '    - { device: robot, actions: [move], key: sensors.x, reason: r }',
      ].join('\n'),
    );
    assert.match(lock[0]!.message, /needs below or above/);
    const range = issues(
      ['safety:', '  devices:', '    fan: { limits: { speed_pct: { min: 100, max: 0 } } }'].join('\n'),
    );
    assert.match(range[0]!.message, /min must be <= max/);
  });

  it('refuses two drivers claiming the same device', async () => {
    const config = resolveConfig({
      name: 'x.yaml',
      text: ['drivers:', '  a: { kind: virtual }', '  b: { kind: virtual }'].join('\n'),
    });
    await assert.rejects(createDrivers(config.drivers), /device robot is provided by both drivers a and b/);
  });
});
