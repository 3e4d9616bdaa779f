import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Action } from '../../agent/decide/types.ts';
import { StateStore } from '../../agent/state/store.ts';
import { VirtualWorld } from '../../drivers/virtual/driver.ts';
import { advance, bearingTo, normalizeDeg, rayDistance } from '../../drivers/virtual/geometry.ts';
import { virtualDriverSchema } from '../../drivers/virtual/schema.ts';

async function world(input: Record<string, unknown> = {}) {
  const driver = new VirtualWorld(
    virtualDriverSchema.parse({ kind: 'virtual', timeScale: 10, deadmanMs: 2000, ...input }),
  );
  const state = new StateStore();
  await driver.open(state);
  const run = (
    device: string,
    action: string,
    params: Record<string, unknown> = {},
    signal = new AbortController().signal,
  ) => driver.execute({ device, action, params } satisfies Action, signal);
  return { driver, state, run, [Symbol.asyncDispose]: () => driver.close() };
}

const near = (a: number, b: number, eps = 1e-6) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

describe('virtual world geometry (REP 103)', () => {
  it('turns CCW-positive, advances along the heading, ray-casts walls and obstacles', () => {
    near(normalizeDeg(270), -90);
    near(normalizeDeg(-180), 180);
    const p = advance({ x: 0, y: 0, heading_deg: 90 }, 2);
    near(p.x, 0);
    near(p.y, 2);
    const bounds = { minX: -5, maxX: 5, minY: -4, maxY: 4 };
    near(rayDistance(0, 0, 0, bounds, []), 5);
    near(rayDistance(0, 0, 90, bounds, []), 4);
    near(rayDistance(0, 0, 0, bounds, [{ x: 2, y: 0, radiusM: 0.5 }]), 1.5);
    near(rayDistance(0, 0, 180, bounds, [{ x: 2, y: 0, radiusM: 0.5 }]), 5);
    const b = bearingTo({ x: 0, y: 0, heading_deg: 0 }, 0, 3);
    near(b.turnDeg, 90);
    near(b.distance, 3);
  });
});

