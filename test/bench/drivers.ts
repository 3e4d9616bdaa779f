// npm run bench:drivers — the reference firmware in simavr behind a real pty, driven through the serial
// driver: command round trip, e-stop latency to the motor outputs, reconnect after unplug.
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { startActuation } from '../../agent/act/setup.ts';
import { safetySchema } from '../../agent/safety/schema.ts';
import { StateStore } from '../../agent/state/store.ts';
import { linkFromClient } from '../../drivers/mqtt/link.ts';
import { driversSchema } from '../../drivers/schema.ts';
import type { SerialDriver } from '../../drivers/serial/driver.ts';
import { type AvrSim, buildFirmware, startAvrSim } from '../helpers/avr-sim.ts';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { percentile, type Row, writeResult } from './harness.ts';

const ROUND_TRIPS = Number(process.env.BENCH_ROUND_TRIPS ?? 500);
const ESTOPS = Number(process.env.BENCH_ESTOPS ?? 100);
const UNPLUGS = Number(process.env.BENCH_UNPLUGS ?? 5);
const never = new AbortController().signal;

function row(metric: string, samples: number[], target: string): Row {
  return {
    metric,
    n: samples.length,
    p50_ms: Number(percentile(samples, 50).toFixed(2)),
    p99_ms: Number(percentile(samples, 99).toFixed(2)),
    max_ms: Number(Math.max(...samples).toFixed(2)),
    target,
  };
}

/** Starts both motors and waits until the simulated MCU shows them running. */
async function motorsOn(sim: AvrSim, driver: SerialDriver): Promise<void> {
  const since = performance.now();
  const reply = await driver.link.request('M', [150, 150]);
  if (!reply.ok) throw new Error(`motors refused: ${reply.code} ${reply.reason}`);
  await sim.waitFor((e) => e.name === '0A' && e.value === 150 && e.at >= since, 3000, 'motors on');
}

/** performance.now() at which the simulated MCU wrote 0 to the last motor PWM register (OCR0A). */
async function motorsOffAt(sim: AvrSim, since: number): Promise<number> {
  return (await sim.waitFor((e) => e.name === '0A' && e.value === 0 && e.at >= since, 3000, 'motors off')).at;
}

const loadBefore = loadavg()[0]!;
const broker = await startMosquitto();
const sim = await startAvrSim({ firmware: buildFirmware().firmware, pins: 'D4,D7', pullups: 'D2' });
const state = new StateStore();
// The agent's side of the broker: its MQTT client hands the act stage a link, and startActuation binds
// <base>/estop to the safety latch (agent/safety/mqtt.ts), exactly as the agent runtime does.
const agentClient = await mqtt.connectAsync(broker.url, { clientId: 'bench-agent' });
const topicBase = 'sling/bench';
const actuation = await startActuation(
  {
    drivers: driversSchema.parse({ base: { kind: 'serial', path: sim.path, gripper: { travelMs: 0 } } }),
    safety: safetySchema.parse({}),
  },
  { state, mqtt: linkFromClient(agentClient), topicBase },
);
const driver = actuation.drivers.get('base') as SerialDriver;
if (!driver.health().ok) throw new Error(`serial driver not connected: ${driver.health().detail}`);
const rows: Row[] = [];

try {
  // 1. Round trips: a request on the wire until its OK is parsed.
  const ping: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const t0 = performance.now();
    const reply = await driver.link.request('PING');
    if (!reply.ok) throw new Error('PING failed');
    ping.push(performance.now() - t0);
  }
  rows.push(row('round trip: PING → OK (serial link)', ping, ''));
  const servo: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const t0 = performance.now();
    const outcome = await driver.execute(
      { device: 'gripper', action: 'set', params: { angle_deg: i % 180 } },
      never,
    );
    if (outcome.status !== 'ok') throw new Error(`gripper: ${outcome.error}`);
    servo.push(performance.now() - t0);
  }
  rows.push(row('round trip: driver.execute(gripper set) → ok', servo, ''));

  // 2. E-stop from the driver's safeStop() to the firmware writing 0 to the motor PWM.
  const safeStop: number[] = [];
  for (let i = 0; i < ESTOPS; i++) {
    await motorsOn(sim, driver);
    const t0 = performance.now();
    void driver.safeStop();
    safeStop.push((await motorsOffAt(sim, t0)) - t0);
  }
  rows.push(row('e-stop: driver.safeStop() → motor PWM 0', safeStop, 'p99 <= 20'));

  // 3. E-stop from an MQTT publish (QoS 1, as `mosquitto_pub -q 1 -t sling/<id>/estop -m stop`) through a
  //    real mosquitto to the agent's safety binding: latch → executor → every driver's safeStop → firmware.
  const publisher = await mqtt.connectAsync(broker.url, { clientId: 'bench-operator' });
  // As the agent's own connection does: no Nagle delay on small control messages.
  for (const client of [agentClient, publisher])
    (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  let latchedAt = 0;
  actuation.safety.on('estop', () => {
    latchedAt = performance.now();
  });
  const viaMqtt: number[] = [];
  const toLatch: number[] = [];
  for (let i = 0; i < ESTOPS; i++) {
    actuation.executor.resetEstop('bench');
    await motorsOn(sim, driver);
    const t0 = performance.now();
    void publisher.publishAsync(`${topicBase}/estop`, 'stop', { qos: 1 });
    const off = await motorsOffAt(sim, t0);
    viaMqtt.push(off - t0);
    toLatch.push(latchedAt - t0);
  }
  rows.push(row('e-stop: MQTT publish → safety latch', toLatch, ''));
  rows.push(row('e-stop: MQTT publish → motor PWM 0 (firmware)', viaMqtt, 'p99 <= 20'));
  await publisher.endAsync();
  actuation.executor.resetEstop('bench');

  // 4. Unplug (the harness is killed, its pty vanishes) and replug (a new pty behind the same path).
  const detect: number[] = [];
  const reconnect: number[] = [];
  for (let i = 0; i < UNPLUGS; i++) {
    const gone = new Promise<number>((done) =>
      driver.link.once('disconnected', () => done(performance.now())),
    );
    const t0 = performance.now();
    await sim.kill();
    detect.push((await gone) - t0);
    const t1 = performance.now();
    await sim.restart();
    if (!(await driver.link.waitConnected(10_000)))
      throw new Error(`no reconnect: ${driver.health().detail}`);
    reconnect.push(performance.now() - t1);
  }
  rows.push(row('unplug → disconnect noticed', detect, ''));
  rows.push(row('replug → connected (PING answered)', reconnect, 'p99 <= 2000'));

  writeResult('drivers', rows, {
    // the machine is shared: figures at a load average far above the core count are not comparable
    loadAverage1m: { before: Number(loadBefore.toFixed(2)), after: Number(loadavg()[0]!.toFixed(2)) },
    notes: [
      'simavr runs the firmware at real time (16 MHz) behind a pty; "motor PWM 0" is when the simulated MCU wrote OCR0A = 0, read by this process from the harness output (so the pipe latency is included)',
      'MQTT e-stop: a QoS 1 publish on <base>/estop through a real mosquitto, bound to the safety latch by startActuation (agent/safety/mqtt.ts) as in the agent; the NLU/ingress pipeline is not involved',
    ],
  });
} finally {
  await actuation.close();
  await agentClient.endAsync();
  await sim.stop();
  await broker.stop();
}
