// One process of simulated devices for `npm run bench:fleet`: each device is a real FleetClient with its own
// MQTT connection and state directory. Started by fleet.ts with its settings in FLEET_WORKER (JSON).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { resolveConfig } from '../../agent/config/load.ts';
import { FleetClient } from '../../agent/fleet/client.ts';
import { mqttTransport } from '../../agent/fleet/transport.ts';

interface WorkerSettings {
  url: string;
  prefix: string;
  ids: string[];
  stateRoot: string;
  keyId: string;
  publicKey: string;
}

const settings = JSON.parse(process.env.FLEET_WORKER ?? '{}') as WorkerSettings;
const devices: { client: FleetClient; connection: mqtt.MqttClient }[] = [];

async function startDevice(id: string) {
  const config = resolveConfig({
    name: `${id}.yaml`,
    text: [
      `device: { id: ${id} }`,
      `mqtt: { prefix: ${settings.prefix} }`,
      'fleet:',
      '  groups: [bench]',
      '  requireSigned: true',
      `  publicKeys: [{ id: ${settings.keyId}, key: ${settings.publicKey} }]`,
    ].join('\n'),
  });
  const connection = await mqtt.connectAsync(settings.url, {
    clientId: `${id}-${process.pid}`,
    protocolVersion: 5,
    reconnectPeriod: 500,
    connectTimeout: 30_000,
  });
  const client = new FleetClient({
    transport: mqttTransport(connection),
    fileConfig: config,
    stateDir: join(settings.stateRoot, id),
    apply: () => {},
    model: {
      // A device's self-test reads what it will run; the real NLU loader opens an ONNX session here.
      loadAndSelfTest: async (dir) => JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')),
      swap: () => {},
    },
  });
  await client.start();
  devices.push({ client, connection });
}

// Connect in small waves: a burst of hundreds of TLS-less CONNECTs is fine for mosquitto, but not for a
// 2-core machine that also runs the broker and the other workers.
for (let i = 0; i < settings.ids.length; i += 10) {
  await Promise.all(settings.ids.slice(i, i + 10).map(startDevice));
}
process.send?.({ ready: devices.length });

process.on('message', async (message: { stop?: boolean }) => {
  if (!message.stop) return;
  await Promise.all(
    devices.map(async ({ client, connection }) => {
      await client.stop();
      await connection.endAsync(true);
    }),
  );
  process.exit(0);
});
