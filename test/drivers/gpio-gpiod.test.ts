import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fromProjectRoot } from '../../agent/paths.ts';
import { StateStore } from '../../agent/state/store.ts';
import { GpioDriver } from '../../drivers/gpio/driver.ts';
import { gpioDriverSchema } from '../../drivers/gpio/schema.ts';

// No GPIO chip exists here, so the libgpiod tools backend is checked against stand-in scripts
// (test/fixtures/gpiod-tools) that log the command lines they get and replay events in the tools' output
// format: this pins down the v1 and v2 command-line contracts and the event parsing, not the kernel side.

let dir: string;
let log: string;
let events: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sling-gpiod-'));
  log = join(dir, 'calls.log');
  events = join(dir, 'events');
  process.env.PATH = `${fromProjectRoot('test/fixtures/gpiod-tools')}${delimiter}${process.env.PATH}`;
  process.env.FAKE_GPIOD_LOG = log;
  process.env.FAKE_GPIOD_EVENTS = events;
});
after(() => rmSync(dir, { recursive: true, force: true }));

const config = gpioDriverSchema.parse({
  kind: 'gpio',
  backend: 'gpiod',
  outputs: { 'relay.pump': { line: 17, activeLow: true } },
  inputs: { estop_button: { line: 27, activeLow: true, bias: 'pull-up', role: 'estop' } },
});

async function until(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const calls = () => readFileSync(log, 'utf8').trim().split('\n');

for (const [version, falling, expected] of [
  [
    '1.6.3',
    '27 0',
    {
      hold: 'gpioset --mode=signal gpiochip0 17=1',
      on: 'gpioset --mode=signal gpiochip0 17=0',
      get: 'gpioget -B pull-up gpiochip0 27',
      mon: 'gpiomon -b -B pull-up -F %o %e gpiochip0 27',
    },
  ],
  [
    '2.1',
    '27 2',
    {
      hold: 'gpioset -c gpiochip0 17=1',
      on: 'gpioset -c gpiochip0 17=0',
      get: 'gpioget -c gpiochip0 --numeric -b pull-up 27',
      mon: 'gpiomon -c gpiochip0 -e both -b pull-up -F %o %e 27',
    },
  ],
] as const) {
  describe(`GPIO libgpiod tools backend, v${version} command lines`, () => {
    it('holds outputs with gpioset, re-holds on change, and turns gpiomon events into an e-stop', async () => {
      writeFileSync(log, '');
      writeFileSync(events, '');
      process.env.FAKE_GPIOD_VERSION = version;
      const driver = new GpioDriver(config);
      const state = new StateStore();
      const seen: { type: string; source?: string }[] = [];
      driver.on('event', (e: { type: string; source?: string }) => seen.push(e));
      await driver.open(state);
      try {
        assert.equal(driver.chipInfo?.label, 'pinctrl-rp1');
        await until(() => calls().includes(expected.mon), 'gpiomon to start');
        const first = calls().slice(0, 3);
        assert.deepEqual([...first].sort(), [expected.hold, expected.get, expected.mon].sort());
        assert.ok(
          first.indexOf(expected.get) < first.indexOf(expected.mon),
          'read the level before monitoring',
        );
        assert.equal(state.get('gpio.estop_button')?.value, false, 'pulled-up line reads high = released');

        const on = await driver.execute(
          { device: 'relay.pump', action: 'on', params: {} },
          new AbortController().signal,
        );
        assert.equal(on.status, 'ok');
        assert.ok(
          calls().includes(`released ${expected.hold.replace('gpioset ', '')}`),
          'old holder ended first',
        );
        await until(() => calls().includes(expected.on), 'the new gpioset');

        writeFileSync(events, `${falling}\n`);
        await until(() => seen.some((e) => e.type === 'estop'), 'the e-stop event');
        assert.equal(seen.find((e) => e.type === 'estop')?.source, 'gpio:estop_button');
        assert.equal(state.get('gpio.estop_button')?.value, true);
        assert.ok(driver.health().ok, driver.health().detail);

        // safeStop: the relay back to its safe level (off = high on this active-low board), held again.
        await driver.safeStop();
        await until(() => calls().filter((c) => c === expected.hold).length === 2, 'the safe level held');
      } finally {
        await driver.close();
      }
    });
  });
}
