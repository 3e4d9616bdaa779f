import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { resolveConfig } from '../../agent/config/load.ts';
import type { SlingConfig } from '../../agent/config/schema.ts';
import { type ConfigReport, FleetClient, type FleetClientOptions } from '../../agent/fleet/client.ts';
import type { ConfigDiff } from '../../agent/fleet/diff.ts';
import { mqttTransport } from '../../agent/fleet/transport.ts';

/** A simulated device: a real MQTT connection, a real state directory, and an apply hook that records calls. */
export interface TestDevice {
  client: FleetClient;
  mqtt: MqttClient;
  stateDir: string;
  applied: { config: SlingConfig; diff: ConfigDiff }[];
  reports: ConfigReport[];
  /** Resolves with the first report from index `since` on (already seen or future) that matches. */
  report(match: (r: ConfigReport) => boolean, since?: number, timeoutMs?: number): Promise<ConfigReport>;
  close(): Promise<void>;
}

export function deviceConfig(id: string, prefix: string, extraYaml = ''): SlingConfig {
  return resolveConfig({
    name: `${id}.yaml`,
    text: `device:\n  id: ${id}\nmqtt:\n  prefix: ${prefix}\n${extraYaml}`,
  });
}

export async function connect(url: string, clientId: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    clientId,
    protocolVersion: 5,
    reconnectPeriod: 200,
    connectTimeout: 10_000,
  });
}

export async function startDevice(
  url: string,
  fileConfig: SlingConfig,
  extra: Partial<FleetClientOptions> & { stateDir?: string; start?: boolean } = {},
): Promise<TestDevice> {
  const stateDir = extra.stateDir ?? mkdtempSync(join(tmpdir(), 'sling-fleet-'));
  const connection = await connect(url, `${fileConfig.device.id}-${process.pid}-${Math.random()}`);
  const applied: TestDevice['applied'] = [];
  const reports: ConfigReport[] = [];
  const waiters = new Set<() => void>();
  const client = new FleetClient({
    transport: mqttTransport(connection),
    fileConfig,
    apply: (config, diff) => {
      applied.push({ config, diff });
    },
    ...extra,
    stateDir,
  });
  client.on('report', (r: ConfigReport) => {
    reports.push(r);
    for (const w of waiters) w();
  });
  if (extra.start !== false) await client.start();
  return {
    client,
    mqtt: connection,
    stateDir,
    applied,
    reports,
    report: (match, since = 0, timeoutMs = 15_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = reports.slice(since).find(match);
          if (!found) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`no matching report within ${timeoutMs} ms; got ${JSON.stringify(reports, null, 1)}`),
          );
        }, timeoutMs);
        if (!check()) waiters.add(check);
      }),
    close: async () => {
      await client.stop();
      await connection.endAsync();
    },
  };
}
