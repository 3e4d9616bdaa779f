// npm run bench:safety — how fast the safety layer stops the virtual robot, and what the executor costs.
// E-stop over MQTT: from the publish (another client) through a real mosquitto to the robot's motors off.
// Broker loss: mosquitto SIGKILLed → the agent client notices → deadman → motors off.
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import type { Plan } from '../../agent/decide/types.ts';
import { bindSafetyTopics } from '../../agent/safety/mqtt.ts';
import type { GpioDriver } from '../../drivers/gpio/driver.ts';
import type { SimGpioBackend } from '../../drivers/gpio/sim.ts';
import { linkFromClient } from '../../drivers/mqtt/link.ts';
import { startTestActuation, waitForState } from '../helpers/actuation.ts';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { percentile, type Row, writeResult } from './harness.ts';

const N = Number(process.env.BENCH_N ?? 200);
const plan = (device: string, action: string, params: Record<string, unknown> = {}): Plan => ({
  actions: [{ device, action, params }],
  reply: '',
});

function row(name: string, samples: number[], unit = 'ms'): Row {
  return {
    measure: name,
    n: samples.length,
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    max: Math.max(...samples),
    unit,
  };
}

const broker = await startMosquitto();
const agentClient = await mqtt.connectAsync(broker.url, { clientId: 'bench-agent', reconnectPeriod: 50 });
const operator = await mqtt.connectAsync(broker.url, { clientId: 'bench-operator', reconnectPeriod: 50 });
const link = linkFromClient(agentClient);
const stack = await startTestActuation(
  {
    drivers: {
      world: { kind: 'virtual' },
      pins: {
        kind: 'gpio',
        backend: 'sim',
        inputs: { estop_button: { line: 27, activeLow: true, bias: 'pull-up', role: 'estop' } },
      },
    },
  },
  link,
);
await bindSafetyTopics(link, { estop: ['bench/estop'] }, stack.executor);
const sim = (stack.drivers.get('pins') as GpioDriver).activeBackend as SimGpioBackend;

const stopped = () =>
  waitForState(stack.state, (s) => s.get('robot.moving')?.value === false, 5000, 'motors off');
let moves = 0;
/** Starts a long move and waits until the robot moves; returns the move's result promise (boxed, so the
 * async function does not wait for it). */
async function startMoving(): Promise<{ done: Promise<unknown> }> {
  // Alternate directions so hundreds of short runs never creep up to a wall.
  moves++;
  const run = stack.executor.execute(plan('robot', 'move', { distance_m: moves % 2 ? 5 : -5 }));
  await waitForState(stack.state, (s) => s.get('robot.moving')?.value === true, 5000, 'motion');
  return { done: run };
}

const mqttEstop: number[] = [];
const gpioEstop: number[] = [];
const stopCommand: number[] = [];
for (let i = 0; i < N; i++) {
  let run = (await startMoving()).done;
  let t0 = performance.now();
  const off = stopped();
  await operator.publishAsync('bench/estop', 'bench', { qos: 0 });
  await off;
  mqttEstop.push(performance.now() - t0);
  await run;
  stack.executor.resetEstop('bench');

  run = (await startMoving()).done;
  t0 = performance.now();
  sim.setLevel('gpiochip0', 27, 0);
  await stopped();
  gpioEstop.push(performance.now() - t0);
  await run;
  sim.setLevel('gpiochip0', 27, 1);
  // A pressed e-stop blocks the reset: wait for the (debounced) release.
  await waitForState(stack.state, (s) => s.get('gpio.estop_button')?.value === false, 5000, 'release');
  stack.executor.resetEstop('bench');

  run = (await startMoving()).done;
  t0 = performance.now();
  await stack.executor.execute(plan('robot', 'stop'));
  stopCommand.push(performance.now() - t0);
  await run;
}

// Executor cost for an instant action: limits + interlocks + queue + virtual driver + state.
const instant: number[] = [];
for (let i = 0; i < N * 5; i++) {
  const t0 = performance.now();
  await stack.executor.execute(plan('light.kitchen', 'set', { brightness_pct: i % 100 }));
  instant.push(performance.now() - t0);
}

// Broker loss → deadman: the agent's client sees the connection close, the runtime calls onBrokerLost.
const brokerLoss: number[] = [];
agentClient.on('close', () => stack.executor.onBrokerLost());
agentClient.on('connect', () => stack.executor.onBrokerRestored());
for (let i = 0; i < Math.min(20, N); i++) {
  await waitForState(stack.state, () => agentClient.connected, 5000).catch(() => {});
  while (!agentClient.connected) await new Promise((r) => setTimeout(r, 20));
  stack.executor.onBrokerRestored();
  const run = (await startMoving()).done;
  const t0 = performance.now();
  const off = stopped();
  await broker.kill();
  await off;
  brokerLoss.push(performance.now() - t0);
  await run;
  await broker.start();
}

const rows = [
  row('e-stop: MQTT publish → motors off', mqttEstop),
  row('e-stop: GPIO input edge → motors off', gpioEstop),
  row('stop command → motors off', stopCommand),
  row('broker killed → motors off (deadman)', brokerLoss),
  row('execute one instant action (light set)', instant),
];
writeResult('safety', rows, { note: 'virtual robot; mosquitto on loopback; one process' });
await stack.close();
await operator.endAsync(true);
await agentClient.endAsync(true);
await broker.stop();
process.exit(0);
