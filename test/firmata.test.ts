// StandardFirmata (the Uno build shipped in the avrgirl-arduino package) runs in simavr behind a real
// pty; the Firmata driver talks to it through serialport + firmata-io.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { StateStore } from '../agent/state/store.ts';
import { FirmataDriver } from '../drivers/firmata/driver.ts';
import { planPinAction, safeWrites } from '../drivers/firmata/plan.ts';
import { type AvrSim, standardFirmataHex, startAvrSim } from './helpers/avr-sim.ts';

const never = new AbortController().signal;

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('firmata pin planning', () => {
  it('maps actions to pin writes and refuses what a device cannot do', () => {
    assert.deepEqual(planPinAction({ type: 'switch', pin: 13, activeLow: true }, 'on', {}), {
      ok: true,
      writes: [{ op: 'digital', pin: 13, value: 0 }],
      state: { on: true },
    });
    const dim = planPinAction({ type: 'pwm', pin: 3 }, 'set', { brightness_pct: 30 });
    assert.ok(dim.ok && dim.writes[0]?.op === 'pwm' && dim.writes[0].value === 77);
    assert.equal(planPinAction({ type: 'pwm', pin: 3 }, 'set', { brightness_pct: 130 }).ok, false);
    assert.equal(planPinAction({ type: 'pwm', pin: 3 }, 'set', { brightness_pct: Number.NaN }).ok, false);
    const servo = {
      type: 'servo',
      pin: 9,
      minPulseUs: 544,
      maxPulseUs: 2400,
      openDeg: 90,
      closedDeg: 10,
    } as const;
    assert.equal(planPinAction(servo, 'set', { angle_deg: 181 }).ok, false);
    assert.equal(planPinAction(servo, 'fly', {}).ok, false);
    assert.deepEqual(safeWrites({ fan: { type: 'pwm', pin: 5 }, gripper: servo }), [
      { op: 'pwm', pin: 5, value: 0 },
    ]);
  });
});

