import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { Plan } from '../../agent/decide/types.ts';
import { delay, poseOf, startTestActuation, waitForState } from '../helpers/actuation.ts';

type Stack = Awaited<ReturnType<typeof startTestActuation>>;
let stack: Stack | undefined;
async function start(input?: Parameters<typeof startTestActuation>[0]): Promise<Stack> {
  stack = await startTestActuation(input);
  return stack;
}
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const plan = (...actions: [string, string, Record<string, unknown>?][]): Plan => ({
  actions: actions.map(([device, action, params]) => ({ device, action, params: params ?? {} })),
  reply: '',
});
const moving = (s: Stack) => s.state.get('robot.moving')?.value === true;

describe('executor + safety: e-stop', () => {
  it('pre-empts a running move, cancels the rest, latches, and a reset restarts nothing', async () => {
    const s = await start();
    const events: string[] = [];
    s.executor.on('event', (e: { type: string }) => events.push(e.type));
    const running = s.executor.execute(
      plan(['robot', 'move', { distance_m: 2 }], ['robot', 'turn', { angle_deg: 90 }]),
    );
    const queued = s.executor.execute(plan(['robot', 'move', { distance_m: 1 }]));
    await waitForState(s.state, (st) => poseOf(st).x > 0.02, 5000, 'robot to start moving');
    s.executor.estop('test', 'operator pressed the button');
    const [move, turn] = await running;
    assert.equal(move!.status, 'cancelled');
    assert.match(move!.error!, /emergency stop \(test: operator pressed the button\)/);
    assert.equal(turn!.status, 'skipped');
    assert.equal((await queued)[0]!.status, 'cancelled');
    assert.equal(moving(s), false);
    assert.equal(s.state.get('robot.estopped')?.value, true);
    const stoppedAt = poseOf(s.state).x;
    assert.ok(stoppedAt < 1.5, `stopped at ${stoppedAt}`);

    const whileLatched = await s.executor.execute(
      plan(['robot', 'move', { distance_m: 0.5 }], ['light.kitchen', 'on']),
    );
    assert.equal(whileLatched[0]!.status, 'refused');
    assert.match(whileLatched[0]!.error!, /emergency stop is latched/);
    assert.equal(whileLatched[1]!.status, 'skipped');

    const reset = await s.executor.execute(plan(['robot', 'reset_estop']));
    assert.deepEqual(reset[0]!.result, { was_latched: true });
    await delay(300);
    assert.equal(moving(s), false, 'a reset must not restart motion');
    assert.equal(poseOf(s.state).x, stoppedAt);
    assert.equal(s.state.get('robot.estopped')?.value, false);
    const after = await s.executor.execute(plan(['robot', 'turn', { angle_deg: 10 }]));
    assert.equal(after[0]!.status, 'ok', 'commands work again after the reset');
    assert.deepEqual(events, ['estop', 'estop_reset']);
  });

  it('trips from a driver event (hardware input) like from a command', async () => {
    const s = await start();
    const world = s.drivers.get('world')!;
    const running = s.executor.execute(plan(['gripper', 'close']));
    world.emit('event', { type: 'estop', device: 'robot', source: 'bumper', reason: 'bump switch' });
    assert.equal((await running)[0]!.status, 'cancelled');
    assert.equal(s.safety.estopped?.source, 'bumper');
  });
});

