import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { after, afterEach, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import type { Plan } from '../../agent/decide/types.ts';
import { linkFromClient } from '../../drivers/mqtt/link.ts';
import { startTestActuation, waitForState } from '../helpers/actuation.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';

const plan = (...actions: [string, string, Record<string, unknown>?][]): Plan => ({
  actions: actions.map(([device, action, params]) => ({ device, action, params: params ?? {} })),
  reply: '',
});

/** Minimal stand-ins for a Zigbee2MQTT light and a Tasmota plug, speaking their real topic layouts. */
async function startFakeDevices(url: string) {
  const client = await mqtt.connectAsync(url, { clientId: `fake-devices-${process.pid}` });
  const received: { topic: string; payload: string }[] = [];
  const arrivals = new EventEmitter();
  /** Resolves with the n-th message (1-based) once it has arrived: a PUBACK is not a delivery. */
  const nth = (n: number) =>
    new Promise<{ topic: string; payload: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`message ${n} never arrived`)), 3000);
      const check = () => {
        if (received.length < n) return;
        clearTimeout(timer);
        arrivals.off('message', check);
        resolve(received[n - 1]!);
      };
      arrivals.on('message', check);
      check();
    });
  let light: Record<string, unknown> = { state: 'OFF', brightness: 0 };
  await client.subscribeAsync(['zigbee2mqtt/hall/set', 'cmnd/plug/POWER']);
  client.on('message', (topic, payload) => {
    const text = payload.toString();
    received.push({ topic, payload: text });
    arrivals.emit('message');
    if (topic === 'zigbee2mqtt/hall/set') {
      light = { ...light, ...(JSON.parse(text) as Record<string, unknown>) };
      void client.publishAsync('zigbee2mqtt/hall', JSON.stringify(light));
    } else {
      void client.publishAsync('stat/plug/POWER', text);
    }
  });
  return { client, received, nth };
}

const homeDrivers = {
  home: {
    kind: 'mqtt' as const,
    devices: {
      'light.hall': {
        actions: {
          on: { topic: 'zigbee2mqtt/hall/set', payload: { state: 'ON' } },
          off: { topic: 'zigbee2mqtt/hall/set', payload: { state: 'OFF' } },
          set: {
            topic: 'zigbee2mqtt/hall/set',
            payload: {
              state: 'ON',
              brightness: '{{brightness_pct | scale(0,100,0,254) | round}}',
              color: { r: '{{color.r}}', g: '{{color.g}}', b: '{{color.b}}' },
            },
          },
        },
        state: {
          topic: 'zigbee2mqtt/hall',
          fields: { on: "state | eq('ON')", brightness_pct: 'brightness | scale(0,254,0,100) | round' },
        },
      },
      'plug.saw': {
        actions: {
          on: { topic: 'cmnd/plug/POWER', payload: 'ON' },
          off: { topic: 'cmnd/plug/POWER', payload: 'OFF' },
        },
        state: { topic: 'stat/plug/POWER', fields: { on: ". | eq('ON')" } },
        safe: 'off',
      },
    },
  },
};

