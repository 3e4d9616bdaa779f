import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { bindDeadmanToConnection, linkFromConnection } from '../../agent/act/mqtt-link.ts';
import { MqttConnection } from '../../agent/ingress/connection.ts';
import { poseOf, startTestActuation, waitForState } from '../helpers/actuation.ts';
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.ts';

describe("actuation on the agent's own MQTT connection", () => {
  let broker: Mosquitto;
  let connection: MqttConnection;
  let operator: MqttClient;

  before(async () => {
    broker = await startMosquitto();
    connection = new MqttConnection(
      {
        url: broker.url,
        clientId: `link-${process.pid}`,
        protocolVersion: 5,
        keepaliveS: 30,
        persistentSession: false,
        reconnect: { minMs: 50, maxMs: 500, livenessMs: 10_000 },
        offlineQueue: 0,
      },
      pino({ level: 'silent' }),
    );
    assert.ok(await connection.start(5000), 'connected');
    operator = await mqtt.connectAsync(broker.url, { clientId: `operator-${process.pid}` });
  });
  after(async () => {
    await operator.endAsync(true);
    await connection.stop();
    await broker.stop();
  });

  it('binds the e-stop topic, drives MQTT devices, and feeds the deadman from the connection', async () => {
    const link = linkFromConnection(connection);
    // Topics from the config: <mqtt.prefix>/<device.id>/estop and .../estop/reset.
    const stack = await startTestActuation(
      {
        device: { id: 't' },
        drivers: {
          world: { kind: 'virtual' },
          plugs: {
            kind: 'mqtt',
            devices: {
              'plug.saw': { actions: { off: { topic: 'cmnd/saw/POWER', payload: 'OFF' } }, safe: 'off' },
            },
          },
        },
      },
      link,
    );
    const unbind = bindDeadmanToConnection(connection, stack.executor);
    try {
      const seen: string[] = [];
      await operator.subscribeAsync('cmnd/saw/POWER');
      operator.on('message', (_t, p) => seen.push(p.toString()));
      const [off] = await stack.executor.execute({
        actions: [{ device: 'plug.saw', action: 'off', params: {} }],
        reply: '',
      });
      assert.equal(off!.status, 'ok');

      const running = stack.executor.execute({
        actions: [{ device: 'robot', action: 'move', params: { distance_m: 2 } }],
        reply: '',
      });
      await waitForState(stack.state, (s) => poseOf(s).x > 0.01, 5000, 'robot to start moving');
      await operator.publishAsync('sling/t/estop', '');
      const [move] = await running;
      assert.equal(move!.status, 'cancelled');
      assert.equal(stack.safety.estopped?.source, 'mqtt:sling/t/estop');
      await operator.publishAsync('sling/t/estop/reset', 'reset');
      await waitForState(
        stack.state,
        (st) => (st.get('safety.estop')?.value as { latched?: boolean } | undefined)?.latched === false,
        3000,
        'reset over MQTT',
      );
      // The command and the e-stop's safe action both published OFF (delivery to the operator is async).
      const deadline = Date.now() + 3000;
      while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(seen, ['OFF', 'OFF']);

      // Broker gone: motion stops and is refused; back: allowed again.
      const again = stack.executor.execute({
        actions: [{ device: 'robot', action: 'move', params: { distance_m: -2 } }],
        reply: '',
      });
      await waitForState(
        stack.state,
        (s) => s.get('robot.moving')?.value === true,
        5000,
        'robot moving again',
      );
      await broker.kill();
      const [lost] = await again;
      assert.equal(lost!.status, 'cancelled');
      assert.match(lost!.error!, /broker lost/);
      const [refused] = await stack.executor.execute({
        actions: [{ device: 'robot', action: 'turn', params: { angle_deg: 5 } }],
        reply: '',
      });
      assert.equal(refused!.status, 'refused');
      await broker.start();
      while (!connection.connected) await new Promise((r) => setTimeout(r, 20));
      const [ok] = await stack.executor.execute({
        actions: [{ device: 'robot', action: 'turn', params: { angle_deg: 5 } }],
        reply: '',
      });
      assert.equal(ok!.status, 'ok');
    } finally {
      unbind();
      link.detach();
      await stack.close();
    }
  });
});
