import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyLimits, checkInterlocks, deviceRule, globMatches } from '../../agent/safety/rules.ts';
import { safetySchema } from '../../agent/safety/schema.ts';
import { StateStore } from '../../agent/state/store.ts';

const config = safetySchema.parse({
  devices: {
    robot: {
      policy: 'clamp',
      limits: { distance_m: { min: -5, max: 5 }, speed_mps: { min: 0.05, max: 0.5 } },
    },
    arm: { policy: 'refuse', limits: { angle_deg: { min: -90, max: 90 } } },
    'light.*': { limits: { brightness_pct: { min: 0, max: 100 }, 'color.r': { min: 0, max: 255 } } },
    'light.garage': { policy: 'refuse', limits: { brightness_pct: { min: 0, max: 50 } } },
  },
});

describe('safety rules: limits', () => {
  it('clamps out-of-range values under the clamp policy and says so', () => {
    const v = applyLimits({ device: 'robot', action: 'move', params: { distance_m: 12 } }, config);
    assert.ok(v.ok);
    assert.equal(v.action.params.distance_m, 5);
    assert.deepEqual(v.adjustments, ['distance_m 12 limited to 5']);
    const back = applyLimits({ device: 'robot', action: 'move', params: { distance_m: -7 } }, config);
    assert.ok(back.ok && back.action.params.distance_m === -5);
  });

  it('refuses out-of-range values under the refuse policy with the range', () => {
    const v = applyLimits({ device: 'arm', action: 'turn', params: { angle_deg: 120 } }, config);
    assert.equal(v.ok, false);
    assert.match((v as { reason: string }).reason, /angle_deg = 120 is out of range \[-90, 90\]/);
  });

  it('always refuses non-finite and absurd values, even when clamping', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const v = applyLimits({ device: 'robot', action: 'move', params: { distance_m: bad } }, config);
      assert.equal(v.ok, false, String(bad));
      assert.match((v as { reason: string }).reason, /not a finite number/);
    }
    const absurd = applyLimits({ device: 'robot', action: 'move', params: { distance_m: 5000 } }, config);
    assert.equal(absurd.ok, false);
    assert.match((absurd as { reason: string }).reason, /absurd/);
    // Nested and unlimited params are checked for finiteness too.
    const nested = applyLimits(
      { device: 'light.kitchen', action: 'set', params: { color: { r: 1, g: Number.NaN, b: 0 } } },
      config,
    );
    assert.equal(nested.ok, false);
    assert.match((nested as { reason: string }).reason, /color\.g is not a finite number/);
    const wrongType = applyLimits({ device: 'robot', action: 'move', params: { distance_m: '2' } }, config);
    assert.equal(wrongType.ok, false);
  });

  it('picks the most specific device rule (exact beats glob)', () => {
    assert.equal(deviceRule(config, 'light.garage')?.policy, 'refuse');
    assert.equal(deviceRule(config, 'light.kitchen')?.policy, 'clamp');
    assert.equal(deviceRule(config, 'fan'), undefined);
    assert.ok(globMatches('light.*', 'light.kitchen') && !globMatches('light.*', 'lightx'));
    const nestedClamp = applyLimits(
      { device: 'light.kitchen', action: 'set', params: { color: { r: 300, g: 0, b: 0 } } },
      config,
    );
    assert.ok(nestedClamp.ok && (nestedClamp.action.params.color as { r: number }).r === 255);
  });

  it('does not modify the original action', () => {
    const action = { device: 'robot', action: 'move', params: { distance_m: 9 } };
    applyLimits(action, config);
    assert.equal(action.params.distance_m, 9);
  });
});

describe('safety rules: interlocks', () => {
  const interlocks = safetySchema.parse({}).interlocks;
  it('refuses forward motion under the front-distance threshold with a reason, allows backward', () => {
    const state = new StateStore();
    state.set('sensors.front_distance_cm', 22);
    state.set('robot.battery_pct', 80);
    const forward = checkInterlocks(
      { device: 'robot', action: 'move', params: { distance_m: 1 } },
      interlocks,
      state,
    );
    assert.equal(forward, 'obstacle ahead: front distance 22 cm is under 30 cm');
    assert.equal(
      checkInterlocks({ device: 'robot', action: 'move', params: { distance_m: -1 } }, interlocks, state),
      undefined,
    );
    assert.equal(
      checkInterlocks({ device: 'robot', action: 'turn', params: { angle_deg: 90 } }, interlocks, state),
      undefined,
    );
    state.set('sensors.front_distance_cm', 120);
    assert.equal(
      checkInterlocks({ device: 'robot', action: 'move', params: { distance_m: 1 } }, interlocks, state),
      undefined,
    );
  });

  it('fails safe when the sensor has no reading or is stale', () => {
    let now = 0;
    const state = new StateStore({ sensors: 1000 }, () => now);
    state.set('robot.battery_pct', 80);
    const move = { device: 'robot', action: 'move', params: { distance_m: 1 } };
    assert.match(checkInterlocks(move, interlocks, state) ?? '', /has no reading/);
    state.set('sensors.front_distance_cm', 200);
    assert.equal(checkInterlocks(move, interlocks, state), undefined);
    now = 5000;
    assert.match(checkInterlocks(move, interlocks, state) ?? '', /is stale/);
  });
});