describe('executor + safety: stop and queues', () => {
  it('"stop" pre-empts the running and queued motion of that device only, without latching', async () => {
    const s = await start();
    const first = s.executor.execute(plan(['robot', 'move', { distance_m: 2 }]));
    const second = s.executor.execute(plan(['robot', 'turn', { angle_deg: 180 }]));
    const gripper = s.executor.execute(plan(['gripper', 'close']));
    await waitForState(s.state, (st) => poseOf(st).x > 0.01, 5000, 'robot to start moving');
    assert.ok(s.executor.busy('robot'));
    assert.deepEqual(s.executor.queueDepths(), { robot: 2, gripper: 1 });
    const [stop] = await s.executor.execute(plan(['robot', 'stop']));
    assert.equal(stop!.status, 'ok');
    assert.equal(stop!.result?.cancelled, 2);
    assert.equal((await first)[0]!.status, 'cancelled');
    assert.equal((await second)[0]!.status, 'cancelled');
    assert.equal((await gripper)[0]!.status, 'ok', 'other devices are not affected');
    assert.equal(moving(s), false);
    assert.equal(s.safety.estopped, undefined);
    assert.equal(poseOf(s.state).heading_deg, 0, 'the queued turn never ran');
  });

  it('"cancel" drops the queued and running actions of that device', async () => {
    const s = await start();
    const first = s.executor.execute(plan(['gripper', 'close']));
    const second = s.executor.execute(plan(['gripper', 'open']));
    const [cancel] = await s.executor.execute(plan(['gripper', 'cancel']));
    assert.deepEqual(cancel!.result, { cancelled: 2 });
    assert.equal((await first)[0]!.status, 'cancelled');
    assert.equal((await second)[0]!.status, 'cancelled');
    assert.equal(s.state.get('gripper.state')?.value, 'open', 'the close never completed');
    assert.equal(s.executor.busy('gripper'), false);
  });

  it('runs an ordered multi-device plan step by step', async () => {
    const s = await start({ drivers: { world: { kind: 'virtual', timeScale: 5 } } });
    const results = await s.executor.execute(
      plan(
        ['robot', 'move', { distance_m: 0.2 }],
        ['robot', 'turn', { angle_deg: 90 }],
        ['light.kitchen', 'set', { brightness_pct: 30 }],
      ),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      ['ok', 'ok', 'ok'],
    );
    const pose = poseOf(s.state);
    assert.ok(Math.abs(pose.x - 0.2) < 1e-3 && Math.abs(pose.heading_deg - 90) < 1e-3, JSON.stringify(pose));
    assert.equal(s.state.get('light.kitchen.brightness_pct')?.value, 30);
  });
});

describe('executor + safety: limits', () => {
  it('clamps out-of-range values and reports it; a dry run drives nothing', async () => {
    const s = await start();
    const [dry] = await s.executor.execute(plan(['robot', 'move', { distance_m: 12 }]), { dryRun: true });
    assert.equal(dry!.status, 'dry_run');
    assert.equal(dry!.params.distance_m, 5);
    assert.deepEqual(dry!.adjustments, ['distance_m 12 limited to 5']);
    await delay(100);
    assert.equal(moving(s), false);
    assert.equal(poseOf(s.state).x, 0);
  });

  it('refuses out-of-range values under the refuse policy, and then nothing of the plan runs', async () => {
    const s = await start({
      safety: {
        devices: {
          robot: { motion: true, policy: 'refuse', limits: { angle_deg: { min: -180, max: 180 } } },
        },
      },
    });
    const results = await s.executor.execute(
      plan(['light.kitchen', 'on'], ['robot', 'turn', { angle_deg: 270 }]),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      ['skipped', 'refused'],
    );
    assert.match(results[1]!.error!, /angle_deg = 270 is out of range \[-180, 180\]/);
    assert.equal(s.state.get('light.kitchen.on')?.value, false);
  });

  it('refuses non-finite values whatever the policy', async () => {
    const s = await start();
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const [r] = await s.executor.execute(plan(['robot', 'move', { distance_m: bad }]));
      assert.equal(r!.status, 'refused');
      assert.match(r!.error!, /not a finite number/);
    }
    const [absurd] = await s.executor.execute(plan(['robot', 'move', { distance_m: 1e7 }]));
    assert.equal(absurd!.status, 'refused');
    assert.equal(moving(s), false);
  });

  it('refuses unknown devices', async () => {
    const s = await start();
    const [r] = await s.executor.execute(plan(['toaster', 'on']));
    assert.equal(r!.status, 'refused');
    assert.match(r!.error!, /unknown device toaster/);
  });

  it('bounds every action in time', async () => {
    const s = await start({
      safety: { devices: { robot: { motion: true, maxActionS: 0.3 } } },
    });
    const [r] = await s.executor.execute(plan(['robot', 'move', { distance_m: 3 }]));
    assert.equal(r!.status, 'error');
    assert.match(r!.error!, /time bound of 0.3 s exceeded/);
    assert.equal(moving(s), false);
  });
});