describe('MQTT device driver against a real mosquitto', () => {
  let broker: Mosquitto;
  let agentClient: MqttClient;
  let devices: Awaited<ReturnType<typeof startFakeDevices>>;
  let stack: Awaited<ReturnType<typeof startTestActuation>> | undefined;

  before(async () => {
    broker = await startMosquitto();
    agentClient = await mqtt.connectAsync(broker.url, { clientId: `agent-${process.pid}` });
    devices = await startFakeDevices(broker.url);
  });
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
    devices.received.length = 0;
  });
  after(async () => {
    await agentClient.endAsync();
    await devices.client.endAsync();
    await broker.stop();
  });

  it('publishes templated payloads and reads the device state back (Zigbee2MQTT light)', async () => {
    stack = await startTestActuation({ drivers: homeDrivers }, linkFromClient(agentClient));
    const [set] = await stack.executor.execute(plan(['light.hall', 'set', { brightness_pct: 30 }]));
    assert.equal(set!.status, 'ok');
    assert.deepEqual(await devices.nth(1), {
      topic: 'zigbee2mqtt/hall/set',
      payload: '{"state":"ON","brightness":76}',
    });
    await waitForState(
      stack.state,
      (s) => s.get('light.hall.brightness_pct')?.value === 30,
      3000,
      'brightness read back',
    );
    assert.equal(stack.state.get('light.hall.on')?.value, true);

    const [color] = await stack.executor.execute(
      plan(['light.hall', 'set', { color: { r: 255, g: 80, b: 0 } }]),
    );
    assert.equal(color!.status, 'ok');
    assert.equal((await devices.nth(2)).payload, '{"state":"ON","color":{"r":255,"g":80,"b":0}}');

    // Safety limits apply to MQTT devices like any other (light.* defaults: brightness 0-100, clamped).
    const [clamped] = await stack.executor.execute(plan(['light.hall', 'set', { brightness_pct: 150 }]));
    assert.deepEqual(clamped!.adjustments, ['brightness_pct 150 limited to 100']);
    assert.equal((await devices.nth(3)).payload, '{"state":"ON","brightness":254}');

    const [off] = await stack.executor.execute(plan(['light.hall', 'off']));
    assert.equal(off!.status, 'ok');
    await waitForState(
      stack.state,
      (s) => s.get('light.hall.on')?.value === false,
      3000,
      'light off read back',
    );
  });

  it('rejects actions the device does not have or whose params are missing', async () => {
    stack = await startTestActuation({ drivers: homeDrivers }, linkFromClient(agentClient));
    const [missing] = await stack.executor.execute(plan(['light.hall', 'set', {}]));
    assert.equal(missing!.status, 'rejected');
    assert.match(missing!.error!, /needs brightness_pct or color\.r/);
    const [unknown] = await stack.executor.execute(plan(['plug.saw', 'toggle']));
    assert.match(unknown!.error!, /plug.saw has no action toggle \(on, off\)/);
    await stack.executor.execute(plan(['plug.saw', 'off']));
    assert.deepEqual(
      await devices.nth(1),
      { topic: 'cmnd/plug/POWER', payload: 'OFF' },
      'the refused ones published nothing',
    );
  });

  it('trips the e-stop from an MQTT topic and switches safe-off devices off (Tasmota plug)', async () => {
    stack = await startTestActuation({ drivers: homeDrivers }, linkFromClient(agentClient), 'sling/test');
    await stack.executor.execute(plan(['plug.saw', 'on']));
    await waitForState(stack.state, (s) => s.get('plug.saw.on')?.value === true, 3000, 'plug on read back');
    await devices.client.publishAsync('sling/test/estop', 'pressed on the tablet');
    await waitForState(
      stack.state,
      (s) => s.get('plug.saw.on')?.value === false,
      3000,
      'plug switched off by the e-stop',
    );
    assert.equal(stack.safety.estopped?.source, 'mqtt:sling/test/estop');
    assert.equal(stack.safety.estopped?.reason, 'MQTT e-stop: pressed on the tablet');
    await devices.client.publishAsync('sling/test/estop/reset', 'please');
    await devices.client.publishAsync('sling/test/estop/reset', '{"reset": true}');
    await waitForState(
      stack.state,
      (s) => (s.get('safety.estop')?.value as { latched?: boolean } | undefined)?.latched === false,
      3000,
      'reset over MQTT',
    );
    assert.equal(stack.state.get('plug.saw.on')?.value, false, 'a reset switches nothing back on');
  });

  it('fails at start-up on a bad template, naming where', async () => {
    const bad = structuredClone(homeDrivers);
    (bad.home.devices['light.hall'].actions.set.payload as Record<string, unknown>).brightness =
      '{{brightness_pct | dim}}';
    await assert.rejects(
      startTestActuation({ drivers: bad }, linkFromClient(agentClient)),
      /drivers\.home\.devices\.light\.hall\.actions\.set: unknown filter "dim"/,
    );
  });
});
