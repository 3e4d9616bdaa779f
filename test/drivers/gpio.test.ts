import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { Plan } from '../../agent/decide/types.ts';
import { parseGpiodetect, selectChip } from '../../drivers/gpio/chips.ts';
import type { GpioDriver } from '../../drivers/gpio/driver.ts';
import type { SimGpioBackend } from '../../drivers/gpio/sim.ts';
import { poseOf, startTestActuation, waitForState } from '../helpers/actuation.ts';

// Real `gpiodetect` output shapes: Raspberry Pi 5 on a 6.1 kernel (RP1 is gpiochip4), on 6.6.45+ (RP1 is
// gpiochip0), and a Pi 4.
const PI5_OLD = `gpiochip0 [gpio-brcmstb@107d508500] (32 lines)
gpiochip1 [gpio-brcmstb@107d508520] (4 lines)
gpiochip2 [gpio-brcmstb@107d517c00] (17 lines)
gpiochip3 [gpio-brcmstb@107d517c20] (6 lines)
gpiochip4 [pinctrl-rp1] (54 lines)
`;
const PI5_NEW = `gpiochip0 [pinctrl-rp1] (54 lines)
gpiochip10 [gpio-brcmstb@107d508500] (32 lines)
gpiochip11 [gpio-brcmstb@107d508520] (4 lines)
`;
const PI4 = `gpiochip0 [pinctrl-bcm2711] (58 lines)
gpiochip1 [raspberrypi-exp-gpio] (8 lines)
`;

