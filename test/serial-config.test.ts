import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDrivers } from '../drivers/registry.ts';
import { driversSchema } from '../drivers/schema.ts';

describe('serial and firmata driver config', () => {
  it('builds both kinds from the drivers: section with defaults', async () => {
    const config = driversSchema.parse({
      base: { kind: 'serial', path: '/dev/serial/by-id/usb-Arduino_Uno-if00' },
      board: {
        kind: 'firmata',
        path: '/dev/ttyACM1',
        devices: { 'light.desk': { type: 'switch', pin: 13 } },
      },
    });
    const serial = config.base;
    assert.ok(serial?.kind === 'serial');
    assert.equal(serial.baudRate, 115200);
    assert.equal(serial.heartbeatMs, 150);
    assert.deepEqual(serial.devices, { robot: 'robot', gripper: 'gripper' });
    const registry = await createDrivers(config);
    assert.equal(registry.driverFor('robot')?.kind, 'serial');
    assert.equal(registry.driverFor('gripper')?.kind, 'serial');
    assert.equal(registry.driverFor('light.desk')?.kind, 'firmata');
    assert.equal(registry.health().base?.ok, false, 'not opened yet');
  });

  it('refuses settings that would defeat the firmware deadman or are misspelt', () => {
    const tooSlow = driversSchema.safeParse({
      base: { kind: 'serial', path: '/dev/ttyUSB0', heartbeatMs: 600 },
    });
    assert.equal(tooSlow.success, false);
    assert.match(JSON.stringify(tooSlow.error?.issues), /heartbeatMs/);
    const typo = driversSchema.safeParse({ base: { kind: 'serial', path: '/dev/ttyUSB0', baudrate: 9600 } });
    assert.equal(typo.success, false);
    const badPin = driversSchema.safeParse({
      board: { kind: 'firmata', path: '/dev/ttyACM0', devices: { fan: { type: 'pwm', pin: -1 } } },
    });
    assert.equal(badPin.success, false);
  });
});
