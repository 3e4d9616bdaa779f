import { randomUUID } from 'node:crypto';
import mqtt from 'mqtt';
import { ConfigError } from '../config/errors.ts';
import { loadConfig } from '../config/load.ts';
import type { CommandResult } from '../report/result.ts';
import { formatResult } from './console.ts';
import { agentTopics } from './topics.ts';

/** `sling say`: publish one command, wait for its result by id. Exit code 0 ok, 1 not ok, 3 no answer. */
export interface SayOptions {
  url?: string;
  device?: string;
  config?: string;
  timeout: string;
  dryRun?: boolean;
  json?: boolean;
}

export async function say(text: string, options: SayOptions): Promise<number> {
  let config: ReturnType<typeof loadConfig>['config'];
  try {
    config = loadConfig(options.config).config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
  const url = options.url ?? config.mqtt.url ?? `mqtt://127.0.0.1:${config.mqtt.embedded.port}`;
  const topics = agentTopics(config.mqtt.prefix, options.device ?? config.device.id);
  const id = `say-${randomUUID()}`;
  const timeoutMs = Number(options.timeout);
  // MQTT 3.1.1 so it works with the embedded broker too; the result is matched by id.
  const client = await mqtt
    .connectAsync(url, {
      protocolVersion: 4,
      username: config.mqtt.username,
      password: config.mqtt.password,
      connectTimeout: Math.min(timeoutMs, 5000),
      reconnectPeriod: 0,
    })
    .catch((error: Error) => {
      process.stderr.write(`sling say: cannot reach the broker at ${url}: ${error.message}\n`);
      return undefined;
    });
  if (!client) return 3;
  try {
    const answer = new Promise<CommandResult | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      client.on('message', (_topic, payload) => {
        try {
          const result = JSON.parse(payload.toString()) as CommandResult;
          if (result.id !== id) return;
          clearTimeout(timer);
          resolve(result);
        } catch {
          // not ours
        }
      });
    });
    await client.subscribeAsync(topics.commandResult, { qos: 1 });
    await client.publishAsync(
      topics.command,
      JSON.stringify({ id, text, dryRun: options.dryRun ?? false, source: 'sling-say' }),
      { qos: 1 },
    );
    const result = await answer;
    if (!result) {
      process.stderr.write(
        `sling say: no result on ${topics.commandResult} within ${timeoutMs} ms (is the agent running?)\n`,
      );
      return 3;
    }
    process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : formatResult(result));
    return result.status === 'ok' ? 0 : 1;
  } finally {
    await client.endAsync();
  }
}