describe('GPIO chip selection', () => {
  it('finds the header chip by label whatever its number (Pi 5 quirk)', () => {
    assert.equal(selectChip(parseGpiodetect(PI5_OLD), 'auto').name, 'gpiochip4');
    assert.equal(selectChip(parseGpiodetect(PI5_NEW), 'auto').name, 'gpiochip0');
    assert.equal(selectChip(parseGpiodetect(PI4), 'auto').label, 'pinctrl-bcm2711');
    assert.equal(selectChip(parseGpiodetect(PI5_OLD), 'pinctrl-rp1').lines, 54);
    assert.equal(selectChip(parseGpiodetect(PI4), 'gpiochip1').label, 'raspberrypi-exp-gpio');
  });

  it('explains what exists when the wanted chip does not', () => {
    assert.throws(
      () => selectChip(parseGpiodetect(PI4), 'pinctrl-rp1'),
      /pinctrl-rp1 not found \(chips: gpiochip0 \[pinctrl-bcm2711\], gpiochip1/,
    );
    assert.throws(
      () => selectChip(parseGpiodetect('gpiochip0 [a] (8 lines)\ngpiochip1 [b] (8 lines)'), 'auto'),
      /set gpio chip/,
    );
  });
});

const plan = (...actions: [string, string, Record<string, unknown>?][]): Plan => ({
  actions: actions.map(([device, action, params]) => ({ device, action, params: params ?? {} })),
  reply: '',
});

type Stack = Awaited<ReturnType<typeof startTestActuation>>;
let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function startWithPins(inputs: Record<string, unknown> = {}, debounceMs = 20) {
  stack = await startTestActuation({
    drivers: {
      world: { kind: 'virtual' },
      pins: {
        kind: 'gpio',
        backend: 'sim',
        sim: {
          chips: [
            { name: 'gpiochip0', label: 'gpio-brcmstb@107d508500', lines: 32 },
            { name: 'gpiochip4', label: 'pinctrl-rp1', lines: 54 },
          ],
        },
        outputs: {
          'relay.pump': { line: 17, activeLow: true },
          'led.status': { line: 22, initial: 'on', safe: 'keep' },
        },
        inputs: {
          estop_button: { line: 27, activeLow: true, bias: 'pull-up', role: 'estop' },
          bumper: { line: 5, activeLow: true, bias: 'pull-up', debounceMs },
          ...inputs,
        },
      },
    },
  });
  const driver = stack.drivers.get('pins') as GpioDriver;
  return { s: stack, driver, sim: driver.activeBackend as SimGpioBackend };
}

describe('GPIO driver on the simulated chip', () => {
  it('drives active-low outputs on the header chip chosen by label', async () => {
    const { s, sim } = await startWithPins();
    assert.equal(sim.level('gpiochip4', 17), 1, 'relay off = high on an active-low board');
    assert.equal(sim.level('gpiochip0', 17), undefined, 'nothing touched on the other chip');
    const [on] = await s.executor.execute(plan(['relay.pump', 'on']));
    assert.equal(on!.status, 'ok');
    assert.equal(sim.level('gpiochip4', 17), 0);
    assert.equal(s.state.get('relay.pump.on')?.value, true);
    const [bad] = await s.executor.execute(plan(['relay.pump', 'set', { value: 'maybe' }]));
    assert.equal(bad!.status, 'rejected');
    const levels: number[] = [];
    sim.on('output', (e: { offset: number; level: number }) => e.offset === 17 && levels.push(e.level));
    const [pulse] = await s.executor.execute(plan(['relay.pump', 'pulse', { ms: 30 }]));
    assert.equal(pulse!.status, 'ok');
    assert.deepEqual(levels, [1, 0], 'pulse: off for 30 ms, then back on');
  });

  it('an e-stop input edge pre-empts motion, latches, and makes outputs safe', async () => {
    const { s, sim } = await startWithPins();
    await s.executor.execute(plan(['relay.pump', 'on']));
    const running = s.executor.execute(plan(['robot', 'move', { distance_m: 2 }]));
    await waitForState(s.state, (st) => poseOf(st).x > 0.01, 5000, 'robot to start moving');
    sim.setLevel('gpiochip4', 27, 0); // button pressed: pulled-up line goes low
    const [move] = await running;
    assert.equal(move!.status, 'cancelled');
    assert.match(
      move!.error!,
      /emergency stop \(gpio:estop_button: e-stop input estop_button \(line 27\) active\)/,
    );
    assert.equal(s.safety.estopped?.source, 'gpio:estop_button');
    assert.equal(s.state.get('gpio.estop_button')?.value, true);
    await waitForState(
      s.state,
      (st) => st.get('relay.pump.on')?.value === false,
      2000,
      'relay to be switched off',
    );
    assert.equal(sim.level('gpiochip4', 17), 1);
    assert.equal(sim.level('gpiochip4', 22), 1, 'safe: keep leaves the status LED alone');
    const [early] = await s.executor.execute(plan(['robot', 'reset_estop']));
    assert.equal(early!.status, 'refused', 'no reset while the button is still pressed');
    assert.match(early!.error!, /e-stop still active \(gpio:estop_button\)/);
    sim.setLevel('gpiochip4', 27, 1); // released: still latched until an explicit reset
    await waitForState(
      s.state,
      (st) => st.get('gpio.estop_button')?.value === false,
      2000,
      'button released',
    );
    const [refused] = await s.executor.execute(plan(['relay.pump', 'on']));
    assert.equal(refused!.status, 'refused');
    assert.ok(s.executor.resetEstop('test'));
    assert.equal(s.state.get('robot.moving')?.value, false);
  });

  it('debounces a bouncing switch into one event', async () => {
    const { s, sim, driver } = await startWithPins({}, 30);
    const events: boolean[] = [];
    driver.on('event', (e: { type: string; device: string; active: boolean }) => {
      if (e.type === 'input' && e.device === 'bumper') events.push(e.active);
    });
    for (const level of [0, 1, 0, 1, 0] as const) sim.setLevel('gpiochip4', 5, level);
    await waitForState(s.state, (st) => st.get('gpio.bumper')?.value === true, 2000, 'bumper pressed');
    assert.deepEqual(events, [true]);
    assert.equal(s.safety.estopped, undefined, 'an event input does not trip the e-stop');
  });

  it('trips at start-up when the e-stop is already pressed, and the sim input is an action too', async () => {
    const { s } = await startWithPins({ estop_button: { line: 27, role: 'estop', bias: 'pull-down' } });
    assert.equal(s.safety.estopped?.source, undefined, 'pull-down, active-high: not pressed');
    const [r] = await s.executor.execute(plan(['estop_button', 'simulate', { active: true }]));
    assert.equal(r!.status, 'ok');
    assert.equal(s.safety.estopped?.source, 'gpio:estop_button');
    await s.close();
    stack = undefined;
    const pressed = await startTestActuation({
      drivers: {
        pins: {
          kind: 'gpio',
          backend: 'sim',
          // Active-high with a pull-up: reads pressed at start-up (e.g. a broken normally-closed loop).
          inputs: {
            estop_button: { line: 27, role: 'estop', bias: 'pull-up' },
            door: { line: 4, bias: 'pull-down' },
          },
        },
      },
    });
    stack = pressed;
    assert.equal(pressed.state.get('gpio.door')?.value, false);
    assert.equal(pressed.safety.estopped?.source, 'gpio:estop_button');
    assert.equal(
      pressed.state.get('safety.estop')?.value &&
        (pressed.state.get('safety.estop')!.value as { latched: boolean }).latched,
      true,
    );
  });

  it('refuses a config with a line the chip does not have', async () => {
    await assert.rejects(
      startTestActuation({
        drivers: { pins: { kind: 'gpio', backend: 'sim', outputs: { lamp: { line: 60 } } } },
      }),
      /lamp: line 60 does not exist on gpiochip0 \[pinctrl-rp1\] \(54 lines\)/,
    );
  });
});