describe('virtual world driver', () => {
  it('moves, turns and reverses with the right signs and takes time to do it', async () => {
    await using w = await world();
    const t0 = performance.now();
    assert.equal((await w.run('robot', 'move', { distance_m: 0.5 })).status, 'ok');
    // 0.5 m at 0.25 m/s is 2 s simulated = 200 ms at timeScale 10.
    assert.ok(performance.now() - t0 >= 150, 'motion takes real time');
    assert.equal((await w.run('robot', 'turn', { angle_deg: 90 })).status, 'ok');
    const out = await w.run('robot', 'move', { distance_m: -0.25 });
    const pose = out.result!.pose as { x: number; y: number; heading_deg: number };
    near(pose.x, 0.5, 1e-6);
    near(pose.y, -0.25, 1e-6);
    near(pose.heading_deg, 90);
    assert.deepEqual(w.state.get('robot.pose')?.value, { x: 0.5, y: -0.25, heading_deg: 90 });
    assert.ok((w.state.get('robot.battery_pct')?.value as number) < 100, 'driving drains the battery');
  });

  it('goes to a named place and takes its heading', async () => {
    await using w = await world({ places: { shelf: { x: 0, y: 1, heading_deg: 180 } } });
    const out = await w.run('robot', 'goto', { place: 'shelf' });
    assert.equal(out.status, 'ok');
    const pose = w.driver.robotPose;
    near(pose.x, 0, 1e-6);
    near(pose.y, 1, 1e-6);
    near(normalizeDeg(pose.heading_deg - 180), 0);
    const unknown = await w.run('robot', 'goto', { place: 'moon' });
    assert.equal(unknown.status, 'rejected');
    assert.match(unknown.error!, /unknown place "moon" \(known: shelf\)/);
  });

  it('uses the world places when the driver config has none', async () => {
    const driver = new VirtualWorld(virtualDriverSchema.parse({ kind: 'virtual', timeScale: 20 }), {
      porch: { x: 0, y: -1 },
    });
    await driver.open(new StateStore());
    const out = await driver.execute(
      { device: 'robot', action: 'goto', params: { place: 'porch' } },
      new AbortController().signal,
    );
    await driver.close();
    assert.equal(out.status, 'ok');
    near(driver.robotPose.y, -1, 1e-6);
    near(driver.robotPose.heading_deg, -90, 1e-6);
  });

  it('stops at an obstacle (bump) instead of driving through it', async () => {
    await using w = await world({ obstacles: [{ x: 1, y: 0, radiusM: 0.2 }] });
    const events: string[] = [];
    w.driver.on('event', (e: { type: string }) => events.push(e.type));
    const out = await w.run('robot', 'move', { distance_m: 3 });
    assert.equal(out.status, 'error');
    assert.match(out.error!, /bumped into an obstacle ahead/);
    near(w.driver.robotPose.x, 0.6, 1e-6);
    assert.deepEqual(events, ['bump']);
    assert.equal(w.state.get('sensors.front_distance_cm')?.value, 0);
  });

  it('cancels motion on abort and keeps the pose where it stopped', async () => {
    await using w = await world({ timeScale: 1 });
    const controller = new AbortController();
    const pending = w.run('robot', 'move', { distance_m: 2 }, controller.signal);
    await new Promise((r) => setTimeout(r, 120));
    controller.abort('because');
    const out = await pending;
    assert.equal(out.status, 'cancelled');
    assert.equal(out.error, 'because');
    const x = w.driver.robotPose.x;
    assert.ok(x > 0 && x < 0.3, `x = ${x}`);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(w.driver.robotPose.x, x);
    assert.equal(w.driver.moving, false);
  });

  it('rejects bad params and unknown actions with a reason', async () => {
    await using w = await world();
    assert.match((await w.run('robot', 'move', { distance_m: 'far' })).error!, /finite distance_m/);
    assert.match((await w.run('robot', 'set_speed', { speed_mps: 2 })).error!, /above the robot's 0.5 m\/s/);
    assert.match((await w.run('robot', 'fly')).error!, /robot has no action fly/);
    assert.match((await w.run('light.kitchen', 'set', {})).error!, /brightness_pct or color/);
    assert.equal((await w.run('toaster', 'on')).status, 'rejected');
  });

  it('drives the home devices and publishes their state', async () => {
    await using w = await world();
    await w.run('light.kitchen', 'set', { brightness_pct: 30 });
    await w.run('light.kitchen', 'set', { color: { r: 255, g: 0, b: 10 } });
    assert.equal(w.state.get('light.kitchen.on')?.value, true);
    assert.equal(w.state.get('light.kitchen.brightness_pct')?.value, 30);
    assert.deepEqual(w.state.get('light.kitchen.color')?.value, { r: 255, g: 0, b: 10 });
    await w.run('light.kitchen', 'off');
    assert.equal(w.state.get('light.kitchen.on')?.value, false);
    await w.run('fan', 'set', { speed_pct: 40 });
    assert.deepEqual([w.state.get('fan.on')?.value, w.state.get('fan.speed_pct')?.value], [true, 40]);
    await w.run('thermostat', 'set', { target_c: 22 });
    await w.run('thermostat', 'adjust', { delta_c: -1.5 });
    assert.equal(w.state.get('thermostat.target_c')?.value, 20.5);
    assert.equal((await w.run('gripper', 'close')).status, 'ok');
    assert.equal(w.state.get('gripper.state')?.value, 'closed');
    for (const room of ['living_room', 'kitchen', 'bedroom']) {
      assert.equal(typeof w.state.get(`sensors.temperature.${room}`)?.value, 'number', room);
    }
  });

  it('lets room temperatures drift toward the thermostat target', async () => {
    await using w = await world({
      timeScale: 200,
      sensorPeriodMs: 20,
      thermostat: { startC: 15, targetC: 25, settlePerS: 0.05 },
    });
    const first = w.state.get('thermostat.current_c')?.value as number;
    assert.equal(first, 15);
    await new Promise<void>((resolve, reject) => {
      // Also keeps the event loop alive: the driver's sensor timer is unref'd.
      const timeout = setTimeout(() => reject(new Error('temperature did not move toward the target')), 5000);
      const check = (key: string, value: number) => {
        if (key === 'thermostat.current_c' && value > 20) {
          w.state.off('change', check);
          clearTimeout(timeout);
          resolve();
        }
      };
      w.state.on('change', check);
    });
    assert.ok((w.state.get('thermostat.current_c')?.value as number) <= 25);
  });
});