describe('executor + safety: interlocks', () => {
  it('refuses forward motion near an obstacle with the reason, allows reversing', async () => {
    const s = await start({
      drivers: { world: { kind: 'virtual', timeScale: 4, obstacles: [{ x: 0.4, y: 0, radiusM: 0.1 }] } },
    });
    assert.equal(s.state.get('sensors.front_distance_cm')?.value, 10);
    const [forward] = await s.executor.execute(plan(['robot', 'move', { distance_m: 1 }]));
    assert.equal(forward!.status, 'refused');
    assert.match(forward!.error!, /robot move refused: obstacle ahead: front distance 10 cm is under 30 cm/);
    assert.equal(poseOf(s.state).x, 0);
    const [back] = await s.executor.execute(plan(['robot', 'move', { distance_m: -0.1 }]));
    assert.equal(back!.status, 'ok');
  });

  it('stops a running move when an obstacle comes within the threshold', async () => {
    const s = await start({
      drivers: { world: { kind: 'virtual', timeScale: 2, obstacles: [{ x: 1.2, y: 0, radiusM: 0.1 }] } },
    });
    const [r] = await s.executor.execute(plan(['robot', 'move', { distance_m: 2 }]));
    assert.equal(r!.status, 'cancelled');
    assert.match(r!.error!, /obstacle ahead/);
    const x = poseOf(s.state).x;
    // Threshold reached at x = 1.1 - 0.2 - 0.3 = 0.6 m; one tick of travel may pass it, a bump may not.
    assert.ok(x >= 0.6 && x < 0.9, `stopped at ${x}`);
  });
});

describe('executor + safety: deadman', () => {
  it('stops motion when the broker is lost and refuses motion until it is back', async () => {
    const s = await start();
    const running = s.executor.execute(plan(['robot', 'move', { distance_m: 2 }]));
    await waitForState(s.state, (st) => poseOf(st).x > 0.01, 5000, 'robot to start moving');
    s.safety.onBrokerLost();
    const [r] = await running;
    assert.equal(r!.status, 'cancelled');
    assert.match(r!.error!, /broker lost/);
    const [refused] = await s.executor.execute(plan(['robot', 'turn', { angle_deg: 5 }]));
    assert.equal(refused!.status, 'refused');
    const [light] = await s.executor.execute(plan(['light.bedroom', 'on']));
    assert.equal(light!.status, 'ok', 'non-motion devices still work');
    s.safety.onBrokerRestored();
    assert.equal((await s.executor.execute(plan(['robot', 'turn', { angle_deg: 5 }])))[0]!.status, 'ok');
  });

  it('stops motion when the operator heartbeat stops', async () => {
    const s = await start({ safety: { deadman: { heartbeatMs: 400 } } });
    s.safety.heartbeat();
    const beat = setInterval(() => s.safety.heartbeat(), 40);
    const running = s.executor.execute(plan(['robot', 'move', { distance_m: 2 }]));
    await waitForState(s.state, (st) => poseOf(st).x > 0.02, 5000, 'robot to start moving');
    clearInterval(beat);
    const [r] = await running;
    assert.equal(r!.status, 'cancelled');
    assert.match(r!.error!, /heartbeat missing/);
    assert.equal(moving(s), false);
  });

  it('stops motion after the event loop stalls', async () => {
    const s = await start({
      drivers: { world: { kind: 'virtual', deadmanMs: 500 } },
      safety: { deadman: { stallMs: 100 } },
    });
    const running = s.executor.execute(plan(['robot', 'move', { distance_m: 2 }]));
    await waitForState(s.state, (st) => poseOf(st).x > 0.01, 5000, 'robot to start moving');
    const end = Date.now() + 700;
    while (Date.now() < end) {
      // Block the event loop, as a runaway computation would.
    }
    const [r] = await running;
    assert.notEqual(r!.status, 'ok');
    assert.match(r!.error!, /stalled/);
    assert.ok(s.safety.maxStallMs >= 500, `max stall ${s.safety.maxStallMs}`);
    // No motion was integrated over the stall: at 0.25 m/s, 0.7 s would be 0.175 m.
    assert.ok(poseOf(s.state).x < 0.15, `x = ${poseOf(s.state).x}`);
  });
});