describe('firmata driver against StandardFirmata in simavr', { timeout: 120_000 }, () => {
  let sim: AvrSim;
  let driver: FirmataDriver;
  const state = new StateStore();
  const events: Record<string, unknown>[] = [];

  before(async () => {
    sim = await startAvrSim({ firmware: standardFirmataHex(), pins: 'B5,B1', pullups: 'D2' });
    driver = new FirmataDriver({
      kind: 'firmata',
      path: sim.path,
      // StandardFirmata blinks its version on pin 13 (~2.5 s) before it answers; a loaded machine slows
      // the simulation further, so wait generously (the defaults suit real boards).
      readyTimeoutMs: 30_000,
      openTimeoutMs: 30_000,
      devices: {
        'light.desk': { type: 'switch', pin: 13 },
        'light.kitchen': { type: 'pwm', pin: 5 },
        gripper: { type: 'servo', pin: 9 },
        'button.estop': { type: 'input', pin: 2, estop: true },
        'sensors.light': { type: 'analog', channel: 0, key: 'sensors.light.desk', scale: 100 / 1023 },
      },
    });
    driver.on('event', (event) => events.push(event));
    await driver.open(state);
    assert.equal(driver.health().ok, true, driver.health().detail);
    assert.match(driver.health().detail ?? '', /StandardFirmata/);
  });

  after(async () => {
    await driver?.close();
    await sim?.stop();
  });

  it('switches a digital output', async () => {
    const started = performance.now();
    assert.equal(
      (await driver.execute({ device: 'light.desk', action: 'on', params: {} }, never)).status,
      'ok',
    );
    await sim.waitFor((e) => e.name === 'B5' && e.value === 1 && e.at > started, 5000, 'pin 13 high');
    assert.equal(state.get('light.desk.on')?.value, true);
    assert.equal(
      (await driver.execute({ device: 'light.desk', action: 'off', params: {} }, never)).status,
      'ok',
    );
    await sim.waitFor((e) => e.name === 'B5' && e.value === 0 && e.at > started, 5000, 'pin 13 low');
  });

  it('sets a PWM duty cycle', async () => {
    const outcome = await driver.execute(
      { device: 'light.kitchen', action: 'set', params: { brightness_pct: 30 } },
      never,
    );
    assert.equal(outcome.status, 'ok', outcome.error);
    // pin 5 is OC0B (Timer0, fast PWM); simavr 1.6 reports no compare value for the phase-correct timers
    await sim.waitFor((e) => e.name === '0B' && e.value === 77, 5000, 'OCR0B = 77');
  });

  it('drives a servo with the pulse width for the angle', async () => {
    const started = performance.now();
    assert.equal(
      (await driver.execute({ device: 'gripper', action: 'set', params: { angle_deg: 90 } }, never)).status,
      'ok',
    );
    // The Servo library starts at its 1500 us default when attached, so judge the pulses that follow:
    // 544 + 90/180 × (2400 − 544) = 1472 us.
    const first = await sim.waitFor((e) => e.name === 'B1' && e.at > started, 5000, 'servo pulses');
    await sim.waitFor(
      (e) => e.name === 'B1' && e.simUs > first.simUs + 200_000,
      5000,
      '200 ms of servo pulses',
    );
    const edges = sim.events.filter((e) => e.name === 'B1' && e.simUs > first.simUs);
    const widths: number[] = [];
    for (let i = 1; i < edges.length; i++)
      if (edges[i - 1]!.value === 1 && edges[i]!.value === 0)
        widths.push(edges[i]!.simUs - edges[i - 1]!.simUs);
    assert.ok(widths.length >= 5, `pulses: ${widths.join(', ')}`);
    const last = widths.at(-1)!;
    assert.ok(Math.abs(last - 1472) <= 10, `pulse ${last} us for 90 degrees (all: ${widths.join(', ')})`);
  });

  it('reads analog inputs and reports a hardware e-stop input', async () => {
    sim.command('adc 0 2500');
    await until(
      () => Math.abs(Number(state.get('sensors.light.desk')?.value) - 50) < 1,
      5000,
      'analog value',
    );
    await until(
      () => state.get('button.estop.active')?.value === false,
      5000,
      `button reported released: ${JSON.stringify(events)} ${JSON.stringify(state.get('button.estop.active'))}`,
    );
    assert.ok(!events.some((e) => e.type === 'estop'), 'no e-stop before the button is pressed');
    sim.command('in D2 0'); // pull-up input pulled low = pressed
    await until(
      () => events.some((e) => e.type === 'estop' && e.device === 'button.estop'),
      5000,
      'e-stop event',
    );
    assert.equal(state.get('button.estop.active')?.value, true);
  });

  it('refuses commands it cannot carry out', async () => {
    const outcome = await driver.execute({ device: 'button.estop', action: 'on', params: {} }, never);
    assert.equal(outcome.status, 'rejected');
    assert.equal(
      (await driver.execute({ device: 'nope', action: 'on', params: {} }, never)).status,
      'rejected',
    );
  });

  it('notices the board vanishing and reconnects when it is back', async () => {
    await sim.kill();
    await until(() => events.some((e) => e.type === 'disconnected'), 5000, 'disconnected event');
    const down = await driver.execute({ device: 'light.desk', action: 'on', params: {} }, never);
    assert.equal(down.status, 'error');
    const replugged = performance.now();
    await sim.restart();
    assert.equal(await driver.waitConnected(30_000), true, driver.health().detail);
    const outcome = await driver.execute({ device: 'light.desk', action: 'on', params: {} }, never);
    assert.equal(outcome.status, 'ok', outcome.error);
    await sim.waitFor((e) => e.name === 'B5' && e.value === 1 && e.at > replugged, 5000, 'pin 13 high again');
  });
});
