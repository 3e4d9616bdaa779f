// The whole act stage on the real firmware: plan → safety (limits, interlock fed by the firmware's own
// telemetry, e-stop latch bound to an MQTT topic on a real mosquitto) → executor → serial driver →
// reference firmware in simavr, motor outputs observed on the simulated MCU.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { linkFromClient } from '../drivers/mqtt/link.ts';
import { startTestActuation, waitForState } from './helpers/actuation.ts';
import { type AvrSim, buildFirmware, startAvrSim } from './helpers/avr-sim.ts';
import { type Mosquitto, startMosquitto } from './helpers/mosquitto.ts';

describe('safety layer over the serial driver and the reference firmware', { timeout: 60_000 }, () => {
  let sim: AvrSim;
  let broker: Mosquitto;
  let agentClient: MqttClient;
  let operator: MqttClient;
  let act: Awaited<ReturnType<typeof startTestActuation>>;
  const base = `sling/serial-safety-${process.pid}`;

  before(async () => {
    [sim, broker] = await Promise.all([
      startAvrSim({ firmware: buildFirmware().firmware, pins: 'D4,D7', pullups: 'D2' }),
      startMosquitto(),
    ]);
    agentClient = await mqtt.connectAsync(broker.url);
    operator = await mqtt.connectAsync(broker.url);
    act = await startTestActuation(
      {
        drivers: {
          base: {
            kind: 'serial',
            path: sim.path,
            requestTimeoutMs: 1000,
            // the firmware's A0 (millivolts) is the front distance sensor: 10 mV per cm
            telemetry: { a0: { key: 'sensors.front_distance_cm', scale: 0.1 } },
          },
        },
      },
      linkFromClient(agentClient),
      base,
    );
  });

  after(async () => {
    await act?.close();
    await agentClient?.endAsync();
    await operator?.endAsync();
    await sim?.stop();
    await broker?.stop();
  });

  // the 10-bit ADC rounds the millivolts a little
  const near = (value: unknown, cm: number) => typeof value === 'number' && Math.abs(value - cm) < 1;
  const move = (distance_m: number) => ({
    actions: [{ device: 'robot', action: 'move', params: { distance_m } }],
    reply: '',
  });

  it('refuses forward motion while the firmware reports an obstacle, and never starts the motors', async () => {
    sim.command('adc 0 200'); // 20 cm
    await waitForState(act.state, (s) => near(s.get('sensors.front_distance_cm')?.value, 20), 5000, '20 cm');
    const started = performance.now();
    const [result] = await act.executor.execute(move(0.5));
    assert.equal(result?.status, 'refused');
    assert.match(result?.error ?? '', /obstacle ahead/);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(
      !sim.events.some((e) => e.at > started && e.name === '0A' && (e.value ?? 0) > 0),
      'motors stayed off',
    );
  });

  it('an MQTT e-stop pre-empts a running move, stops the motors and latches until reset', async () => {
    sim.command('adc 0 1500'); // 150 cm: clear ahead
    await waitForState(
      act.state,
      (s) => near(s.get('sensors.front_distance_cm')?.value, 150),
      5000,
      '150 cm',
    );
    const started = performance.now();
    const running = act.executor.execute(move(2));
    await sim.waitFor((e) => e.name === '0A' && (e.value ?? 0) > 0 && e.at > started, 5000, 'motors running');
    const stopAt = performance.now();
    await operator.publishAsync(`${base}/estop`, 'operator pressed stop', { qos: 1 });
    const off = await sim.waitFor(
      (e) => e.name === '0A' && e.value === 0 && e.at > stopAt,
      5000,
      'motors off',
    );
    assert.ok(off.at - stopAt < 2000);
    const [result] = await running;
    assert.equal(result?.status, 'cancelled');

    const [refused] = await act.executor.execute(move(0.2));
    assert.equal(refused?.status, 'refused');
    assert.match(refused?.error ?? '', /emergency stop is latched/);

    await operator.publishAsync(`${base}/estop/reset`, 'reset', { qos: 1 });
    await waitForState(
      act.state,
      (s) => (s.get('safety.estop')?.value as { latched?: boolean })?.latched === false,
      5000,
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(
      !sim.events.some((e) => e.at > off.at && e.name === '0A' && (e.value ?? 0) > 0),
      'reset restarted nothing',
    );

    const [again] = await act.executor.execute(move(0.1));
    assert.equal(again?.status, 'ok', again?.error);
  });

  it("the robot's e-stop button trips the agent's latch", async () => {
    sim.command('in D2 0');
    await waitForState(
      act.state,
      (s) => (s.get('safety.estop')?.value as { latched?: boolean })?.latched === true,
      5000,
    );
    sim.command('in D2 1');
    const [refused] = await act.executor.execute(move(0.2));
    assert.equal(refused?.status, 'refused');
    act.executor.resetEstop('test');
    const [ok] = await act.executor.execute(move(0.1));
    assert.equal(ok?.status, 'ok', ok?.error);
  });
});
